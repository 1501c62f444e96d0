#include "FakeBluez.h"
#include "FakeRadio.h"

#include <algorithm>
#include <iostream>
#include <thread>

namespace boxoffice::fakebluez {

namespace {

constexpr const char* kAdapterPath = "/org/bluez/hci0";
constexpr const char* kGattManager = "org.bluez.GattManager1";
constexpr const char* kAdvertisingManager = "org.bluez.LEAdvertisingManager1";
constexpr const char* kAgentManager = "org.bluez.AgentManager1";
constexpr const char* kCharacteristic = "org.bluez.GattCharacteristic1";
constexpr const char* kService = "org.bluez.GattService1";
constexpr const char* kDevice = "org.bluez.Device1";
constexpr const char* kProperties = "org.freedesktop.DBus.Properties";

using Dict = std::map<std::string, sdbus::Variant>;
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, Dict>>;

bool has(const std::vector<std::string>& flags, const std::string& flag)
{
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

template <class T>
T value(const Dict& dict, const std::string& key, T fallback = {})
{
    auto it = dict.find(key);
    if (it == dict.end() || !it->second.template containsValueOfType<T>()) return fallback;
    return it->second.template get<T>();
}

} // namespace

struct FakeBluez::Impl {
    struct Characteristic {
        std::string path;
        std::string uuid;
        std::vector<std::string> flags;
        std::set<std::string> subscribers;  // device paths
    };
    struct Device {
        std::string address;
        std::uint16_t mtu = 23;
        std::unique_ptr<sdbus::IObject> object;
    };

    Options options;
    std::set<std::string>& bonds;
    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IObject> root, adapter, bluez, radio;
    std::map<std::string, std::unique_ptr<sdbus::IProxy>> proxies;
    std::vector<sdbus::Slot> slots;
    sdbus::Slot appSignals;
    std::thread loop;  // ours, so that losing the bus ends the loop instead of the process

    mutable std::recursive_mutex mutex;
    mutable std::condition_variable_any changed;
    State state;
    std::string appOwner, appPath;
    std::map<std::string, Characteristic> characteristics;  // by UUID
    std::string advertisementOwner, advertisementPath;
    std::map<std::string, std::pair<std::string, std::string>> agents;  // owner -> (path, capability)
    std::string defaultAgentOwner;
    std::map<std::string, Device> devices;  // by path

    Impl(Options o, std::set<std::string>& b) : options(std::move(o)), bonds(b) {}

    sdbus::IProxy& proxy(const std::string& destination, const std::string& path)
    {
        auto& p = proxies[destination + path];
        if (!p) p = sdbus::createProxy(*connection, destination, path);
        return *p;
    }

    void notifyChanged() { changed.notify_all(); }

    std::string senderOf(sdbus::IObject& object) { return object.getCurrentlyProcessedMessage()->getSender(); }

    // --- GattManager1 ---

    void registerApplication(sdbus::Result<>&& result, const sdbus::ObjectPath& app)
    {
        const auto owner = senderOf(*adapter);
        {
            std::lock_guard lock(mutex);
            if (state.applicationActive && owner == appOwner && app == appPath) {
                result.returnError(sdbus::Error("org.bluez.Error.AlreadyExists", "Already Exists"));
                return;
            }
        }
        auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
        // Like bluetoothd: read the whole tree first, answer afterwards.
        proxy(owner, app)
            .callMethodAsync("GetManagedObjects")
            .onInterface("org.freedesktop.DBus.ObjectManager")
            .withTimeout(options.callTimeout)
            .uponReplyInvoke([this, reply, owner, app](const sdbus::Error* error, const ManagedObjects& objects) {
                try {
                    if (error) throw sdbus::Error("org.bluez.Error.Failed", "No object received: " + error->getMessage());
                    onApplicationObjects(owner, app, objects);
                    reply->returnResults();
                } catch (const sdbus::Error& e) {
                    {
                        std::lock_guard lock(mutex);
                        state.lastError = e.getName() + ": " + e.getMessage();
                    }
                    notifyChanged();
                    reply->returnError(e);
                } catch (const std::exception& e) {
                    reply->returnError(sdbus::Error("org.bluez.Error.Failed", e.what()));
                }
            });
    }

