#pragma once
// The STB's side of BlueZ over D-Bus: a GATT application (one service with RX,
// TX and info characteristics), an LE advertisement and a pairing agent
// (DisplayYesNo, numeric comparison only), kept registered with bluetoothd.
//
// Threads: a supervisor thread owns the connection and does every synchronous
// call to BlueZ (never from the event loop thread, which must stay free for
// BlueZ's calls back into our objects); the event loop runs in a thread of our
// own so that a lost bus ends in a reconnect instead of std::terminate. When
// org.bluez changes owner (bluetoothd restarted) or the bus goes away,
// everything is registered again. Every D-Bus handler catches everything.

#include <boxoffice/base/Bytes.h>

#include <Poco/Logger.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace boxoffice::plugins::bluetooth {

class BluezPeripheral {
public:
    struct Options {
        std::string busAddress;                  // empty: the system bus
        std::string busName;                     // well-known name to own; empty: none
        std::string adapterPath = "/org/bluez/hci0";
        std::string localName = "BoxOffice";
        std::string objectRoot = "/org/boxoffice/bluetooth";
    };

    // Called on the D-Bus event loop thread: must be quick and must not call
    // back into BlueZ synchronously.
    struct Events {
        // A write to RX. Throw boxoffice::Error to answer the ATT write with an error.
        std::function<void(const std::string& device, std::uint16_t mtu, ByteView value)> write;
        std::function<Bytes()> info;
        std::function<void(const std::string& device)> deviceGone;
        // BlueZ vanished or the bus was lost: every link is gone.
        std::function<void()> linksLost;
        // Numeric comparison; call `answer` exactly once, from any thread.
        std::function<void(const std::string& device, std::uint32_t passkey, std::function<void(bool)> answer)>
            confirmLink;
        std::function<void(const std::string& device)> linkCanceled;
    };

    struct Status {
        bool busConnected = false;
        bool bluezPresent = false;
        bool registered = false;   // application + agent
        bool advertising = false;
        bool notifying = false;    // a phone subscribed to TX
        int registrations = 0;     // successful registrations so far
    };

    BluezPeripheral(Options options, Events events, Poco::Logger& logger);
    ~BluezPeripheral();  // stop()
    BluezPeripheral(const BluezPeripheral&) = delete;
    BluezPeripheral& operator=(const BluezPeripheral&) = delete;

    void start();
    void stop();

    // Advertise while pairing is open or a phone should be able to reconnect.
    void setAdvertising(bool wanted);

    // Sends one fragment as a TX notification; Error(Unavailable) when no phone
    // subscribed or the bus is down. The caller sizes it to the phone's MTU.
    void notify(ByteView fragment);

    // Sets org.bluez.Device1.Trusted on `device` (an object path) once the phone
    // completed application pairing over that link, so bluetoothd stops asking the
    // agent to authorize it. Call from a worker thread (it waits for bluetoothd's
    // answer); failures are logged, not thrown: the app-level trust does not depend on it.
    void setTrusted(const std::string& device);

    Status status() const;

private:
    struct Bus;
    void supervise();
    bool connectBus();
    void registerAll();
    void updateAdvertisement();
    void dropBus();

    Options options_;
    Events events_;
    Poco::Logger& logger_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool needRegister_ = false;
    bool advertisingWanted_ = false;
    Status status_;
    std::shared_ptr<Bus> bus_;  // only the supervisor thread replaces it
    std::thread supervisor_;
    std::mutex notifyMutex_;
};

} // namespace boxoffice::plugins::bluetooth
