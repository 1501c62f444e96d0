// boxoffice-fake-bluez: the fake org.bluez as a process, for the demo and for
// manual runs of boxoffice-phone against boxofficed without Bluetooth hardware.
//
//   ADDR=$(dbus-daemon --session --fork --print-address)
//   boxoffice-fake-bluez --bus "$ADDR" &
//   DBUS_SYSTEM_BUS_ADDRESS=$ADDR boxofficed ...
//   boxoffice-phone --bus "$ADDR" pair ...

#include "FakeBluez.h"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <unistd.h>

int main(int argc, char** argv)
{
    std::string address;
    if (const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS")) address = env;
    long agentTimeoutMs = 60000;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--bus" && i + 1 < argc) address = argv[++i];
        else if (arg == "--agent-timeout-ms" && i + 1 < argc) agentTimeoutMs = std::atol(argv[++i]);
        else {
            std::cerr << "usage: boxoffice-fake-bluez [--bus ADDRESS] [--agent-timeout-ms N]\n";
            return 2;
        }
    }
    if (address.empty()) {
        std::cerr << "boxoffice-fake-bluez: no bus address (--bus or DBUS_SYSTEM_BUS_ADDRESS)\n";
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    try {
        boxoffice::fakebluez::FakeBluez fake({address, std::chrono::milliseconds(agentTimeoutMs), std::chrono::seconds(10)});
        std::cout << "fake org.bluez ready on " << address << std::endl;
        int signal = 0;
        sigwait(&signals, &signal);
    } catch (const std::exception& e) {
        std::cerr << "boxoffice-fake-bluez: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