    void onApplicationObjects(const std::string& owner, const std::string& app, const ManagedObjects& objects)
    {
        std::set<std::string> services;
        std::map<std::string, Characteristic> found;
        for (const auto& [path, interfaces] : objects) {
            if (std::string(path).rfind(app + "/", 0) != 0)
                throw sdbus::Error("org.bluez.Error.Failed", "object " + std::string(path) + " outside the application");
            if (auto it = interfaces.find(kService); it != interfaces.end()) {
                if (value<std::string>(it->second, "UUID").empty())
                    throw sdbus::Error("org.bluez.Error.Failed", "service without UUID");
                services.insert(path);
            }
        }
        for (const auto& [path, interfaces] : objects) {
            auto it = interfaces.find(kCharacteristic);
            if (it == interfaces.end()) continue;
            Characteristic c;
            c.path = path;
            c.uuid = value<std::string>(it->second, "UUID");
            c.flags = value<std::vector<std::string>>(it->second, "Flags");
            const auto service = value<sdbus::ObjectPath>(it->second, "Service");
            if (c.uuid.empty() || c.flags.empty() || !services.count(service))
                throw sdbus::Error("org.bluez.Error.Failed", "invalid characteristic " + std::string(path));
            found[c.uuid] = std::move(c);
        }
        if (services.empty()) throw sdbus::Error("org.bluez.Error.Failed", "No valid service object found");

        std::lock_guard lock(mutex);
        appOwner = owner;
        appPath = app;
        characteristics = std::move(found);
        state.applicationActive = true;
        state.applicationOwner = owner;
        ++state.applicationsRegistered;
        // Notifications are PropertiesChanged(Value) signals of the characteristics.
        appSignals = connection->addMatch("type='signal',sender='" + owner + "',interface='" + kProperties +
                                              "',member='PropertiesChanged'",
                                          [this](sdbus::Message& message) { onPropertiesChanged(message); });
        notifyChanged();
    }

    void onPropertiesChanged(sdbus::Message& message)
    {
        try {
            std::string interface;
            Dict changedProperties;
            message >> interface >> changedProperties;
            if (interface != kCharacteristic) return;
            auto it = changedProperties.find("Value");
            if (it == changedProperties.end() || !it->second.containsValueOfType<std::vector<std::uint8_t>>()) return;
            auto bytes = it->second.get<std::vector<std::uint8_t>>();
            const std::string path = message.getPath();
            std::vector<std::tuple<sdbus::ObjectPath, std::string, std::vector<std::uint8_t>>> deliveries;
            {
                std::lock_guard lock(mutex);
                for (const auto& [uuid, c] : characteristics) {
                    if (c.path != path) continue;
                    for (const auto& device : c.subscribers) {
                        auto d = devices.find(device);
                        if (d == devices.end()) continue;
                        // bluetoothd cuts silently to 512 and to MTU - 3.
                        auto cut = bytes;
                        cut.resize(std::min<std::size_t>({cut.size(), 512, std::size_t{d->second.mtu} - 3}));
                        deliveries.emplace_back(sdbus::ObjectPath(device), uuid, std::move(cut));
                    }
                }
            }
            for (const auto& [device, uuid, cut] : deliveries)
                radio->emitSignal("Notified").onInterface(kRadioInterface).withArguments(device, uuid, cut);
        } catch (const std::exception& e) {
            std::cerr << "fake bluez: bad PropertiesChanged: " << e.what() << '\n';
        }
    }

    void clearApplication()
    {
        std::lock_guard lock(mutex);
        appOwner.clear();
        appPath.clear();
        characteristics.clear();
        appSignals.reset();
        state.applicationActive = false;
        state.applicationOwner.clear();
        notifyChanged();
    }

    // --- LEAdvertisingManager1 ---

    void registerAdvertisement(sdbus::Result<>&& result, const sdbus::ObjectPath& path)
    {
        const auto owner = senderOf(*adapter);
        auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
        proxy(owner, path)
            .callMethodAsync("GetAll")
            .onInterface(kProperties)
            .withTimeout(options.callTimeout)
            .withArguments(std::string("org.bluez.LEAdvertisement1"))
            .uponReplyInvoke([this, reply, owner, path](const sdbus::Error* error, const Dict& properties) {
                try {
                    if (error) throw sdbus::Error("org.bluez.Error.Failed", "Failed to parse advertisement");
                    const auto type = value<std::string>(properties, "Type");
                    if (type != "peripheral" && type != "broadcast")
                        throw sdbus::Error("org.bluez.Error.InvalidArguments", "bad advertisement Type '" + type + "'");
                    {
                        std::lock_guard lock(mutex);
                        advertisementOwner = owner;
                        advertisementPath = path;
                        state.advertising = true;
                        state.advertisement = properties;
                    }
                    notifyChanged();
                    reply->returnResults();
                } catch (const sdbus::Error& e) {
                    reply->returnError(e);
                }
            });
    }

