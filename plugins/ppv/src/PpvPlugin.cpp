// The ppv plugin: ticket wallet (boxoffice.ppv.Wallet/1 and the descrambler's
// KeyService), catalog, purchase PIN and the purchase flow (DESIGN §5 flows 3, 4,
// 6, 7, 8). Contract and configuration: plugins/ppv/README.md.

#include "Pin.h"
#include "PpvDatabase.h"
#include "Purchases.h"
#include "Refusal.h"
#include "TicketWallet.h"

#include <boxoffice/host/Plugin.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/KeyStore.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/trust/TrustedClock.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <atomic>
#include <condition_variable>
#include <thread>

namespace boxoffice::plugins::ppv {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::filesystem::path pathOf(const Poco::Util::AbstractConfiguration& config, const std::string& key,
                             const std::filesystem::path& fallback)
{
    const std::string value = config.getString(key, "");
    return value.empty() ? fallback : std::filesystem::path(value);
}

Object::Ptr toJson(const CatalogEvent& e, const std::string& state)
{
    Object::Ptr j = new Object;
    j->set("eventId", e.eventId);
    j->set("title", e.title);
    j->set("price", e.price);
    j->set("currency", e.currency);
    j->set("payee", e.payee);
    j->set("saleFrom", e.saleFrom);
    j->set("saleUntil", e.saleUntil);
    j->set("startsAt", e.startsAt);
    j->set("endsAt", e.endsAt);
    j->set("previewSeconds", e.previewSeconds);
    j->set("blackout", e.blackout);
    if (e.views != 0) j->set("views", e.views);
    if (e.playbackWindow != 0) j->set("playbackWindowSeconds", e.playbackWindow);
    j->set("state", state);
    return j;
}

Object::Ptr toJson(const TicketInfo& t)
{
    Object::Ptr j = new Object;
    j->set("ticketId", t.ticketId);
    j->set("eventId", t.eventId);
    j->set("title", t.title);
    j->set("notBefore", t.notBefore);
    j->set("notAfter", t.notAfter);
    j->set("playableUntil", t.playableUntil);
    if (t.firstPlayedAt != 0) j->set("firstPlayedAt", t.firstPlayedAt);
    if (t.viewsLeft) j->set("viewsLeft", *t.viewsLeft);
    j->set("state", t.state);
    if (t.dormant) j->set("dormant", true);
    return j;
}

std::int64_t intOf(const Object::Ptr& o, const std::string& key, std::int64_t fallback = 0)
{
    if (!o->has(key) || o->get(key).isEmpty()) return fallback;
    return o->get(key).convert<std::int64_t>();
}

std::string textOf(const Object::Ptr& o, const std::string& key)
{
    return o->has(key) && !o->get(key).isEmpty() ? o->get(key).convert<std::string>() : std::string();
}

} // namespace

class PpvPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            context_ = &context;
            const auto& config = context.config();
            const auto data = context.dataDirectory();

            auto sealer = std::make_shared<trust::MachineSecretSealer>(pathOf(config, "machineSecret", data / "machine-secret"));
            trust::KeyStore keys(pathOf(config, "keyStore", data / "keys"), sealer);
            if (!keys.hasDeviceIdentity()) {
                const std::string provisioning = config.getString("deviceDirectory", "");
                if (provisioning.empty())
                    throw Error(ErrorCode::NotFound, "no device identity in the key store and no deviceDirectory to import");
                keys.putDeviceIdentity(trust::loadDeviceIdentity(provisioning));
            }
            const std::string anchor = config.getString("trustAnchor", "");
            if (anchor.empty()) throw Error(ErrorCode::InvalidArgument, "trustAnchor (the operator's root.json) is not configured");
            auto clock = std::make_shared<trust::TrustedClock>(pathOf(config, "clockState", data / "clock.state"), sealer);
            clock_ = clock;
            auto revocations = std::make_shared<trust::RevocationState>();
            const auto root = trust::loadTrustAnchor(anchor);
            root_ = root;
            revocations_ = revocations;
            // Default: where the sync plugin keeps the server's list with its own defaults
            // (its data directory beside this one), so a box configured with defaults applies it.
            revocationsFile_ = config.getString("revocationsFile", (data.parent_path() / "sync" / "revocations.bin").string());
            // The root's list sync keeps beside the server's (sync's default too).
            rootRevocationsFile_ = config.getString(
                "rootRevocationsFile",
                revocationsFile_.empty() ? "" : (std::filesystem::path(revocationsFile_).parent_path() / "root-revocations.bin").string());
            // The certificate the server last presented, as sync keeps it beside its lists (sync's
            // default): preferred to serverCertificate, so that a rotated server key is followed.
            serverCertificateFile_ = config.getString(
                "serverCertificateFile",
                revocationsFile_.empty() ? "" : (std::filesystem::path(revocationsFile_).parent_path() / "server-certificate.bin").string());
            if (const auto server = config.getString("serverCertificate", ""); !server.empty()) {
                // Revocation lists may be signed by the server under its root-issued certificate.
                const auto cert = trust::loadCertificate(server);
                // A wrong one (another root's, not a server's) stops the plugin with a reason. Its
                // validity and revocation are checked at each use (serverKey()): after a key
                // rotation it may have expired while the one the server presented since is good.
                trust::verifyCertificate(cert, root, wire::CertificateRole::Server, cert.notBefore);
                try {
                    trust::verifyCertificate(cert, root, wire::CertificateRole::Server, clock->latestKnown());
                } catch (const Error& e) {
                    context.logger().warning("serverCertificate: %s (the one the server presented, kept by sync, may stand in)",
                                             std::string(e.what()));
                }
                servers_.configured = cert;
            }
            loadRevocations();

            db_ = openPpvDatabase(pathOf(config, "database", data / "ppv.db"));
            wallet_ = std::make_shared<TicketWallet>(
                db_, root, keys.deviceIdentity(), clock, revocations,
                [&services = context.services()] { return services.find<billing::History>(); },
                config.getInt64("viewGapSeconds", TicketWallet::kDefaultViewGap));
            deviceId_ = keys.deviceIdentity().deviceId;
            // A dormant ticket is bought only if the signed history holds its purchase.
            wallet_->setActivationCheck([&services = context.services()](const std::string& ticketId, std::uint64_t sequence) {
                const auto history = services.find<billing::History>();
                if (!history || sequence == 0) return false;
                const auto records = history->records(sequence - 1, 1);
                return records.size() == 1 && records.front().record.sequence == sequence &&
                       records.front().record.kind == wire::HistoryKind::Purchase &&
                       records.front().record.ticketId == ticketId;
            });
            PinGuard::Options pinOptions;
            pinOptions.initialPin = config.getString("pin.initial", pinOptions.initialPin);
            pinOptions.maxAttempts = config.getInt("pin.maxAttempts", pinOptions.maxAttempts);
            pinOptions.lockSeconds = config.getInt64("pin.lockSeconds", pinOptions.lockSeconds);
            pinOptions.iterations = static_cast<std::uint32_t>(config.getUInt("pin.iterations", pinOptions.iterations));
            pin_ = std::make_unique<PinGuard>(db_, pinOptions);

            Purchases::Options options;
            options.phoneTimeout = std::chrono::milliseconds(config.getInt64("phoneTimeoutMs", options.phoneTimeout.count()));
            options.pollInterval = std::chrono::milliseconds(config.getInt64("pollIntervalMs", options.pollInterval.count()));
            options.pollTimeout = std::chrono::milliseconds(config.getInt64("pollTimeoutMs", options.pollTimeout.count()));
            refresh_ = std::chrono::seconds(config.getInt64("refreshSeconds", 300));
            auto& services = context.services();
            purchases_ = std::make_unique<Purchases>(
                db_, *wallet_, *pin_, [&services] { return services.find<sync::ServerLink>(); },
                [&services] { return services.find<bluetooth::PhoneChannel>(); },
                [&services] { return services.find<billing::History>(); }, options);

            wallet_->onTicketAdded([this](const TicketInfo& t) { emit("ppv.1.ticketAdded", toJson(t)); });
            wallet_->onCatalogChanged([this] { emit("ppv.1.catalogChanged", Object::Ptr(new Object)); });
            purchases_->onOrderChanged([this](const OrderInfo& o) { emit("ppv.1.orderChanged", ppv::toJson(o)); });
            addApi(context);
            services.publish<boxoffice::ppv::Wallet>(wallet_, context.pluginName());
            services.publish<mpegts::KeyService>(wallet_, context.pluginName());
            purchases_->resume();
            stopping_ = false;
            feeder_ = std::thread([this] { feed(); });
            context.logger().information("ppv wallet of " + keys.deviceIdentity().deviceId + ": " +
                                         std::to_string(wallet_->storedCount()) + " tickets, " +
                                         std::to_string(wallet_->catalog().size()) + " catalog events");
            return {};
        } catch (const std::exception& e) {
            teardown();
            return std::string("ppv: ") + e.what();
        }
    }

    void deinitialize() override { teardown(); }

