#include "SystemdNotifier.h"

#include <systemd/sd-daemon.h>

#include <chrono>

namespace boxoffice::host {

SystemdNotifier::SystemdNotifier() = default;

SystemdNotifier::~SystemdNotifier()
{
    stopWatchdog();
}

void SystemdNotifier::ready(const std::string& status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    // Ping at half the interval, as sd_watchdog_enabled(3) advises.
    const auto period = std::chrono::microseconds(usec / 2);
    watchdog_ = std::thread([this, period] {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, period, [this] { return stop_; })) sd_notify(0, "WATCHDOG=1");
    });
}

void SystemdNotifier::stopping()
{
    sd_notify(0, "STOPPING=1");
}

void SystemdNotifier::stopWatchdog()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
}

} // namespace boxoffice::host