    // --- AgentManager1 ---

    void registerAgent(const sdbus::ObjectPath& path, const std::string& capability)
    {
        static const std::set<std::string> capabilities{"DisplayOnly", "DisplayYesNo", "KeyboardOnly",
                                                        "NoInputNoOutput", "KeyboardDisplay", ""};
        if (!capabilities.count(capability)) throw sdbus::Error("org.bluez.Error.InvalidArguments", "Invalid Arguments");
        const auto owner = senderOf(*bluez);
        std::lock_guard lock(mutex);
        if (agents.count(owner)) throw sdbus::Error("org.bluez.Error.AlreadyExists", "Already Exists");
        agents[owner] = {path, capability};
    }

    void requestDefaultAgent(const sdbus::ObjectPath& path)
    {
        const auto owner = senderOf(*bluez);
        {
            std::lock_guard lock(mutex);
            auto it = agents.find(owner);
            if (it == agents.end() || it->second.first != path)
                throw sdbus::Error("org.bluez.Error.DoesNotExist", "Does Not Exist");
            defaultAgentOwner = owner;
            state.agentCapability = it->second.second;
        }
        notifyChanged();
    }

    void unregisterAgent(const sdbus::ObjectPath& path)
    {
        const auto owner = senderOf(*bluez);
        std::lock_guard lock(mutex);
        auto it = agents.find(owner);
        if (it == agents.end() || it->second.first != path)
            throw sdbus::Error("org.bluez.Error.DoesNotExist", "Does Not Exist");
        dropAgent(owner);
    }

    void dropAgent(const std::string& owner)
    {
        agents.erase(owner);
        if (defaultAgentOwner == owner) {
            defaultAgentOwner.clear();
            state.agentCapability.clear();
        }
        notifyChanged();
    }

    void onNameOwnerChanged(sdbus::Message& message)
    {
        try {
            std::string name, oldOwner, newOwner;
            message >> name >> oldOwner >> newOwner;
            if (!newOwner.empty() || oldOwner.empty()) return;
            // BlueZ drops everything a client registered when it leaves the bus.
            bool app = false;
            {
                std::lock_guard lock(mutex);
                app = oldOwner == appOwner;
                if (oldOwner == advertisementOwner) {
                    advertisementOwner.clear();
                    state.advertising = false;
                }
                if (agents.count(oldOwner)) dropAgent(oldOwner);
                for (auto it = proxies.begin(); it != proxies.end();)
                    it = it->first.rfind(oldOwner, 0) == 0 ? proxies.erase(it) : std::next(it);
            }
            if (app) clearApplication();
            notifyChanged();
        } catch (const std::exception& e) {
            std::cerr << "fake bluez: bad NameOwnerChanged: " << e.what() << '\n';
        }
    }

    // --- Device1 objects and the radio ---

    std::string devicePath(const std::string& address)
    {
        std::string path = std::string(kAdapterPath) + "/dev_" + address;
        std::replace(path.begin(), path.end(), ':', '_');
        return path;
    }

    bool paired(const std::string& devicePath)
    {
        std::lock_guard lock(mutex);
        auto it = devices.find(devicePath);
        return it != devices.end() && bonds.count(it->second.address);
    }

