#pragma once
// A Poco channel that keeps every message (source, then text as formatted), for
// tests that check what is logged, e.g. that a secret is not, or that a warning is.

#include <Poco/Channel.h>
#include <Poco/Message.h>

#include <mutex>
#include <string>

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

private:
    mutable std::mutex mutex_;
    std::string text_;
    int count_ = 0;
};

} // namespace boxoffice::testing
