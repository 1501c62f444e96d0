#pragma once
// A fake bluetoothd on a private bus: owns org.bluez and behaves like BlueZ
// 5.66 towards a GATT server application — GattManager1, LEAdvertisingManager1
// and the ObjectManager at "/" with Adapter1 and Device1 objects on
// /org/bluez/hci0, AgentManager1 on /org/bluez (where BlueZ has it). It reads
// the application's object tree (GetManagedObjects) before answering
// RegisterApplication, reads the advertisement (GetAll) before answering
// RegisterAdvertisement, passes `mtu`, `device`, `link`, `offset` and `type`
// options with every WriteValue, forwards notifications only to subscribed
// devices and cuts them to MTU - 3 like BlueZ, and drives the default agent
// when a phone pairs. Phones reach it through FakeRadio1 (FakeRadio.h).
//
// Every outgoing call is asynchronous, so the fake's event loop never waits on
// the application (the way bluetoothd's GDBus client works).

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace boxoffice::fakebluez {

class FakeBluez {
public:
    struct Options {
        std::string busAddress;                          // the private bus
        std::chrono::milliseconds agentTimeout{60000};   // BlueZ's REQUEST_TIMEOUT
        std::chrono::milliseconds callTimeout{10000};
        std::chrono::milliseconds trustedSetDelay{0};    // Device1.Trusted answered this late
    };

    explicit FakeBluez(Options options);
    ~FakeBluez();
    FakeBluez(const FakeBluez&) = delete;
    FakeBluez& operator=(const FakeBluez&) = delete;

    // Exits and starts again, like `systemctl restart bluetooth`: every
    // registration, device and subscription is gone, bonds are kept.
    void restart();

    // What the application has registered (for assertions).
    struct State {
        int applicationsRegistered = 0;   // successful RegisterApplication calls so far
        bool applicationActive = false;
        std::string applicationOwner;     // unique bus name of the registered application
        bool advertising = false;
        std::map<std::string, sdbus::Variant> advertisement;
        std::string agentCapability;      // of the default agent, empty if none
        std::string lastError;            // last registration refusal
        std::set<std::string> trusted;    // addresses whose Device1.Trusted the application set to true
        int trustedSetsPending = 0;       // Trusted writes not answered yet (trustedSetDelay)
    };
    State state() const;

    // Waits until `predicate(state())` holds; false on timeout.
    bool waitFor(const std::function<bool(const State&)>& predicate, std::chrono::milliseconds timeout) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Options options_;
    std::set<std::string> bonds_;  // addresses; they outlive restarts, as /var/lib/bluetooth does
    void start();
    void stop();
};

} // namespace boxoffice::fakebluez