    sdbus::ObjectPath connect(const std::string& address, std::uint16_t mtu)
    {
        if (mtu < 23 || mtu > 517) throw sdbus::Error("org.bluez.Error.InvalidArguments", "MTU out of range");
        if (address.size() != 17) throw sdbus::Error("org.bluez.Error.InvalidArguments", "bad address");
        const auto path = devicePath(address);
        std::lock_guard lock(mutex);
        auto& d = devices[path];
        d.address = address;
        d.mtu = mtu;
        if (!d.object) {
            d.object = sdbus::createObject(*connection, path);
            auto& o = *d.object;
            o.registerProperty("Address").onInterface(kDevice).withGetter([address] { return address; });
            o.registerProperty("Name").onInterface(kDevice).withGetter([] { return std::string("Phone"); });
            o.registerProperty("Adapter").onInterface(kDevice).withGetter([] { return sdbus::ObjectPath(kAdapterPath); });
            o.registerProperty("Connected").onInterface(kDevice).withGetter([this, path] {
                std::lock_guard l(mutex);
                return devices.count(path) > 0;
            });
            o.registerProperty("Paired").onInterface(kDevice).withGetter([this, path] { return paired(path); });
            o.registerProperty("Bonded").onInterface(kDevice).withGetter([this, path] { return paired(path); });
            // Writable by applications (bluetoothd: property_set_trust).
            o.registerProperty("Trusted").onInterface(kDevice)
                .withGetter([this, address] {
                    std::lock_guard l(mutex);
                    return state.trusted.count(address) > 0;
                })
                .withSetter([this, address](const bool& value) {
                    if (options.trustedSetDelay.count() > 0) {
                        // A bluetoothd slow to answer (its loop busy): the caller waits for the reply.
                        {
                            std::lock_guard l(mutex);
                            ++state.trustedSetsPending;
                        }
                        notifyChanged();
                        std::this_thread::sleep_for(options.trustedSetDelay);
                    }
                    {
                        std::lock_guard l(mutex);
                        if (options.trustedSetDelay.count() > 0) --state.trustedSetsPending;
                        if (value) state.trusted.insert(address);
                        else state.trusted.erase(address);
                    }
                    notifyChanged();
                });
            o.finishRegistration();
            o.emitInterfacesAddedSignal();
        }
        return sdbus::ObjectPath(path);
    }

    void disconnect(const std::string& path)
    {
        std::unique_ptr<sdbus::IObject> object;
        std::vector<std::string> stopNotify;
        {
            std::lock_guard lock(mutex);
            auto it = devices.find(path);
            if (it == devices.end()) throw sdbus::Error("org.bluez.Error.DoesNotExist", "no such device");
            object = std::move(it->second.object);
            devices.erase(it);
            for (auto& [uuid, c] : characteristics)
                if (c.subscribers.erase(path) && c.subscribers.empty()) stopNotify.push_back(c.path);
        }
        object->emitPropertiesChangedSignal(kDevice, {"Connected"});
        object->emitInterfacesRemovedSignal();
        for (const auto& c : stopNotify) callCharacteristic(c, "StopNotify", nullptr);
    }

    // The characteristic a phone addresses, checked like the ATT layer does.
    Characteristic& characteristicFor(const std::string& device, const std::string& uuid, const std::string& access)
    {
        if (!devices.count(device)) throw sdbus::Error("org.bluez.Error.NotConnected", "Not Connected");
        auto it = characteristics.find(uuid);
        if (it == characteristics.end()) throw sdbus::Error("org.bluez.Error.DoesNotExist", "no characteristic " + uuid);
        auto& c = it->second;
        if (!has(c.flags, access) && !(access == "notify" && has(c.flags, "indicate")))
            throw sdbus::Error("org.bluez.Error.NotPermitted", "Not Permitted: " + access);
        for (const auto& level : {"encrypt-authenticated-", "secure-", "encrypt-"})
            if (has(c.flags, level + access) && !bonds.count(devices[device].address))
                throw sdbus::Error("org.bluez.Error.NotAuthorized", "Insufficient Authentication");
        return c;
    }

    Dict optionsFor(const std::string& device)
    {
        return Dict{{"device", sdbus::Variant(sdbus::ObjectPath(device))},
                    {"mtu", sdbus::Variant(devices[device].mtu)},
                    {"link", sdbus::Variant(std::string("LE"))},
                    {"offset", sdbus::Variant(std::uint16_t{0})}};
    }

    void callCharacteristic(const std::string& path, const std::string& method,
                            std::shared_ptr<sdbus::Result<>> reply)
    {
        std::string owner;
        {
            std::lock_guard lock(mutex);
            owner = appOwner;
        }
        if (owner.empty()) {
            if (reply) reply->returnError(sdbus::Error("org.bluez.Error.NotConnected", "no application"));
            return;
        }
        proxy(owner, path)
            .callMethodAsync(method)
            .onInterface(kCharacteristic)
            .withTimeout(options.callTimeout)
            .uponReplyInvoke([reply](const sdbus::Error* error) {
                if (!reply) return;
                if (error) reply->returnError(*error);
                else reply->returnResults();
            });
    }

