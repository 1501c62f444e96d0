#pragma once
// A private dbus-daemon for one test: started with the session configuration
// on a fresh socket, killed when the object goes away.

#include <string>
#include <sys/types.h>

namespace boxoffice::fakebluez {

class PrivateBus {
public:
    PrivateBus();  // throws std::runtime_error when dbus-daemon cannot start
    ~PrivateBus();
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;

    const std::string& address() const { return address_; }

    // Kills the daemon and starts a new one on the same socket path: every
    // connection is lost, clients may connect again to the same address.
    void restart();

private:
    void start();
    void kill();

    std::string path_;
    std::string address_;
    pid_t pid_ = -1;
};

} // namespace boxoffice::fakebluez
