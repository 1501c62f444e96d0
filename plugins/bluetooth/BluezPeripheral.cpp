#include "BluezPeripheral.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Protocol.h>

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <future>
#include <map>
#include <vector>

namespace boxoffice::plugins::bluetooth {

namespace bt = boxoffice::bluetooth;

namespace {

constexpr const char* kCharacteristic = "org.bluez.GattCharacteristic1";
constexpr const char* kService = "org.bluez.GattService1";
constexpr const char* kAgent = "org.bluez.Agent1";
constexpr const char* kAdvertisement = "org.bluez.LEAdvertisement1";
constexpr const char* kProperties = "org.freedesktop.DBus.Properties";
constexpr auto kRetry = std::chrono::milliseconds(500);

using Dict = std::map<std::string, sdbus::Variant>;

// sdbus-c++ 1.2 turns only sdbus::Error into a D-Bus error; anything else
// escaping a handler calls std::terminate. Every handler body goes through here.
template <class F>
auto guarded(Poco::Logger& logger, const char* what, F&& body) -> decltype(body())
{
    try {
        return body();
    } catch (const sdbus::Error&) {
        throw;
    } catch (const boxoffice::Error& e) {
        logger.debug("%s refused: %s", std::string(what), std::string(e.what()));
        throw sdbus::Error(e.code() == ErrorCode::PermissionDenied ? "org.bluez.Error.NotAuthorized"
                                                                    : "org.bluez.Error.Failed",
                           e.what());
    } catch (const std::exception& e) {
        logger.error("%s failed: %s", std::string(what), std::string(e.what()));
        throw sdbus::Error("org.bluez.Error.Failed", e.what());
    } catch (...) {
        logger.error("%s failed with an unknown exception", std::string(what));
        throw sdbus::Error("org.bluez.Error.Failed", "internal error");
    }
}

// For signal handlers and callbacks, where nothing may escape at all.
template <class F>
void quietly(Poco::Logger& logger, const char* what, F&& body) noexcept
{
    try {
        body();
    } catch (const std::exception& e) {
        logger.warning("%s: %s", std::string(what), std::string(e.what()));
    } catch (...) {
        logger.warning("%s: unknown exception", std::string(what));
    }
}

} // namespace

// One connection to the bus and everything exported on it.
struct BluezPeripheral::Bus {
    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IObject> root, service, rx, tx, info, advertisement, agent;
    std::unique_ptr<sdbus::IProxy> adapter, agentManager, dbus;
    std::vector<sdbus::Slot> matches;
    std::thread loop;
    std::atomic<bool> lost{false};
    std::mutex valueMutex;
    std::vector<std::uint8_t> txValue;
    std::mutex useMutex;  // senders on other threads vs. tear-down
    bool closing = false; // under useMutex: no new sender may start

    void shutdown()
    {
        if (!connection) return;
        {
            // Senders first: a synchronous call's reply (and its timeout) is delivered by the
            // event loop, so leaving the loop under a sender would leave it waiting forever.
            std::lock_guard lock(useMutex);
            closing = true;
        }
        connection->leaveEventLoop();
        if (loop.joinable()) loop.join();
        std::lock_guard lock(useMutex);
        matches.clear();
        adapter.reset();
        agentManager.reset();
        dbus.reset();
        agent.reset();
        advertisement.reset();
        info.reset();
        tx.reset();
        rx.reset();
        service.reset();
        root.reset();
        connection.reset();
    }
    ~Bus() { shutdown(); }
};

BluezPeripheral::BluezPeripheral(Options options, Events events, Poco::Logger& logger)
    : options_(std::move(options)), events_(std::move(events)), logger_(logger)
{
}

BluezPeripheral::~BluezPeripheral()
{
    stop();
}

void BluezPeripheral::start()
{
    std::lock_guard lock(mutex_);
    if (supervisor_.joinable()) return;
    stopping_ = false;
    supervisor_ = std::thread([this] { supervise(); });
}

void BluezPeripheral::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
}