    void write(sdbus::Result<>&& result, const std::string& device, const std::string& uuid,
               const std::vector<std::uint8_t>& bytes)
    {
        std::string owner, path;
        Dict callOptions;
        {
            std::lock_guard lock(mutex);
            auto& c = characteristicFor(device, uuid, "write");
            if (bytes.size() > std::size_t{devices[device].mtu} - 3 || bytes.size() > 512)
                throw sdbus::Error("org.bluez.Error.InvalidValueLength", "Invalid Value Length");
            owner = appOwner;
            path = c.path;
            callOptions = optionsFor(device);
            callOptions["type"] = sdbus::Variant(std::string("request"));
        }
        auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
        proxy(owner, path)
            .callMethodAsync("WriteValue")
            .onInterface(kCharacteristic)
            .withTimeout(this->options.callTimeout)
            .withArguments(bytes, callOptions)
            .uponReplyInvoke([reply](const sdbus::Error* error) {
                if (error) reply->returnError(*error);
                else reply->returnResults();
            });
    }

    void read(sdbus::Result<std::vector<std::uint8_t>>&& result, const std::string& device, const std::string& uuid)
    {
        std::string owner, path;
        Dict callOptions;
        {
            std::lock_guard lock(mutex);
            auto& c = characteristicFor(device, uuid, "read");
            owner = appOwner;
            path = c.path;
            callOptions = optionsFor(device);
        }
        auto reply = std::make_shared<sdbus::Result<std::vector<std::uint8_t>>>(std::move(result));
        proxy(owner, path)
            .callMethodAsync("ReadValue")
            .onInterface(kCharacteristic)
            .withTimeout(this->options.callTimeout)
            .withArguments(callOptions)
            .uponReplyInvoke([reply](const sdbus::Error* error, const std::vector<std::uint8_t>& bytes) {
                if (error) reply->returnError(*error);
                else reply->returnResults(bytes);
            });
    }

    void subscribe(sdbus::Result<>&& result, const std::string& device, const std::string& uuid, bool on)
    {
        std::string path;
        bool first = false, last = false;
        {
            std::lock_guard lock(mutex);
            auto& c = characteristicFor(device, uuid, "notify");
            path = c.path;
            if (on) {
                first = c.subscribers.empty();
                c.subscribers.insert(device);
            } else {
                last = c.subscribers.erase(device) && c.subscribers.empty();
            }
        }
        auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
        // bluetoothd calls StartNotify for the first subscriber and StopNotify after the last.
        if (first) callCharacteristic(path, "StartNotify", reply);
        else if (last) callCharacteristic(path, "StopNotify", reply);
        else reply->returnResults();
    }

    void pair(sdbus::Result<bool>&& result, const std::string& device, const std::string& method,
              std::uint32_t passkey)
    {
        std::string owner, agentPath, address;
        {
            std::lock_guard lock(mutex);
            auto d = devices.find(device);
            if (d == devices.end()) throw sdbus::Error("org.bluez.Error.NotConnected", "Not Connected");
            address = d->second.address;
            auto a = agents.find(defaultAgentOwner);
            if (a == agents.end()) {
                result.returnResults(false);  // no agent: nobody can confirm
                return;
            }
            owner = a->first;
            agentPath = a->second.first;
        }
        auto reply = std::make_shared<sdbus::Result<bool>>(std::move(result));
        auto& agent = proxy(owner, agentPath);
        auto done = [this, reply, owner, agentPath, address, device](const sdbus::Error* error) {
            if (error) {
                const auto name = error->getName();
                if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout") {
                    // bluetoothd's agent request timed out: it cancels the request.
                    try {
                        proxy(owner, agentPath).callMethodAsync("Cancel").onInterface("org.bluez.Agent1").uponReplyInvoke(
                            [](const sdbus::Error*) {});
                    } catch (const std::exception&) {
                    }
                }
                reply->returnResults(false);
                return;
            }
            {
                std::lock_guard lock(mutex);
                bonds.insert(address);
            }
            try {
                std::lock_guard lock(mutex);
                if (auto d = devices.find(device); d != devices.end() && d->second.object)
                    d->second.object->emitPropertiesChangedSignal(kDevice, {"Paired", "Bonded"});
            } catch (const std::exception&) {
            }
            reply->returnResults(true);
        };
        const sdbus::ObjectPath dev(device);
        if (method == "confirmation") {
            agent.callMethodAsync("RequestConfirmation").onInterface("org.bluez.Agent1").withTimeout(options.agentTimeout)
                .withArguments(dev, passkey).uponReplyInvoke(done);
        } else if (method == "authorization") {
            agent.callMethodAsync("RequestAuthorization").onInterface("org.bluez.Agent1").withTimeout(options.agentTimeout)
                .withArguments(dev).uponReplyInvoke(done);
        } else if (method == "passkey") {
            agent.callMethodAsync("RequestPasskey").onInterface("org.bluez.Agent1").withTimeout(options.agentTimeout)
                .withArguments(dev).uponReplyInvoke([done](const sdbus::Error* e, std::uint32_t) { done(e); });
        } else if (method == "pincode") {
            agent.callMethodAsync("RequestPinCode").onInterface("org.bluez.Agent1").withTimeout(options.agentTimeout)
                .withArguments(dev).uponReplyInvoke([done](const sdbus::Error* e, const std::string&) { done(e); });
        } else {
            reply->returnError(sdbus::Error("org.bluez.Error.InvalidArguments", "unknown pairing method " + method));
        }
    }

