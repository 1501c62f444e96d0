// A STAND-IN for plugins/ppv, for the TV UI tests only: a host plugin named
// `ppv` that answers the ppv JSON-RPC contract (plugins/ppv/README.md) with
// canned data, so the UI is driven without the operator server, the sync line
// and a phone approving on the other side (the real plugin's own tests and the
// end-to-end tests cover those). It is never installed. Unlike the real plugin,
// ppv.1.watch answers "playing": true itself (the real one answers the player's
// parameters, and the UI then calls descrambler.1.play). What it does for real: it appends the
// purchase to the real billing plugin's history (billing::History service), so
// the TV's history screen shows a signed record.
//
// Canned catalog (times relative to the plugin's start):
//   ev-final    on sale, a rental      buy works (phone: awaiting-phone; otp: awaiting-otp);
//               (48 h, 2 views)
//   ev-concert  on sale                buy refused: no-credit
//   ev-fight    on sale                buy with method phone refused: phone-not-paired
//   ev-classic  window-closed          buy refused: window-closed
//   ev-premiere not-yet-on-sale
//   ev-owned    owned (valid ticket)   watch works
//   ev-lastweek (expired ticket only)  watch refused: ticket-expired
// PIN 1234, three attempts, then pin-locked for 300 s. OTP 123456.
// Refusals as the real plugin gives them: an Error whose message starts with the
// refusal keyword and ": " (core/rpc has no error.data.reason yet; the UI reads either).
// Test hooks (scope admin): ppv.1.standInResolve {orderId, state} moves an order
// the way the phone/server would and emits ppv.1.orderChanged;
// ppv.1.standInSettle {keys} settles the whole history the way a phone bringing
// back the server's result would: a SettlementResult signed with the server key of
// the `boxoffice-keytool dev` directory `keys`, applied by the real billing plugin.

#include <boxoffice/base/Error.h>
#include <boxoffice/billing/History.h>
#include <boxoffice/host/Plugin.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/SettlementResult.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace boxoffice::tests::ui {

namespace {

using Var = Poco::Dynamic::Var;
using Object = Poco::JSON::Object;

std::int64_t unixNow()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Event {
    std::string id, title;
    std::int64_t price;
    std::int64_t saleFrom, saleUntil, startsAt, endsAt;
    std::string state;
    std::int64_t views = 0, playbackWindow = 0;   // what a ticket allows; 0: unlimited / no rental
};

struct Order {
    std::string orderId, eventId, transactionNumber, method, state, reason, ticketId;
    std::int64_t amount = 0;
};

struct Ticket {
    std::string ticketId, eventId, title;
    std::int64_t notBefore, notAfter;
    std::string state;
};

[[noreturn]] void refuse(ErrorCode code, const std::string& reason, const std::string& sentence)
{
    throw Error(code, reason + ": " + sentence);
}

} // namespace

class StandInPpvPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        context_ = &context;
        const auto t = unixNow();
        const std::int64_t h = 3600;
        events_ = {
            {"ev-final", "Cup Final", 1299, t - h, t + 2 * h, t + 2 * h, t + 4 * h, "on-sale", 2, 48 * h},
            {"ev-concert", "Live Concert", 899, t - h, t + 3 * h, t + 3 * h, t + 5 * h, "on-sale"},
            {"ev-fight", "Title Fight", 2499, t - h, t + 5 * h, t + 5 * h, t + 6 * h, "on-sale"},
            {"ev-classic", "Classic Movie Night", 499, t - 5 * h, t - h, t - h, t + h, "window-closed"},
            {"ev-premiere", "Premiere", 1599, t + 24 * h, t + 48 * h, t + 48 * h, t + 50 * h, "not-yet-on-sale"},
            {"ev-owned", "Jazz Evening", 699, t - 5 * h, t + h, t - h, t + h, "owned"},
        };
        tickets_ = {
            {"tk-owned", "ev-owned", "Jazz Evening", t - 2 * h, t + 2 * h, "valid"},
            {"tk-lastweek", "ev-lastweek", "Last Week's Match", t - 170 * h, t - 168 * h, "expired"},
        };
        for (const char* e : {"ppv.1.orderChanged", "ppv.1.ticketAdded", "ppv.1.catalogChanged"}) context.addEvent(e, "read");
        addMethods(context);
        return {};
    }

    void deinitialize() override {}

