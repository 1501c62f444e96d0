#pragma once
// Plays systemd's side of sd_notify(3): a datagram socket that NOTIFY_SOCKET
// names, collecting what a daemon reports (READY=1, WATCHDOG=1, STATUS=...).

#include <chrono>
#include <filesystem>
#include <string>

namespace boxoffice::testing {

class NotifySocket {
public:
    explicit NotifySocket(const std::filesystem::path& path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // Collects datagrams until what was received contains `text`, or the deadline passes.
    bool waitFor(const std::string& text, std::chrono::milliseconds timeout);
    const std::string& received() const { return received_; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::string received_;
};

} // namespace boxoffice::testing
