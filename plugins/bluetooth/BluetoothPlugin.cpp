// The bluetooth plugin: the STB as a BLE peripheral for the viewer's phone.
// Wires BluezPeripheral (D-Bus) to PhoneLinks (the protocol), publishes the
// PhoneChannel service and the bluetooth.1.* control methods and events.
//
// Configuration (plugins.bluetooth.*): busAddress (empty: system bus), busName,
// adapter, name (shown to phones), pairingTimeoutSeconds, linkConfirmTimeoutSeconds,
// handshakeTimeoutSeconds, pairingWindowSeconds, machineSecret (the trust::KeySealer's secret file that
// seals the trusted phone list, default <data>/machine-secret as for billing).

#include "BluezPeripheral.h"
#include "PhoneLinks.h"
#include "TrustedPhones.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/host/Plugin.h>
#include <boxoffice/trust/KeySealer.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <memory>

namespace boxoffice::plugins::bluetooth {

namespace {

std::chrono::milliseconds seconds(const Poco::Util::AbstractConfiguration& config, const std::string& key, int fallback)
{
    const double value = config.getDouble(key, fallback);
    if (value <= 0 || value > 3600) throw Error(ErrorCode::InvalidArgument, key + " must be in (0, 3600]");
    return std::chrono::milliseconds(static_cast<long long>(value * 1000));
}

} // namespace

class BluetoothPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            context_ = &context;
            const auto& config = context.config();
            auto& logger = context.logger();
            const auto data = context.dataDirectory();
            const std::string secret = config.getString("machineSecret", "");
            auto sealer = std::make_shared<trust::MachineSecretSealer>(secret.empty() ? data / "machine-secret"
                                                                                      : std::filesystem::path(secret));
            trusted_ = std::make_shared<TrustedPhones>(data / "trusted-phones.sealed", std::move(sealer),
                                                       data / "trusted-phones.json");
            // A refused list is not fatal: the STB works, the phones pair again.
            if (!trusted_->problem().empty()) logger.error(trusted_->problem());
            pairingWindow_ = seconds(config, "pairingWindowSeconds", 120);

            PhoneLinks::Options linkOptions;
            linkOptions.stbName = config.getString("name", "BoxOffice");
            linkOptions.pairingTimeout = seconds(config, "pairingTimeoutSeconds", 60);
            linkOptions.linkConfirmTimeout = seconds(config, "linkConfirmTimeoutSeconds", 50);
            linkOptions.handshakeTimeout = seconds(config, "handshakeTimeoutSeconds", 10);

            BluezPeripheral::Options busOptions;
            busOptions.busAddress = config.getString("busAddress", "");
            busOptions.busName = config.getString("busName", "");
            busOptions.adapterPath = config.getString("adapter", "/org/bluez/hci0");
            busOptions.localName = linkOptions.stbName;

            // PhoneLinks sends through the peripheral, the peripheral delivers to
            // PhoneLinks: both are built first, started after.
            links_ = std::make_shared<PhoneLinks>(
                linkOptions, trusted_, [this](ByteView f) {
                    if (!peripheral_) throw Error(ErrorCode::Unavailable, "bluetooth is stopped");
                    peripheral_->notify(f);
                },
                [this](const std::string& event, const Poco::Dynamic::Var& params) { emit(event, params); }, logger);
            BluezPeripheral::Events events;
            events.write = [this](const std::string& d, std::uint16_t mtu, ByteView v) { links_->onWrite(d, mtu, v); };
            events.info = [this] { return links_->info(); };
            events.deviceGone = [this](const std::string& d) { links_->onDeviceGone(d); };
            events.linksLost = [this] { links_->onLinksLost(); };
            events.confirmLink = [this](const std::string& d, std::uint32_t passkey, std::function<void(bool)> answer) {
                links_->onConfirmLink(d, passkey, std::move(answer));
            };
            events.linkCanceled = [this](const std::string&) { links_->onLinkCanceled(); };
            peripheral_ = std::make_unique<BluezPeripheral>(busOptions, std::move(events), logger);

