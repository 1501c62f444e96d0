#pragma once
// sd_notify READY/STOPPING/STATUS and the watchdog keep-alive. Does nothing
// when the daemon does not run under systemd (no NOTIFY_SOCKET).

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace boxoffice::host {

class SystemdNotifier {
public:
    SystemdNotifier();
    ~SystemdNotifier();
    SystemdNotifier(const SystemdNotifier&) = delete;
    SystemdNotifier& operator=(const SystemdNotifier&) = delete;

    void ready(const std::string& status);
    void stopping();

private:
    void stopWatchdog();

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread watchdog_;
};

} // namespace boxoffice::host
