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

private:
    std::string address_;
    pid_t pid_ = -1;
};

} // namespace boxoffice::fakebluez