void BluezPeripheral::setAdvertising(bool wanted)
{
    {
        std::lock_guard lock(mutex_);
        if (advertisingWanted_ == wanted) return;
        advertisingWanted_ = wanted;
    }
    wake_.notify_all();
}

void BluezPeripheral::setTrusted(const std::string& device)
{
    quietly(logger_, "Device1.Trusted", [&] {
        std::shared_ptr<Bus> bus;
        {
            std::lock_guard lock(mutex_);
            bus = bus_;
        }
        if (!bus || bus->lost) throw Error(ErrorCode::Unavailable, "not connected to the bus");
        std::lock_guard use(bus->useMutex);
        if (!bus->connection || bus->closing) throw Error(ErrorCode::Unavailable, "not connected to the bus");
        auto proxy = sdbus::createProxy(*bus->connection, "org.bluez", device);
        proxy->callMethod("Set").onInterface(kProperties).withTimeout(std::chrono::seconds(5))
            .withArguments(std::string("org.bluez.Device1"), std::string("Trusted"), sdbus::Variant(true));
        logger_.information("device %s marked trusted", device);
    });
}

BluezPeripheral::Status BluezPeripheral::status() const
{
    std::lock_guard lock(mutex_);
    return status_;
}

void BluezPeripheral::notify(ByteView fragment)
{
    std::shared_ptr<Bus> bus;
    {
        std::lock_guard lock(mutex_);
        if (!status_.notifying) throw Error(ErrorCode::Unavailable, "no phone subscribed to notifications");
        bus = bus_;
    }
    if (!bus || bus->lost) throw Error(ErrorCode::Unavailable, "not connected to the bus");
    if (fragment.size() > bt::kMaxAttributeValue) throw Error(ErrorCode::LimitExceeded, "notification too long");
    std::lock_guard lock(notifyMutex_);
    std::lock_guard use(bus->useMutex);
    if (!bus->tx || bus->closing) throw Error(ErrorCode::Unavailable, "not connected to the bus");
    std::vector<std::uint8_t> value(fragment.begin(), fragment.end());
    {
        std::lock_guard valueLock(bus->valueMutex);
        bus->txValue = value;
    }
    try {
        // PropertiesChanged(Value) is how bluetoothd learns of a notification.
        auto signal = bus->tx->createSignal(kProperties, "PropertiesChanged");
        signal << std::string(kCharacteristic) << Dict{{"Value", sdbus::Variant(value)}} << std::vector<std::string>{};
        bus->tx->emitSignal(signal);
    } catch (const sdbus::Error& e) {
        throw Error(ErrorCode::Unavailable, "notification failed: " + e.getMessage());
    }
}

void BluezPeripheral::supervise()
{
    auto backoff = kRetry;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (stopping_) break;
        }
        if (!bus_ || bus_->lost) {
            if (bus_) dropBus();
            if (!connectBus()) {
                std::unique_lock lock(mutex_);
                wake_.wait_for(lock, backoff, [this] { return stopping_; });
                backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
                continue;
            }
            backoff = kRetry;
        }
        bool doRegister;
        {
            std::lock_guard lock(mutex_);
            doRegister = needRegister_ && status_.bluezPresent;
        }
        if (doRegister) registerAll();
        updateAdvertisement();

        std::unique_lock lock(mutex_);
        const bool retry = (needRegister_ && status_.bluezPresent) || status_.advertising != advertisingWanted_;
        wake_.wait_for(lock, retry ? kRetry : std::chrono::milliseconds(2000), [this] {
            return stopping_ || (bus_ && bus_->lost) || (needRegister_ && status_.bluezPresent) ||
                   (status_.registered && status_.advertising != advertisingWanted_);
        });
    }
    dropBus();
}