    // --- object set-up ---

    template <class F>
    static void guarded(F&& f)
    {
        try {
            f();
        } catch (const sdbus::Error&) {
            throw;
        } catch (const std::exception& e) {
            throw sdbus::Error("org.bluez.Error.Failed", e.what());
        }
    }

    void start()
    {
        connection = sdbus::createSessionBusConnectionWithAddress(options.busAddress);
        root = sdbus::createObject(*connection, "/");
        root->addObjectManager();
        root->finishRegistration();

        adapter = sdbus::createObject(*connection, kAdapterPath);
        adapter->registerMethod("RegisterApplication").onInterface(kGattManager).implementedAs(
            [this](sdbus::Result<>&& r, sdbus::ObjectPath app, Dict) { guarded([&] { registerApplication(std::move(r), app); }); });
        adapter->registerMethod("UnregisterApplication").onInterface(kGattManager).implementedAs([this](sdbus::ObjectPath app) {
            guarded([&] {
                {
                    std::lock_guard lock(mutex);
                    if (!state.applicationActive || app != appPath)
                        throw sdbus::Error("org.bluez.Error.DoesNotExist", "Does Not Exist");
                }
                clearApplication();
            });
        });
        adapter->registerMethod("RegisterAdvertisement").onInterface(kAdvertisingManager).implementedAs(
            [this](sdbus::Result<>&& r, sdbus::ObjectPath path, Dict) { guarded([&] { registerAdvertisement(std::move(r), path); }); });
        adapter->registerMethod("UnregisterAdvertisement").onInterface(kAdvertisingManager).implementedAs(
            [this](sdbus::ObjectPath path) {
                std::lock_guard lock(mutex);
                if (!state.advertising || path != advertisementPath)
                    throw sdbus::Error("org.bluez.Error.DoesNotExist", "Does Not Exist");
                state.advertising = false;
                state.advertisement.clear();
                notifyChanged();
            });
        adapter->registerProperty("SupportedInstances").onInterface(kAdvertisingManager).withGetter([] { return std::uint8_t{4}; });
        adapter->registerProperty("ActiveInstances").onInterface(kAdvertisingManager).withGetter([this] {
            std::lock_guard lock(mutex);
            return std::uint8_t{state.advertising ? std::uint8_t{1} : std::uint8_t{0}};
        });
        adapter->registerProperty("Address").onInterface("org.bluez.Adapter1").withGetter([] { return std::string("00:1A:7D:DA:71:13"); });
        adapter->registerProperty("Powered").onInterface("org.bluez.Adapter1").withGetter([] { return true; });
        adapter->registerProperty("Name").onInterface("org.bluez.Adapter1").withGetter([] { return std::string("stb"); });
        adapter->finishRegistration();

        bluez = sdbus::createObject(*connection, "/org/bluez");
        bluez->registerMethod("RegisterAgent").onInterface(kAgentManager).implementedAs(
            [this](sdbus::ObjectPath path, std::string capability) { guarded([&] { registerAgent(path, capability); }); });
        bluez->registerMethod("RequestDefaultAgent").onInterface(kAgentManager).implementedAs(
            [this](sdbus::ObjectPath path) { guarded([&] { requestDefaultAgent(path); }); });
        bluez->registerMethod("UnregisterAgent").onInterface(kAgentManager).implementedAs(
            [this](sdbus::ObjectPath path) { guarded([&] { unregisterAgent(path); }); });
        bluez->finishRegistration();

        radio = sdbus::createObject(*connection, kRadioPath);
        radio->registerMethod("Connect").onInterface(kRadioInterface).implementedAs(
            [this](std::string address, std::uint16_t mtu) {
                sdbus::ObjectPath path;
                guarded([&] { path = connect(address, mtu); });
                return path;
            });
        radio->registerMethod("Disconnect").onInterface(kRadioInterface).implementedAs(
            [this](sdbus::ObjectPath device) { guarded([&] { disconnect(device); }); });
        radio->registerMethod("Pair").onInterface(kRadioInterface).implementedAs(
            [this](sdbus::Result<bool>&& r, sdbus::ObjectPath device, std::string method, std::uint32_t passkey) {
                guarded([&] { pair(std::move(r), device, method, passkey); });
            });
        radio->registerMethod("Read").onInterface(kRadioInterface).implementedAs(
            [this](sdbus::Result<std::vector<std::uint8_t>>&& r, sdbus::ObjectPath device, std::string uuid) {
                guarded([&] { read(std::move(r), device, uuid); });
            });
        radio->registerMethod("Write").onInterface(kRadioInterface).implementedAs(
            [this](sdbus::Result<>&& r, sdbus::ObjectPath device, std::string uuid, std::vector<std::uint8_t> bytes) {
                guarded([&] { write(std::move(r), device, uuid, bytes); });
            });
        radio->registerMethod("Subscribe").onInterface(kRadioInterface).implementedAs(
            [this](sdbus::Result<>&& r, sdbus::ObjectPath device, std::string uuid) {
                guarded([&] { subscribe(std::move(r), device, uuid, true); });
            });
        radio->registerMethod("Unsubscribe").onInterface(kRadioInterface).implementedAs(
            [this](sdbus::Result<>&& r, sdbus::ObjectPath device, std::string uuid) {
                guarded([&] { subscribe(std::move(r), device, uuid, false); });
            });
        radio->registerSignal("Notified").onInterface(kRadioInterface)
            .withParameters<sdbus::ObjectPath, std::string, std::vector<std::uint8_t>>();
        radio->finishRegistration();

        slots.push_back(connection->addMatch(
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged'",
            [this](sdbus::Message& m) { onNameOwnerChanged(m); }));
        connection->requestName("org.bluez");
        loop = std::thread([this] {
            try {
                connection->enterEventLoop();
            } catch (const std::exception& e) {
                std::cerr << "fake bluez: bus lost: " << e.what() << '\n';
            }
        });
    }