private:
    void teardown()
    {
        {
            std::lock_guard lock(feedMutex_);
            stopping_ = true;
        }
        feedWake_.notify_all();
        if (feeder_.joinable()) feeder_.join();
        if (context_) {
            try {
                context_->services().withdraw<boxoffice::ppv::Wallet>(context_->pluginName());
                context_->services().withdraw<mpegts::KeyService>(context_->pluginName());
            } catch (const std::exception& e) {
                // Published by someone else (our own publish failed): not ours to withdraw.
                context_->logger().warning("ppv: %s", std::string(e.what()));
            }
        }
        if (purchases_) purchases_->stop();
        purchases_.reset();
        pin_.reset();
        wallet_.reset();   // holders of the services keep it alive until they let go
        db_.reset();
    }

    void emit(const std::string& event, const Var& params)
    {
        try {
            context_->emit(event, params);
        } catch (const std::exception& e) {
            context_->logger().warning("event %s not sent: %s", event, std::string(e.what()));
        }
    }

    // Catalog and ticket deliveries from the server: at start, when the line comes
    // up, on ppv.1.refresh and every refreshSeconds. Also attaches to the ServerLink
    // and the PhoneChannel once they are published (they may start after us).
    void feed()
    {
        using Clock = std::chrono::steady_clock;
        std::uint64_t watchToken = 0, phoneToken = 0;
        std::shared_ptr<sync::ServerLink> watched;
        std::shared_ptr<bluetooth::PhoneChannel> phones;
        auto due = Clock::now();
        while (true) {
            if (!watched) {
                if (auto link = context_->services().find<sync::ServerLink>()) {
                    watched = link;
                    watchToken = link->watchOnline([this](bool online) {
                        if (online) wakeFeeder();
                    });
                    due = Clock::now();
                }
            }
            if (!phones) {
                if (auto channel = context_->services().find<bluetooth::PhoneChannel>()) {
                    phones = channel;
                    try {
                        phoneToken = channel->subscribe(bluetooth::MessageType::TicketTransfer, ticketFromPhone(wallet_));
                    } catch (const std::exception& e) {
                        context_->logger().warning("tickets from phones not accepted: %s", std::string(e.what()));
                    }
                }
            }
            if (Clock::now() >= due) {
                refreshNow();
                due = Clock::now() + refresh_;
            }
            std::unique_lock lock(feedMutex_);
            // Until both services are found, look for them again every second.
            const auto wait = std::min<Clock::duration>(due - Clock::now(), watched && phones ? refresh_ : std::chrono::seconds(1));
            feedWake_.wait_for(lock, wait, [this] { return stopping_ || wakeRequested_; });
            if (stopping_) break;
            if (wakeRequested_) due = Clock::now();
            wakeRequested_ = false;
        }
        if (watched) watched->unwatch(watchToken);
        if (phones && phoneToken) phones->unsubscribe(phoneToken);
    }

    // A ticket a phone hands over (bought there, or a gift it carries): into the wallet,
    // answered with a Result (ok with the ticket id, or the error keyword and text).
    static bluetooth::PhoneChannel::Handler ticketFromPhone(std::shared_ptr<TicketWallet> wallet)
    {
        return [wallet](const std::string& phoneId, const bluetooth::Message& m) -> std::optional<bluetooth::Message> {
            bluetooth::ResultBody result;
            try {
                const auto body = bluetooth::TicketTransferBody::decode(m.body);
                result.text = wallet->addTicket(body.ticket);
            } catch (const Error& e) {
                Poco::Logger::get("ppv").warning("ticket from phone %s refused: %s", phoneId, std::string(e.what()));
                result.ok = false;
                result.error = std::string(toString(e.code()));
                result.text = e.what();
            }
            return bluetooth::Message{bluetooth::MessageType::Result, 0, 0, result.encode()};
        };
    }

    // The revocation lists sync keeps, each applied when its file changes: revoked
    // tickets stop giving control words at once. The root's list (rootRevocationsFile)
    // is checked with the root anchor, the server's (revocationsFile, tickets only) with
    // the server's key; RevocationState keeps the two apart.
    void loadRevocations()
    {
        loadRevocationFile(rootRevocationsFile_, rootRevocationsStamp_, true);
        loadKeptServerCertificate();
        loadRevocationFile(revocationsFile_, revocationsStamp_, false);
    }

    // Whether `file` (a file sync keeps) exists with another modification time than `seen`,
    // which then takes it.
    static bool changedSince(const std::string& file, std::filesystem::file_time_type& seen)
    {
        if (file.empty()) return false;
        std::error_code ec;
        const auto stamp = std::filesystem::last_write_time(file, ec);
        if (ec || stamp == seen) return false;
        seen = stamp;
        return true;
    }

    // Read again when the file changes; held as it is, checked at each use (serverKey()).
    void loadKeptServerCertificate()
    {
        if (!changedSince(serverCertificateFile_, serverCertificateStamp_)) return;
        try {
            auto certificate = trust::loadCertificate(serverCertificateFile_);
            context_->logger().information("server certificate %s kept by sync: %s", certificate.keyId, serverCertificateFile_);
            {
                std::lock_guard lock(serversMutex_);
                servers_.presented = std::move(certificate);
            }
            // The server's list may have come before the certificate of its signer: read it again.
            revocationsStamp_ = {};
        } catch (const Error& e) {
            context_->logger().warning("server certificate %s not read: %s", serverCertificateFile_, std::string(e.what()));
        }
    }

    void loadRevocationFile(const std::string& file, std::filesystem::file_time_type& seen, bool fromRoot)
    {
        if (!changedSince(file, seen)) return;
        try {
            const auto list = trust::loadRevocationList(file);
            if (fromRoot) revocations_->apply(list, *root_);
            else revocations_->apply(list, serverKey("check the server's revocation list with", clock_->latestKnown()));
            context_->logger().information("revocation list %s (sequence %s) applied", file, std::to_string(list.sequence));
        } catch (const Error& e) {
            if (e.code() != ErrorCode::Replayed)
                context_->logger().warning("revocation list %s not applied: %s", file, std::string(e.what()));
        }
    }

    void wakeFeeder()
    {
        {
            std::lock_guard lock(feedMutex_);
            wakeRequested_ = true;
        }
        feedWake_.notify_all();
    }

    // Returns what was done, for ppv.1.refresh.
    Object::Ptr refreshNow()
    {
        std::lock_guard once(refreshMutex_);
        loadRevocations();
        Object::Ptr result = new Object;
        // Time first: sale windows and tickets of this refresh are judged by it.
        try {
            result->set("trustedTime", takeServerTime());
        } catch (const std::exception& e) {
            result->set("timeError", std::string(e.what()));
            context_->logger().information("trusted time not taken: %s", std::string(e.what()));
        }
        try {
            const auto catalog = purchases_->callServer("GET", "/v1/stb/catalog");
            auto events = parseCatalog(catalog);
            result->set("events", static_cast<std::int64_t>(events.size()));
            wallet_->replaceCatalog(events);
        } catch (const std::exception& e) {
            result->set("catalogError", std::string(e.what()));
            context_->logger().warning("catalog not refreshed: %s", std::string(e.what()));
        }
        try {
            result->set("ticketsAdded", fetchTickets());
        } catch (const std::exception& e) {
            result->set("ticketsError", std::string(e.what()));
            context_->logger().information("ticket deliveries not fetched: %s", std::string(e.what()));
        }
        return result;
    }

    // The server's signed time (fresh nonce, this box as audience) corrects the wallet's
    // clock, so ticket windows follow the operator's time and not only the box's RTC. The
    // sync plugin keeps a clock of its own the same way; neither trusts the other's file.
    wire::UnixTime takeServerTime()
    {
        const auto key = serverKey("verify the server's time with", clock_->signerCheckTime());
        return clock_->fetchFrom(
            [&](const std::string& path) { return textOf(purchases_->callServer("GET", path), "trustedTime"); }, key,
            deviceId_);
    }

    // The server's key (Ed25519 or P-256) for what it signs: of the certificate the server last
    // presented (kept by sync), else of serverCertificate, the first that is a server
    // certificate under the root, valid `at` (TrustedClock::latestKnown, or signerCheckTime for
    // the signer of time: a clock set back must not stop the plugin, the TV says why tickets
    // are refused) and not revoked by the root's list applied so far.
    trust::VerifyingKey serverKey(const std::string& purpose, wire::UnixTime at) const
    {
        std::lock_guard lock(serversMutex_);
        return trust::chooseServer(
                   servers_,
                   [&](const wire::Certificate& c) {
                       return trust::verifyCertificate(c, *root_, wire::CertificateRole::Server, at, revocations_.get());
                   },
                   purpose + " (plugins.ppv.serverCertificate)")
            .key;
    }

    std::vector<CatalogEvent> parseCatalog(const Object::Ptr& body) const
    {
        const auto list = body->getArray("events");
        if (!list) throw Error(ErrorCode::Malformed, "catalog without \"events\"");
        const auto& config = context_->config();
        std::vector<CatalogEvent> events;
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto o = list->getObject(static_cast<unsigned>(i));
            if (!o) throw Error(ErrorCode::Malformed, "catalog event " + std::to_string(i) + " is not an object");
            CatalogEvent e;
            e.eventId = textOf(o, "eventId");
            e.title = textOf(o, "title");
            e.payee = textOf(o, "payee");
            e.price = intOf(o, "price");
            e.currency = textOf(o, "currency");
            e.saleFrom = intOf(o, "saleFrom");
            e.saleUntil = intOf(o, "saleUntil");
            e.startsAt = intOf(o, "startsAt");
            e.endsAt = intOf(o, "endsAt");
            e.previewSeconds = intOf(o, "previewSeconds");
            e.blackout = o->has("blackout") && o->get("blackout").convert<bool>();
            e.eventKeyId = textOf(o, "eventKeyId");
            e.views = intOf(o, "views");
            e.playbackWindow = intOf(o, "playbackWindowSeconds");
            // Broadcast details: from the feed when it has them, else from configuration.
            const std::string prefix = "broadcast." + e.eventId + ".";
            e.dvbEventId = static_cast<std::uint16_t>(intOf(o, "dvbEventId", config.getInt(prefix + "dvbEventId", 0)));
            e.playUri = o->has("playUri") ? textOf(o, "playUri") : config.getString(prefix + "uri", "");
            e.program = static_cast<std::uint16_t>(intOf(o, "program", config.getInt(prefix + "program", 0)));
            if (e.eventId.empty()) throw Error(ErrorCode::Malformed, "catalog event " + std::to_string(i) + " has no eventId");
            events.push_back(std::move(e));
        }
        return events;
    }

    std::int64_t fetchTickets()
    {
        const auto queue = purchases_->callServer("GET", "/v1/stb/tickets");
        const auto list = queue->getArray("tickets");
        if (!list) return 0;
        Array::Ptr done = new Array;
        std::int64_t added = 0;
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto d = list->getObject(static_cast<unsigned>(i));
            if (!d) continue;
            const auto id = textOf(d, "deliveryId");
            try {
                wallet_->addTicket(wire::fromBase64Url(textOf(d, "ticket"), "ticket"));
                ++added;
                done->add(id);
            } catch (const Error& e) {
                context_->logger().warning("delivery %s refused: %s", id, std::string(e.what()));
                // A ticket that can never be accepted is acknowledged so it is not offered forever;
                // a box with a clock or storage problem tries again later.
                if (e.code() != ErrorCode::ClockRollback && e.code() != ErrorCode::Storage &&
                    e.code() != ErrorCode::NotYetValid)
                    done->add(id);
            }
        }
        if (done->size() > 0) {
            Object::Ptr ack = new Object;
            ack->set("deliveryIds", done);
            purchases_->callServer("POST", "/v1/stb/tickets/acknowledgements", ack);
        }
        return added;
    }

    void addApi(host::PluginContext& context)
    {
        context.addEvent("ppv.1.orderChanged", "read");
        context.addEvent("ppv.1.ticketAdded", "read");
        context.addEvent("ppv.1.catalogChanged", "read");
        context.addMethod("ppv.1.catalog", "read", [this](const rpc::Request&) -> Var {
            const auto now = wallet_->now();
            Array::Ptr list = new Array;
            for (const auto& e : wallet_->catalog()) list->add(toJson(e, wallet_->stateOf(e, now)));
            Object::Ptr j = new Object;
            j->set("now", now);
            j->set("events", list);
            return j;
        });
        context.addMethod("ppv.1.event", "read", [this](const rpc::Request& r) -> Var {
            const auto e = wallet_->event(r.string("eventId"));
            if (!e) throw Error(ErrorCode::NotFound, "no event " + r.string("eventId") + " in the catalog");
            return toJson(*e, wallet_->stateOf(*e, wallet_->now()));
        });
        context.addMethod("ppv.1.buy", "control", [this](const rpc::Request& r) -> Var {
            return ppv::toJson(purchases_->buy(r.string("eventId"), r.string("pin"), r.optionalString("method").value_or("phone")));
        });
        context.addMethod("ppv.1.order", "read", [this](const rpc::Request& r) -> Var {
            return ppv::toJson(purchases_->order(r.string("orderId")));
        });
        context.addMethod("ppv.1.enterOtp", "control", [this](const rpc::Request& r) -> Var {
            return ppv::toJson(purchases_->enterOtp(r.string("orderId"), r.string("otp")));
        });
        context.addMethod("ppv.1.cancel", "control", [this](const rpc::Request& r) -> Var {
            return ppv::toJson(purchases_->cancel(r.string("orderId")));
        });
        context.addMethod("ppv.1.tickets", "read", [this](const rpc::Request&) -> Var {
            Array::Ptr list = new Array;
            for (const auto& t : wallet_->tickets()) list->add(toJson(t));
            Object::Ptr j = new Object;
            j->set("tickets", list);
            return j;
        });
        context.addMethod("ppv.1.watch", "control", [this](const rpc::Request& r) -> Var { return watch(r.string("eventId")); });
        context.addMethod("ppv.1.pinStatus", "read", [this](const rpc::Request&) -> Var {
            const auto s = pin_->status(wallet_->now());
            Object::Ptr j = new Object;
            j->set("attemptsLeft", s.attemptsLeft);
            j->set("lockedUntil", s.lockedUntil);
            return j;
        });
        context.addMethod("ppv.1.setPin", "admin", [this](const rpc::Request& r) -> Var {
            pin_->change(r.string("oldPin"), r.string("newPin"), wallet_->now());
            return true;
        });
        context.addMethod("ppv.1.refresh", "control", [this](const rpc::Request&) -> Var { return refreshNow(); });
    }

    // The host gives plugins no way to call each other's JSON-RPC methods, so the
    // answer names the descrambler.1.play call for the event (uri, program) once the
    // wallet holds a valid ticket for it; "playing" is false until the UI made it.
    Var watch(const std::string& eventId)
    {
        const auto e = wallet_->event(eventId);
        if (!e) throw Error(ErrorCode::NotFound, "no event " + eventId + " in the catalog");
        const auto ticket = wallet_->ticketFor(eventId);
        if (!ticket) throw Error(ErrorCode::PermissionDenied, "no ticket for " + eventId + " in the wallet");
        if (ticket->state == "expired") throw Refusal(ErrorCode::Expired, "ticket-expired", "the ticket for " + eventId + " has expired");
        if (ticket->state == "used-up")
            throw Refusal(ErrorCode::LimitExceeded, "no-views-left", "the ticket for " + eventId + " has no views left");
        if (ticket->state == "dormant")
            throw Error(ErrorCode::PermissionDenied, "the ticket for " + eventId + " is dormant: buy the event first");
        if (ticket->state != "valid")
            throw Error(ErrorCode::PermissionDenied, "the ticket for " + eventId + " is " + ticket->state);
        Object::Ptr play = new Object;
        play->set("uri", e->playUri);
        if (e->program != 0) play->set("program", e->program);
        Object::Ptr j = new Object;
        j->set("eventId", eventId);
        j->set("playing", false);
        j->set("ticketId", ticket->ticketId);
        j->set("play", play);
        return j;
    }

    host::PluginContext* context_ = nullptr;
    std::optional<trust::TrustAnchor> root_;
    mutable std::mutex serversMutex_;
    trust::KnownServerCertificates servers_;   // guarded by serversMutex_
    std::string serverCertificateFile_;
    std::filesystem::file_time_type serverCertificateStamp_{};
    std::shared_ptr<trust::TrustedClock> clock_;
    std::string deviceId_;
    std::shared_ptr<trust::RevocationState> revocations_;
    std::string revocationsFile_;
    std::filesystem::file_time_type revocationsStamp_{};
    std::string rootRevocationsFile_;
    std::filesystem::file_time_type rootRevocationsStamp_{};
    std::shared_ptr<storage::Database> db_;
    std::shared_ptr<TicketWallet> wallet_;
    std::unique_ptr<PinGuard> pin_;
    std::unique_ptr<Purchases> purchases_;
    std::chrono::seconds refresh_{300};
    std::thread feeder_;
    std::mutex feedMutex_, refreshMutex_;
    std::condition_variable feedWake_;
    bool stopping_ = false;
    bool wakeRequested_ = false;
};

} // namespace boxoffice::plugins::ppv

namespace {
const char* const kNeeds[] = {"billing", nullptr};
const char* const kProvides[] = {"wallet", "key-service", nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::ppv::PpvPlugin,
                 (BoxOfficePluginManifest{"ppv", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "PPV catalog, purchase flow (PIN, phone approval) and ticket wallet"}))