void BluezPeripheral::dropBus()
{
    std::shared_ptr<Bus> old;
    bool hadLinks;
    {
        std::lock_guard lock(mutex_);
        old = std::move(bus_);
        hadLinks = status_.busConnected;
        const int registrations = status_.registrations;
        status_ = Status{};
        status_.registrations = registrations;
    }
    if (old) old->shutdown();
    if (hadLinks && events_.linksLost) quietly(logger_, "links lost", [&] { events_.linksLost(); });
}

bool BluezPeripheral::connectBus()
{
    auto bus = std::make_shared<Bus>();
    try {
        bus->connection = options_.busAddress.empty()
                              ? sdbus::createSystemBusConnection()
                              : sdbus::createSessionBusConnectionWithAddress(options_.busAddress);
        bus->connection->setMethodCallTimeout(std::chrono::seconds(10));
        auto& c = *bus->connection;
        Bus* raw = bus.get();
        const std::string& root = options_.objectRoot;
        const std::string servicePath = root + "/service0";

        // The application: ObjectManager at the root, the service and its
        // characteristics below it, complete before RegisterApplication.
        bus->root = sdbus::createObject(c, root);
        bus->root->addObjectManager();
        bus->root->finishRegistration();

        bus->service = sdbus::createObject(c, servicePath);
        bus->service->registerProperty("UUID").onInterface(kService).withGetter([] { return std::string(bt::kServiceUuid); });
        bus->service->registerProperty("Primary").onInterface(kService).withGetter([] { return true; });
        bus->service->finishRegistration();

        auto characteristic = [&](const std::string& name, const char* uuid, std::vector<std::string> flags) {
            auto object = sdbus::createObject(c, servicePath + "/" + name);
            object->registerProperty("UUID").onInterface(kCharacteristic).withGetter([uuid] { return std::string(uuid); });
            object->registerProperty("Service").onInterface(kCharacteristic).withGetter(
                [servicePath] { return sdbus::ObjectPath(servicePath); });
            object->registerProperty("Flags").onInterface(kCharacteristic).withGetter([flags] { return flags; });
            return object;
        };

        // RX: the phone writes fragments, with response (back-pressure), only over an authenticated link.
        bus->rx = characteristic("rx", bt::kRxUuid, {"write", "encrypt-authenticated-write"});
        bus->rx->registerMethod("WriteValue").onInterface(kCharacteristic).implementedAs(
            [this](std::vector<std::uint8_t> value, Dict options) {
                guarded(logger_, "WriteValue", [&] {
                    std::string device;
                    std::uint16_t mtu = static_cast<std::uint16_t>(bt::kMinMtu);
                    if (auto it = options.find("device"); it != options.end() && it->second.containsValueOfType<sdbus::ObjectPath>())
                        device = it->second.get<sdbus::ObjectPath>();
                    if (auto it = options.find("mtu"); it != options.end() && it->second.containsValueOfType<std::uint16_t>())
                        mtu = it->second.get<std::uint16_t>();
                    if (device.empty()) throw Error(ErrorCode::InvalidArgument, "WriteValue without a device option");
                    if (auto it = options.find("offset"); it != options.end() && it->second.containsValueOfType<std::uint16_t>() &&
                                                          it->second.get<std::uint16_t>() != 0)
                        throw Error(ErrorCode::InvalidArgument, "long (offset) writes are not supported");
                    events_.write(device, mtu, value);
                });
            });
        bus->rx->registerMethod("ReadValue").onInterface(kCharacteristic).implementedAs([](Dict) -> std::vector<std::uint8_t> {
            throw sdbus::Error("org.bluez.Error.NotPermitted", "Read Not Permitted");
        });
        bus->rx->finishRegistration();

        // TX: notifications to subscribed phones.
        bus->tx = characteristic("tx", bt::kTxUuid, {"notify", "encrypt-authenticated-notify"});
        bus->tx->registerProperty("Value").onInterface(kCharacteristic).withGetter([raw] {
            std::lock_guard lock(raw->valueMutex);
            return raw->txValue;
        });
        bus->tx->registerProperty("Notifying").onInterface(kCharacteristic).withGetter([this] {
            std::lock_guard lock(mutex_);
            return status_.notifying;
        });
        bus->tx->registerMethod("StartNotify").onInterface(kCharacteristic).implementedAs([this] {
            guarded(logger_, "StartNotify", [&] {
                std::lock_guard lock(mutex_);
                status_.notifying = true;
            });
        });
        bus->tx->registerMethod("StopNotify").onInterface(kCharacteristic).implementedAs([this] {
            guarded(logger_, "StopNotify", [&] {
                std::lock_guard lock(mutex_);
                status_.notifying = false;
            });
        });
        bus->tx->finishRegistration();

        // Info: readable before pairing (protocol version, limits, pairing window).
        bus->info = characteristic("info", bt::kInfoUuid, {"read"});
        bus->info->registerMethod("ReadValue").onInterface(kCharacteristic).implementedAs([this](Dict) {
            return guarded(logger_, "ReadValue", [&] {
                const Bytes value = events_.info();
                return std::vector<std::uint8_t>(value.begin(), value.end());
            });
        });
        bus->info->finishRegistration();

        bus->advertisement = sdbus::createObject(c, root + "/advertisement0");
        const std::string localName = options_.localName;
        bus->advertisement->registerProperty("Type").onInterface(kAdvertisement).withGetter([] { return std::string("peripheral"); });
        bus->advertisement->registerProperty("ServiceUUIDs").onInterface(kAdvertisement).withGetter(
            [] { return std::vector<std::string>{bt::kServiceUuid}; });
        // Flags + a 128-bit UUID fill 21 of the 31 legacy bytes: the name goes in the scan response.
        bus->advertisement->registerProperty("LocalName").onInterface(kAdvertisement).withGetter([localName] { return localName; });
        bus->advertisement->registerProperty("Discoverable").onInterface(kAdvertisement).withGetter([] { return true; });
        bus->advertisement->registerMethod("Release").onInterface(kAdvertisement).implementedAs([this] {
            guarded(logger_, "Release", [&] {
                std::lock_guard lock(mutex_);
                status_.advertising = false;
            });
            wake_.notify_all();
        });
        bus->advertisement->finishRegistration();

        // The agent: numeric comparison only.
        bus->agent = sdbus::createObject(c, root + "/agent");
        auto refuse = [this](const char* what) {
            logger_.warning("refused %s: only numeric comparison is accepted", std::string(what));
            return sdbus::Error("org.bluez.Error.Rejected", std::string(what) + " is not accepted: numeric comparison only");
        };
        bus->agent->registerMethod("Release").onInterface(kAgent).implementedAs([] {});
        bus->agent->registerMethod("RequestPinCode").onInterface(kAgent).implementedAs(
            [refuse](sdbus::ObjectPath) -> std::string { throw refuse("PIN code pairing"); });
        bus->agent->registerMethod("DisplayPinCode").onInterface(kAgent).implementedAs(
            [refuse](sdbus::ObjectPath, std::string) { throw refuse("PIN code pairing"); });
        bus->agent->registerMethod("RequestPasskey").onInterface(kAgent).implementedAs(
            [refuse](sdbus::ObjectPath) -> std::uint32_t { throw refuse("passkey entry"); });
        bus->agent->registerMethod("DisplayPasskey").onInterface(kAgent).implementedAs(
            [](sdbus::ObjectPath, std::uint32_t, std::uint16_t) {});
        bus->agent->registerMethod("RequestAuthorization").onInterface(kAgent).implementedAs(
            [refuse](sdbus::ObjectPath) { throw refuse("Just Works pairing"); });
        bus->agent->registerMethod("AuthorizeService").onInterface(kAgent).implementedAs(
            [this](sdbus::ObjectPath, std::string uuid) {
                if (uuid != bt::kServiceUuid) throw sdbus::Error("org.bluez.Error.Rejected", "service not offered");
                logger_.debug("service %s authorized", uuid);
            });
        bus->agent->registerMethod("Cancel").onInterface(kAgent).implementedAs([this] {
            guarded(logger_, "Cancel", [&] { events_.linkCanceled(""); });
        });
        // Answered later, when the viewer presses OK or Back on the remote.
        bus->agent->registerMethod("RequestConfirmation").onInterface(kAgent).implementedAs(
            [this](sdbus::Result<>&& result, sdbus::ObjectPath device, std::uint32_t passkey) {
                auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
                auto answered = std::make_shared<std::atomic<bool>>(false);
                auto answer = [reply, answered](bool accept) {
                    if (answered->exchange(true)) return;
                    if (accept) reply->returnResults();
                    else reply->returnError(sdbus::Error("org.bluez.Error.Rejected", "the viewer declined the code"));
                };
                try {
                    events_.confirmLink(device, passkey, answer);
                } catch (const std::exception& e) {
                    logger_.error("RequestConfirmation failed: %s", std::string(e.what()));
                    answer(false);
                }
            });
        bus->agent->finishRegistration();

        // Watch bluetoothd and the phones' links.
        bus->matches.push_back(c.addMatch(
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
            [this](sdbus::Message& m) {
                quietly(logger_, "NameOwnerChanged", [&] {
                    std::string name, oldOwner, newOwner;
                    m >> name >> oldOwner >> newOwner;
                    bool lostLinks = false;
                    {
                        std::lock_guard lock(mutex_);
                        if (!oldOwner.empty()) {
                            // bluetoothd went away and took our registrations with it.
                            lostLinks = status_.bluezPresent;
                            status_.registered = false;
                            status_.advertising = false;
                            status_.notifying = false;
                        }
                        status_.bluezPresent = !newOwner.empty();
                        if (!newOwner.empty()) needRegister_ = true;
                    }
                    logger_.information("org.bluez %s", std::string(newOwner.empty() ? "vanished" : "appeared"));
                    if (lostLinks) events_.linksLost();
                    wake_.notify_all();
                });
            }));
        bus->matches.push_back(c.addMatch(
            "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',arg0='org.bluez.Device1'",
            [this](sdbus::Message& m) {
                quietly(logger_, "Device1 PropertiesChanged", [&] {
                    std::string interface;
                    Dict changed;
                    m >> interface >> changed;
                    auto it = changed.find("Connected");
                    if (it != changed.end() && it->second.containsValueOfType<bool>() && !it->second.get<bool>())
                        events_.deviceGone(m.getPath());
                });
            }));
        bus->matches.push_back(c.addMatch(
            "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
            [this](sdbus::Message& m) {
                quietly(logger_, "InterfacesRemoved", [&] {
                    sdbus::ObjectPath path;
                    std::vector<std::string> interfaces;
                    m >> path >> interfaces;
                    for (const auto& i : interfaces)
                        if (i == "org.bluez.Device1") events_.deviceGone(path);
                });
            }));

        bus->adapter = sdbus::createProxy(c, "org.bluez", options_.adapterPath);
        bus->agentManager = sdbus::createProxy(c, "org.bluez", "/org/bluez");
        bus->dbus = sdbus::createProxy(c, "org.freedesktop.DBus", "/org/freedesktop/DBus");

        // Our own loop thread: a lost bus throws out of enterEventLoop, which we
        // turn into a reconnect (inside enterEventLoopAsync it would terminate).
        bus->loop = std::thread([this, raw] {
            try {
                raw->connection->enterEventLoop();
            } catch (const std::exception& e) {
                logger_.error("D-Bus event loop ended: %s", std::string(e.what()));
            }
            // Ended by us (shutdown) or by the bus: either way this connection is done.
            raw->lost = true;
            wake_.notify_all();
        });
        if (!options_.busName.empty()) c.requestName(options_.busName);

        // Asked asynchronously: the answer arrives on the loop thread, which proves
        // the loop runs. Only then may synchronous calls that make BlueZ call us
        // back be made (sdbus-c++ 1.2 serves a blocking call itself while the loop
        // thread has not started, and would then not answer BlueZ's callbacks).
        auto answer = std::make_shared<std::promise<bool>>();
        auto ready = answer->get_future();
        auto pending = bus->dbus->callMethodAsync("NameHasOwner").onInterface("org.freedesktop.DBus")
            .withArguments(std::string("org.bluez"))
            .uponReplyInvoke([answer](const sdbus::Error* error, bool owned) {
                try {
                    answer->set_value(!error && owned);
                } catch (...) {
                }
            });
        if (ready.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
            throw Error(ErrorCode::Unavailable, "the D-Bus event loop did not start");
        const bool present = ready.get();
        {
            std::lock_guard lock(mutex_);
            bus_ = bus;
            status_.busConnected = true;
            status_.bluezPresent = present;
            needRegister_ = true;
        }
        logger_.information("connected to the bus%s", std::string(present ? "; org.bluez is present" : "; waiting for org.bluez"));
        return true;
    } catch (const std::exception& e) {
        logger_.warning("cannot connect to the bus: %s", std::string(e.what()));
        bus->shutdown();
        return false;
    }
}

void BluezPeripheral::registerAll()
{
    std::shared_ptr<Bus> bus;
    {
        std::lock_guard lock(mutex_);
        bus = bus_;
        needRegister_ = false;
        status_.registered = false;
        status_.advertising = false;
    }
    if (!bus) return;
    try {
        const sdbus::ObjectPath agentPath(options_.objectRoot + "/agent");
        try {
            bus->agentManager->callMethod("UnregisterAgent").onInterface("org.bluez.AgentManager1").withArguments(agentPath);
        } catch (const sdbus::Error&) {
            // Not registered with this bluetoothd: the normal case.
        }
        bus->agentManager->callMethod("RegisterAgent").onInterface("org.bluez.AgentManager1")
            .withArguments(agentPath, std::string("DisplayYesNo"));
        bus->agentManager->callMethod("RequestDefaultAgent").onInterface("org.bluez.AgentManager1").withArguments(agentPath);
        // bluetoothd reads our object tree before it answers: the loop thread serves it meanwhile.
        bus->adapter->callMethod("RegisterApplication").onInterface("org.bluez.GattManager1")
            .withArguments(sdbus::ObjectPath(options_.objectRoot), Dict{});
        {
            std::lock_guard lock(mutex_);
            status_.registered = true;
            ++status_.registrations;
        }
        logger_.information("registered the GATT application and the pairing agent with BlueZ");
    } catch (const sdbus::Error& e) {
        logger_.warning("registration with BlueZ failed (will retry): %s", e.getName() + ": " + e.getMessage());
        std::lock_guard lock(mutex_);
        needRegister_ = true;
    }
}

void BluezPeripheral::updateAdvertisement()
{
    std::shared_ptr<Bus> bus;
    bool wanted, active;
    {
        std::lock_guard lock(mutex_);
        if (!status_.registered) return;
        bus = bus_;
        wanted = advertisingWanted_;
        active = status_.advertising;
    }
    if (!bus || wanted == active) return;
    const sdbus::ObjectPath path(options_.objectRoot + "/advertisement0");
    try {
        if (wanted)
            bus->adapter->callMethod("RegisterAdvertisement").onInterface("org.bluez.LEAdvertisingManager1")
                .withArguments(path, Dict{});
        else
            bus->adapter->callMethod("UnregisterAdvertisement").onInterface("org.bluez.LEAdvertisingManager1")
                .withArguments(path);
        std::lock_guard lock(mutex_);
        status_.advertising = wanted;
    } catch (const sdbus::Error& e) {
        logger_.warning("advertisement update failed: %s", e.getName() + ": " + e.getMessage());
        if (!wanted) {
            std::lock_guard lock(mutex_);
            status_.advertising = false;
        }
    }
}

} // namespace boxoffice::plugins::bluetooth