private:
    void addMethods(host::PluginContext& c)
    {
        c.addMethod("ppv.1.catalog", "read", [this](const rpc::Request&) -> Var {
            std::lock_guard lock(mutex_);
            Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
            for (const auto& e : events_) list->add(toJson(e));
            Poco::JSON::Object::Ptr o = new Object;
            o->set("now", unixNow());
            o->set("events", list);
            return o;
        });
        c.addMethod("ppv.1.event", "read", [this](const rpc::Request& r) -> Var {
            std::lock_guard lock(mutex_);
            return toJson(event(r.string("eventId")));
        });
        c.addMethod("ppv.1.pinStatus", "read", [this](const rpc::Request&) -> Var {
            std::lock_guard lock(mutex_);
            return pinStatus();
        });
        c.addMethod("ppv.1.buy", "control", [this](const rpc::Request& r) -> Var { return buy(r); });
        c.addMethod("ppv.1.order", "read", [this](const rpc::Request& r) -> Var {
            std::lock_guard lock(mutex_);
            return toJson(order(r.string("orderId")));
        });
        c.addMethod("ppv.1.enterOtp", "control", [this](const rpc::Request& r) -> Var {
            Order o;
            {
                std::lock_guard lock(mutex_);
                o = order(r.string("orderId"));
                if (o.state != "awaiting-otp") throw Error(ErrorCode::Conflict, "the order does not wait for a one-time password");
                if (r.string("otp") != "123456") throw Error(ErrorCode::PermissionDenied, "the one-time password is wrong");
            }
            return resolve(o.orderId, "approved");
        });
        c.addMethod("ppv.1.cancel", "control", [this](const rpc::Request& r) -> Var { return resolve(r.string("orderId"), "cancelled"); });
        c.addMethod("ppv.1.tickets", "read", [this](const rpc::Request&) -> Var {
            std::lock_guard lock(mutex_);
            Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
            for (const auto& t : tickets_) list->add(toJson(t));
            Poco::JSON::Object::Ptr o = new Object;
            o->set("tickets", list);
            return o;
        });
        c.addMethod("ppv.1.watch", "control", [this](const rpc::Request& r) -> Var {
            std::lock_guard lock(mutex_);
            const auto id = r.string("eventId");
            bool expired = false;
            for (const auto& t : tickets_) {
                if (t.eventId != id) continue;
                if (t.state == "valid") {
                    Poco::JSON::Object::Ptr o = new Object;
                    o->set("eventId", id);
                    o->set("playing", true);
                    return o;
                }
                expired = expired || t.state == "expired";
            }
            if (expired) refuse(ErrorCode::Expired, "ticket-expired", "the ticket for " + id + " has expired");
            throw Error(ErrorCode::PermissionDenied, "no ticket covers " + id);
        });
        c.addMethod("ppv.1.standInResolve", "admin",
                    [this](const rpc::Request& r) -> Var { return resolve(r.string("orderId"), r.string("state")); });
        c.addMethod("ppv.1.standInSettle", "admin", [this](const rpc::Request& r) -> Var { return settle(r.string("keys")); });
    }

    Var buy(const rpc::Request& r)
    {
        const auto eventId = r.string("eventId");
        const auto pin = r.string("pin");
        const auto method = r.optionalString("method").value_or("phone");
        if (method != "phone" && method != "otp") throw Error(ErrorCode::InvalidArgument, "method must be phone or otp");
        Poco::JSON::Object::Ptr result;
        {
            std::lock_guard lock(mutex_);
            const auto now = unixNow();
            if (lockedUntil_ > now) refuse(ErrorCode::LimitExceeded, "pin-locked", "too many wrong PINs");
            if (pin != "1234") {
                if (--attemptsLeft_ <= 0) {
                    lockedUntil_ = now + 300;
                    attemptsLeft_ = 0;
                    refuse(ErrorCode::LimitExceeded, "pin-locked", "too many wrong PINs");
                }
                refuse(ErrorCode::PermissionDenied, "pin-wrong", std::to_string(attemptsLeft_) + " attempts left");
            }
            attemptsLeft_ = 3;
            const auto& e = event(eventId);
            if (e.state == "window-closed") refuse(ErrorCode::Expired, "window-closed", "the purchase window has closed");
            if (e.state == "not-yet-on-sale") refuse(ErrorCode::NotYetValid, "not-yet-on-sale", "not on sale yet");
            if (e.state == "owned") refuse(ErrorCode::AlreadyExists, "already-owned", "a ticket is in the wallet");
            if (e.id == "ev-concert") refuse(ErrorCode::LimitExceeded, "no-credit", "the credit limit is reached");
            if (e.id == "ev-fight" && method == "phone") refuse(ErrorCode::Unavailable, "phone-not-paired", "no paired phone");
            Order o;
            o.orderId = "ord-" + std::to_string(nextOrder_++);
            o.eventId = eventId;
            o.method = method;
            o.amount = e.price;
            o.transactionNumber = std::to_string(482913 + 1111 * nextOrder_);
            o.state = method == "otp" ? "awaiting-otp" : "awaiting-phone";
            orders_[o.orderId] = o;
            result = toJson(o);
        }
        return result;
    }

    // Moves an order to `state` (approved: ticket + billing record) and tells the TV.
    Var resolve(const std::string& orderId, const std::string& state)
    {
        static const char* const known[] = {"ordering", "awaiting-phone", "awaiting-otp", "approved", "declined",
                                            "not-me", "expired", "failed", "cancelled"};
        if (std::find(std::begin(known), std::end(known), state) == std::end(known))
            throw Error(ErrorCode::InvalidArgument, "unknown order state '" + state + "'");
        Order o;
        Poco::JSON::Object::Ptr ticket;
        {
            std::lock_guard lock(mutex_);
            auto& stored = order(orderId);
            if (stored.state == "approved" || stored.state == "cancelled")
                throw Error(ErrorCode::Conflict, "order " + orderId + " is already " + stored.state);
            stored.state = state;
            if (state == "approved") {
                stored.ticketId = "tk-" + orderId;
                auto& e = event(stored.eventId);
                e.state = "owned";
                tickets_.push_back({stored.ticketId, e.id, e.title, e.startsAt, e.endsAt, "valid"});
                ticket = toJson(tickets_.back());
            }
            o = stored;
        }
        if (state == "approved") {
            if (auto history = context_->services().find<billing::History>()) {
                billing::Entry entry;
                entry.kind = wire::HistoryKind::Purchase;
                entry.eventId = o.eventId;
                entry.ticketId = o.ticketId;
                entry.orderId = o.orderId;
                entry.amount = o.amount;
                history->append(entry);
            }
            context_->emit("ppv.1.ticketAdded", ticket);
        }
        auto json = toJson(o);
        context_->emit("ppv.1.orderChanged", json);
        return json;
    }

    Var settle(const std::filesystem::path& keys)
    {
        auto history = context_->services().find<billing::History>();
        if (!history) throw Error(ErrorCode::Unavailable, "no billing history");
        const auto last = history->recent(1);
        if (last.empty()) throw Error(ErrorCode::NotFound, "nothing to settle");
        wire::SettlementResult result;
        result.settlementId = "settlement-" + std::to_string(last.front().record.sequence);
        result.deviceId = last.front().record.deviceId;
        result.settledThrough = last.front().record.sequence;
        result.lastRecordHash = last.front().hash;
        result.recordCount = static_cast<std::uint32_t>(last.front().record.sequence);
        result.settledAt = unixNow();
        const auto server = trust::loadServerSigner(keys / "server");
        trust::sign(result, server.key);
        const auto applied = history->applySettlement(result.encode(), server.certificate.encode());
        Poco::JSON::Object::Ptr o = new Object;
        o->set("settledThrough", static_cast<Poco::UInt64>(applied.settledThrough));
        return o;
    }

    Event& event(const std::string& id)
    {
        for (auto& e : events_)
            if (e.id == id) return e;
        throw Error(ErrorCode::NotFound, "no event '" + id + "'");
    }

    Order& order(const std::string& id)
    {
        const auto found = orders_.find(id);
        if (found == orders_.end()) throw Error(ErrorCode::NotFound, "no order '" + id + "'");
        return found->second;
    }

    Poco::JSON::Object::Ptr pinStatus() const
    {
        Poco::JSON::Object::Ptr o = new Object;
        o->set("attemptsLeft", attemptsLeft_);
        o->set("lockedUntil", lockedUntil_ > unixNow() ? lockedUntil_ : 0);
        return o;
    }

    static Poco::JSON::Object::Ptr toJson(const Event& e)
    {
        Poco::JSON::Object::Ptr o = new Object;
        o->set("eventId", e.id);
        o->set("title", e.title);
        o->set("price", e.price);
        o->set("currency", "EUR");
        o->set("payee", "BoxOffice Sports");
        o->set("saleFrom", e.saleFrom);
        o->set("saleUntil", e.saleUntil);
        o->set("startsAt", e.startsAt);
        o->set("endsAt", e.endsAt);
        o->set("previewSeconds", 0);
        o->set("blackout", false);
        if (e.views) o->set("views", e.views);
        if (e.playbackWindow) o->set("playbackWindowSeconds", e.playbackWindow);
        o->set("state", e.state);
        return o;
    }

    static Poco::JSON::Object::Ptr toJson(const Order& order)
    {
        Poco::JSON::Object::Ptr o = new Object;
        o->set("orderId", order.orderId);
        o->set("eventId", order.eventId);
        o->set("amount", order.amount);
        o->set("currency", "EUR");
        o->set("payee", "BoxOffice Sports");
        o->set("transactionNumber", order.transactionNumber);
        o->set("method", order.method);
        o->set("state", order.state);
        if (!order.reason.empty()) o->set("reason", order.reason);
        if (!order.ticketId.empty()) o->set("ticketId", order.ticketId);
        return o;
    }

    static Poco::JSON::Object::Ptr toJson(const Ticket& t)
    {
        Poco::JSON::Object::Ptr o = new Object;
        o->set("ticketId", t.ticketId);
        o->set("eventId", t.eventId);
        o->set("title", t.title);
        o->set("notBefore", t.notBefore);
        o->set("notAfter", t.notAfter);
        o->set("state", t.state);
        return o;
    }

    host::PluginContext* context_ = nullptr;
    std::mutex mutex_;
    std::vector<Event> events_;
    std::vector<Ticket> tickets_;
    std::map<std::string, Order> orders_;
    int nextOrder_ = 1;
    int attemptsLeft_ = 3;
    std::int64_t lockedUntil_ = 0;
};

} // namespace boxoffice::tests::ui

namespace {
const char* const kNeeds[] = {"billing", nullptr};
const char* const kProvides[] = {nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::tests::ui::StandInPpvPlugin,
                 (BoxOfficePluginManifest{"ppv", "0.0.1", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides, "TEST STAND-IN for plugins/ppv (canned data)"}))