            addApi(context);
            links_->start();
            links_->onAdvertisingWanted([this](bool wanted) {
                if (peripheral_) peripheral_->setAdvertising(wanted);
            });
            links_->onPhoneTrusted([this](const std::string& device) {
                if (peripheral_) peripheral_->setTrusted(device);
            });
            peripheral_->start();
            context.services().publish<boxoffice::bluetooth::PhoneChannel>(links_, context.pluginName());
            return {};
        } catch (const std::exception& e) {
            teardown();
            return std::string("bluetooth: ") + e.what();
        }
    }

    void deinitialize() override
    {
        if (context_) context_->services().withdraw<boxoffice::bluetooth::PhoneChannel>(context_->pluginName());
        teardown();
    }

private:
    void teardown()
    {
        if (peripheral_) peripheral_->stop();
        if (links_) links_->stop();
        peripheral_.reset();
        // Other plugins may still hold the (stopped) service; it keeps what it needs alive.
        links_.reset();
        trusted_.reset();
    }

    void emit(const std::string& event, const Poco::Dynamic::Var& params)
    {
        try {
            context_->emit(event, params);
        } catch (const std::exception& e) {
            context_->logger().warning("event %s not sent: %s", event, std::string(e.what()));
        }
    }

    void addApi(host::PluginContext& context)
    {
        using Var = Poco::Dynamic::Var;
        for (const char* event : {"bluetooth.1.linkConfirmation", "bluetooth.1.pairingCode", "bluetooth.1.pairingResult",
                                  "bluetooth.1.phoneConnected", "bluetooth.1.phoneDisconnected"})
            context.addEvent(event, "read");

        context.addMethod("bluetooth.1.status", "read", [this](const rpc::Request&) -> Var {
            const auto s = peripheral_->status();
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
            o->set("busConnected", s.busConnected);
            o->set("bluezPresent", s.bluezPresent);
            o->set("registered", s.registered);
            o->set("registrations", s.registrations);
            o->set("advertising", s.advertising);
            o->set("notifying", s.notifying);
            o->set("pairingOpen", links_->pairingOpen());
            o->set("links", links_->linksStatus());
            o->set("trustedPhonesProblem", trusted_->problem());
            return o;
        });
        context.addMethod("bluetooth.1.startPairing", "control", [this](const rpc::Request& r) -> Var {
            auto window = pairingWindow_;
            if (auto s = r.optionalInteger("timeoutSeconds")) {
                if (*s <= 0 || *s > 600) throw Error(ErrorCode::InvalidArgument, "timeoutSeconds must be in 1..600");
                window = std::chrono::seconds(*s);
            }
            links_->openPairing(window);
            return true;
        });
        context.addMethod("bluetooth.1.stopPairing", "control", [this](const rpc::Request&) -> Var {
            links_->closePairing();
            return true;
        });
        context.addMethod("bluetooth.1.confirmLink", "control", [this](const rpc::Request& r) -> Var {
            links_->confirmLink(r.string("device"), r.boolean("accept"));
            return true;
        });
        context.addMethod("bluetooth.1.confirmPairing", "control", [this](const rpc::Request& r) -> Var {
            links_->confirmPairing(r.string("phoneId"), r.boolean("accept"));
            return true;
        });
        context.addMethod("bluetooth.1.phones", "read", [this](const rpc::Request&) -> Var {
            Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
            for (const auto& p : links_->phones()) {
                Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
                o->set("id", p.id);
                o->set("name", p.name);
                o->set("publicKey", toHex(p.publicKey));
                o->set("connected", p.connected);
                list->add(o);
            }
            return list;
        });
        context.addMethod("bluetooth.1.removePhone", "admin", [this](const rpc::Request& r) -> Var {
            links_->removePhone(r.string("phoneId"));
            return true;
        });
    }

    host::PluginContext* context_ = nullptr;
    std::chrono::milliseconds pairingWindow_{120000};
    std::shared_ptr<TrustedPhones> trusted_;
    std::shared_ptr<PhoneLinks> links_;
    std::unique_ptr<BluezPeripheral> peripheral_;
};

} // namespace boxoffice::plugins::bluetooth

static const char* const kNeeds[] = {nullptr};
static const char* const kProvides[] = {"phone-channel", nullptr};
BOXOFFICE_PLUGIN(boxoffice::plugins::bluetooth::BluetoothPlugin,
                 (BoxOfficePluginManifest{"bluetooth", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "BLE GATT peripheral, pairing agent and secure sessions with the viewer's phone"}))
