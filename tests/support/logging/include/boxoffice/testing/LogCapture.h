#pragma once
// A Poco channel that keeps every message (source, then text as formatted), for
// tests that check what is logged, e.g. that a secret is not, or that a warning is.

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <mutex>
#include <string>
#include <string_view>

namespace boxoffice::testing {

class LogCapture : public Poco::Channel {
public:
    void log(const Poco::Message& msg) override
    {
        std::lock_guard lock(mutex_);
        text_ += msg.getSource() + ": " + msg.getText() + "\n";
        ++count_;
    }
    std::string text() const
    {
        std::lock_guard lock(mutex_);
        return text_;
    }
    int count() const
    {
        std::lock_guard lock(mutex_);
        return count_;
    }
    // How many times `needle` occurs in what was logged.
    int occurrences(std::string_view needle) const
    {
        const std::string all = text();
        int n = 0;
        for (auto at = all.find(needle); at != std::string::npos; at = all.find(needle, at + needle.size())) ++n;
        return n;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
    int count_ = 0;
};

// Captures one named logger's messages for a scope, then gives it back its channel (the
// logger outlives the test, and other tests in the process log through it). Poco does not
// lock a logger's channel: whatever logs through it must have stopped before this goes.
class ScopedLogCapture {
public:
    explicit ScopedLogCapture(const std::string& loggerName)
        : logger_(Poco::Logger::get(loggerName)), before_(logger_.getChannel(), true), capture_(new LogCapture)
    {
        logger_.setChannel(capture_);
    }
    ~ScopedLogCapture() { logger_.setChannel(before_); }
    ScopedLogCapture(const ScopedLogCapture&) = delete;
    ScopedLogCapture& operator=(const ScopedLogCapture&) = delete;

    const LogCapture& operator*() const { return *capture_; }
    const LogCapture* operator->() const { return capture_.get(); }

private:
    Poco::Logger& logger_;
    Poco::AutoPtr<Poco::Channel> before_;
    Poco::AutoPtr<LogCapture> capture_;
};

} // namespace boxoffice::testing