    void stop()
    {
        if (!connection) return;
        connection->leaveEventLoop();
        if (loop.joinable()) loop.join();
        std::lock_guard lock(mutex);
        appSignals.reset();
        slots.clear();
        proxies.clear();
        devices.clear();
        radio.reset();
        bluez.reset();
        adapter.reset();
        root.reset();
        connection.reset();  // closes the socket: org.bluez vanishes from the bus
        appOwner.clear();
        appPath.clear();
        characteristics.clear();
        advertisementOwner.clear();
        agents.clear();
        defaultAgentOwner.clear();
        const int registered = state.applicationsRegistered;
        state = State{};
        state.applicationsRegistered = registered;
        notifyChanged();
    }
};

FakeBluez::FakeBluez(Options options) : options_(std::move(options))
{
    start();
}

FakeBluez::~FakeBluez()
{
    stop();
}

void FakeBluez::start()
{
    const int registered = impl_ ? impl_->state.applicationsRegistered : 0;
    impl_ = std::make_unique<Impl>(options_, bonds_);
    impl_->state.applicationsRegistered = registered;
    impl_->start();
}

void FakeBluez::stop()
{
    if (impl_) impl_->stop();
}

void FakeBluez::restart()
{
    stop();
    start();
}

FakeBluez::State FakeBluez::state() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->state;
}

bool FakeBluez::waitFor(const std::function<bool(const State&)>& predicate, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return predicate(impl_->state); });
}

} // namespace boxoffice::fakebluez
