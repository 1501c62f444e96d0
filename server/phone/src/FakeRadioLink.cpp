#include <boxoffice/phone/FakeRadioLink.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Protocol.h>

#include <sdbus-c++/sdbus-c++.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace boxoffice::phone {

namespace {
// The fake radio's names (tests/bluetooth/fakebluez/FakeRadio.h).
constexpr const char* kRadioPath = "/org/boxoffice/radio";
constexpr const char* kRadio = "org.boxoffice.FakeRadio1";

Error toError(const sdbus::Error& e)
{
    const auto& name = e.getName();
    const std::string text = name + ": " + e.getMessage();
    if (name == "org.bluez.Error.NotAuthorized") return Error(ErrorCode::PermissionDenied, text);
    if (e.getMessage().find("in use") != std::string::npos) return Error(ErrorCode::Conflict, text);
    if (e.getMessage().find("exceeds") != std::string::npos) return Error(ErrorCode::LimitExceeded, text);
    if (name == "org.bluez.Error.Failed") return Error(ErrorCode::Malformed, text);
    return Error(ErrorCode::Unavailable, text);
}
} // namespace

struct FakeRadioLink::Impl {
    Options options;
    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IProxy> radio;
    std::vector<sdbus::Slot> matches;
    std::thread loop;
    mutable std::mutex mutex;
    std::string device;
    std::atomic<bool> up{false};
    std::function<void(ByteView)> notification;
    std::function<void()> disconnected;

    void lost()
    {
        if (!up.exchange(false)) return;
        std::function<void()> handler;
        {
            std::lock_guard lock(mutex);
            handler = disconnected;
        }
        if (handler) handler();
    }
};

FakeRadioLink::FakeRadioLink(Options options) : impl_(std::make_unique<Impl>())
{
    impl_->options = std::move(options);
    try {
        impl_->connection = sdbus::createSessionBusConnectionWithAddress(impl_->options.busAddress);
        impl_->connection->setMethodCallTimeout(std::chrono::seconds(15));
        impl_->radio = sdbus::createProxy(*impl_->connection, "org.bluez", kRadioPath);
        Impl* impl = impl_.get();
        impl_->radio->uponSignal("Notified").onInterface(kRadio).call(
            [impl](const sdbus::ObjectPath& device, const std::string& uuid, const std::vector<std::uint8_t>& value) {
                try {
                    std::function<void(ByteView)> handler;
                    {
                        std::lock_guard lock(impl->mutex);
                        if (device != impl->device || uuid != bluetooth::kTxUuid) return;
                        handler = impl->notification;
                    }
                    if (handler) handler(value);
                } catch (...) {
                    // A handler error must not take the phone's event loop down.
                }
            });
        impl_->radio->finishRegistration();
        impl_->matches.push_back(impl_->connection->addMatch(
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
            [impl](sdbus::Message& m) {
                try {
                    std::string name, oldOwner, newOwner;
                    m >> name >> oldOwner >> newOwner;
                    if (!oldOwner.empty()) impl->lost();
                } catch (...) {
                }
            }));
        impl_->loop = std::thread([impl] {
            try {
                impl->connection->enterEventLoop();
            } catch (...) {
                impl->lost();
            }
        });
        reconnect();
    } catch (const sdbus::Error& e) {
        if (impl_->connection) impl_->connection->leaveEventLoop();
        if (impl_->loop.joinable()) impl_->loop.join();
        throw Error(ErrorCode::Unavailable, "cannot reach the fake radio: " + e.getMessage());
    }
}

FakeRadioLink::~FakeRadioLink()
{
    try {
        disconnect();
    } catch (...) {
    }
    impl_->connection->leaveEventLoop();
    if (impl_->loop.joinable()) impl_->loop.join();
}

void FakeRadioLink::reconnect()
{
    try {
        sdbus::ObjectPath device;
        impl_->radio->callMethod("Connect").onInterface(kRadio)
            .withArguments(impl_->options.address, impl_->options.mtu).storeResultsTo(device);
        {
            std::lock_guard lock(impl_->mutex);
            impl_->device = device;
        }
        impl_->up = true;
    } catch (const sdbus::Error& e) {
        throw toError(e);
    }
}

void FakeRadioLink::disconnect()
{
    if (!impl_->up.exchange(false)) return;
    try {
        impl_->radio->callMethod("Disconnect").onInterface(kRadio).withArguments(sdbus::ObjectPath(devicePath()));
    } catch (const sdbus::Error&) {
        // Already gone.
    }
}

std::string FakeRadioLink::devicePath() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->device;
}

bool FakeRadioLink::pairLink(std::uint32_t passkey, const std::string& method)
{
    try {
        bool accepted = false;
        impl_->radio->callMethod("Pair").onInterface(kRadio).withTimeout(std::chrono::seconds(90))
            .withArguments(sdbus::ObjectPath(devicePath()), method, passkey).storeResultsTo(accepted);
        return accepted;
    } catch (const sdbus::Error& e) {
        throw toError(e);
    }
}

std::size_t FakeRadioLink::mtu() const { return impl_->options.mtu; }

void FakeRadioLink::write(ByteView fragment)
{
    if (!impl_->up) throw Error(ErrorCode::Unavailable, "link is down");
    try {
        impl_->radio->callMethod("Write").onInterface(kRadio)
            .withArguments(sdbus::ObjectPath(devicePath()), std::string(bluetooth::kRxUuid),
                           std::vector<std::uint8_t>(fragment.begin(), fragment.end()));
    } catch (const sdbus::Error& e) {
        throw toError(e);
    }
}

Bytes FakeRadioLink::readInfo()
{
    try {
        std::vector<std::uint8_t> value;
        impl_->radio->callMethod("Read").onInterface(kRadio)
            .withArguments(sdbus::ObjectPath(devicePath()), std::string(bluetooth::kInfoUuid)).storeResultsTo(value);
        return value;
    } catch (const sdbus::Error& e) {
        throw toError(e);
    }
}

void FakeRadioLink::onNotification(std::function<void(ByteView)> handler)
{
    std::lock_guard lock(impl_->mutex);
    impl_->notification = std::move(handler);
}

void FakeRadioLink::onDisconnect(std::function<void()> handler)
{
    std::lock_guard lock(impl_->mutex);
    impl_->disconnected = std::move(handler);
}

void FakeRadioLink::subscribe()
{
    try {
        impl_->radio->callMethod("Subscribe").onInterface(kRadio)
            .withArguments(sdbus::ObjectPath(devicePath()), std::string(bluetooth::kTxUuid));
    } catch (const sdbus::Error& e) {
        throw toError(e);
    }
}

bool FakeRadioLink::connected() const { return impl_->up; }

} // namespace boxoffice::phone
