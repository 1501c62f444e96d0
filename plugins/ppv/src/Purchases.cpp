#include "Purchases.h"
#include "Refusal.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/trust/SealedApproval.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Stringifier.h>
#include <Poco/Logger.h>

#include <sstream>

namespace boxoffice::plugins::ppv {

using Poco::JSON::Object;
using storage::Transaction;

namespace {

Poco::Logger& logger() { return Poco::Logger::get("ppv.purchase"); }

Object::Ptr objectOf(const Poco::Dynamic::Var& v)
{
    if (v.type() == typeid(Object::Ptr)) return v.extract<Object::Ptr>();
    throw Error(ErrorCode::Malformed, "the server's answer is not a JSON object");
}

std::string textOf(const Object::Ptr& o, const std::string& key)
{
    return o && o->has(key) && !o->get(key).isEmpty() ? o->get(key).convert<std::string>() : std::string();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The server's refusal as the contract's reason keyword.
Refusal refusalFor(const sync::LinkResponse& r)
{
    Object::Ptr body;
    if (r.body.type() == typeid(Object::Ptr)) body = r.body.extract<Object::Ptr>();
    const auto keyword = textOf(body, "error");
    const auto message = r.error();
    const auto code = keyword.empty() ? ErrorCode::Unavailable : errorCodeFromString(keyword);
    if (r.status == 401 || contains(message, "not registered"))
        return Refusal(ErrorCode::PermissionDenied, "not-registered", "the box is not registered with the operator: " + message);
    if (contains(message, "insufficient funds") || code == ErrorCode::LimitExceeded)
        return Refusal(ErrorCode::LimitExceeded, "no-credit", message);
    if (contains(message, "blacked out")) return Refusal(ErrorCode::PermissionDenied, "blackout", message);
    if (code == ErrorCode::NotYetValid) return Refusal(code, "not-yet-on-sale", message);
    if (code == ErrorCode::Expired && contains(message, "sales")) return Refusal(code, "window-closed", message);
    return Refusal(code == ErrorCode::Internal ? ErrorCode::Unavailable : code, "server-refused", message);
}

std::string jsonText(const Object::Ptr& o)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(o, out);
    return out.str();
}

OrderInfo orderFrom(const storage::Row& r)
{
    OrderInfo o;
    o.orderId = r.text(0);
    o.eventId = r.text(1);
    o.amount = r.int64(2);
    o.currency = r.text(3);
    o.payee = r.text(4);
    o.transactionNumber = r.text(5);
    o.method = r.text(6);
    o.state = r.text(7);
    o.reason = r.text(8);
    o.ticketId = r.text(9);
    o.createdAt = r.int64(10);
    return o;
}

constexpr const char* kOrderColumns =
    "order_id, event_id, amount, currency, payee, transaction_number, method, state, reason, ticket_id, created_at";

} // namespace

bool OrderInfo::final() const
{
    return state == "approved" || state == "declined" || state == "not-me" || state == "expired" || state == "failed" ||
           state == "cancelled";
}

Object::Ptr toJson(const OrderInfo& o)
{
    Object::Ptr j = new Object;
    j->set("orderId", o.orderId);
    j->set("eventId", o.eventId);
    j->set("amount", o.amount);
    j->set("currency", o.currency);
    j->set("payee", o.payee);
    j->set("transactionNumber", o.transactionNumber);
    j->set("method", o.method);
    j->set("state", o.state);
    if (!o.reason.empty()) j->set("reason", o.reason);
    if (!o.ticketId.empty()) j->set("ticketId", o.ticketId);
    return j;
}

Purchases::Purchases(std::shared_ptr<storage::Database> db, TicketWallet& wallet, PinGuard& pin,
                     Finder<sync::ServerLink> link, Finder<bluetooth::PhoneChannel> phones,
                     Finder<billing::History> history, Options options)
    : db_(std::move(db)), wallet_(wallet), pin_(pin), link_(std::move(link)), phones_(std::move(phones)),
      history_(std::move(history)), options_(options)
{
}

Purchases::~Purchases() { stop(); }

void Purchases::onOrderChanged(std::function<void(const OrderInfo&)> handler) { changed_ = std::move(handler); }

void Purchases::stop()
{
    std::vector<std::thread> workers;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        workers.swap(workers_);
    }
    wake_.notify_all();
    for (auto& w : workers) w.join();
}

void Purchases::start(std::function<void()> work)
{
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    workers_.emplace_back([work = std::move(work)] {
        try {
            work();
        } catch (const std::exception& e) {
            logger().error("purchase worker: %s", std::string(e.what()));
        }
    });
}

bool Purchases::pause(std::chrono::milliseconds duration)
{
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, duration, [this] { return stopping_; });
}

Object::Ptr Purchases::callServer(const std::string& method, const std::string& path, const Poco::Dynamic::Var& body,
                                  const std::string& requestId)
{
    auto link = link_ ? link_() : nullptr;
    if (!link) throw Refusal(ErrorCode::Unavailable, "no-line", "the box has no line to the server (sync is not running)");
    sync::LinkResponse r;
    try {
        r = link->call(method, path, body, requestId);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::Unavailable) throw Refusal(ErrorCode::Unavailable, "no-line", e.what());
        throw;
    }
    if (r.status < 200 || r.status >= 300) throw refusalFor(r);
    return objectOf(r.body);
}

void Purchases::save(const OrderInfo& o)
{
    db_->write([&](Transaction& tx) {
        tx.execute(std::string("INSERT INTO ppv_order (") + kOrderColumns +
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET "
                       "transaction_number = excluded.transaction_number, payee = excluded.payee, "
                       "state = excluded.state, reason = excluded.reason, ticket_id = excluded.ticket_id",
                   {o.orderId, o.eventId, o.amount, o.currency, o.payee, o.transactionNumber, o.method, o.state, o.reason,
                    o.ticketId, o.createdAt});
    });
    logger().information("order %s: %s%s", o.orderId, o.state, o.reason.empty() ? std::string() : " (" + o.reason + ")");
    if (changed_) {
        try {
            changed_(o);
        } catch (const std::exception& e) {
            logger().warning("order %s: change not announced: %s", o.orderId, std::string(e.what()));
        }
    }
}

OrderInfo Purchases::order(const std::string& orderId) const
{
    auto row = db_->query(std::string("SELECT ") + kOrderColumns + " FROM ppv_order WHERE order_id = ?", {orderId}).single();
    if (!row) throw Error(ErrorCode::NotFound, "no order " + orderId);
    return orderFrom(*row);
}

OrderInfo Purchases::buy(const std::string& eventId, const std::string& pin, const std::string& method)
{
    if (method != "phone" && method != "otp")
        throw Error(ErrorCode::InvalidArgument, "method must be \"phone\" or \"otp\", not \"" + method + "\"");
    const auto event = wallet_.event(eventId);
    if (!event) throw Error(ErrorCode::NotFound, "no event " + eventId + " in the catalog");
    const auto now = wallet_.now();
    const auto state = wallet_.stateOf(*event, now);
    if (state == "owned") throw Refusal(ErrorCode::AlreadyExists, "already-owned", "a valid ticket for " + eventId + " is in the wallet");
    if (state == "blackout") throw Refusal(ErrorCode::PermissionDenied, "blackout", eventId + " is blacked out in this area");
    if (state == "not-yet-on-sale")
        throw Refusal(ErrorCode::NotYetValid, "not-yet-on-sale", "sales open at " + std::to_string(event->saleFrom));
    if (state == "window-closed")
        throw Refusal(ErrorCode::Expired, "window-closed", "sales closed at " + std::to_string(event->saleUntil));
    pin_.check(pin, now);

    // Flow 5: without a line, a dormant ticket delivered ahead is bought on credit.
    const auto link = link_ ? link_() : nullptr;
    if (!link || !link->online())
        if (auto bought = buyOnCredit(*event)) return *bought;
    // online() only reports the last call's outcome, so the order itself is the test of the line.
    if (!link) throw Refusal(ErrorCode::Unavailable, "no-line", "the box has no line to the server");
    std::string phoneId;
    if (method == "phone") {
        auto phones = phones_ ? phones_() : nullptr;
        const auto list = phones ? phones->phones() : std::vector<bluetooth::PhoneInfo>{};
        if (list.empty()) throw Refusal(ErrorCode::PermissionDenied, "phone-not-paired", "no phone is paired with this box");
        for (const auto& p : list)
            if (p.connected) phoneId = p.id;
        if (phoneId.empty())
            throw Refusal(ErrorCode::Unavailable, "phone-unreachable", "no paired phone is connected over Bluetooth");
    }

    OrderInfo o;
    o.orderId = "stb-" + toHex(crypto::randomBytes(12));
    o.eventId = eventId;
    o.amount = event->price;
    o.currency = event->currency;
    o.payee = event->payee;
    o.method = method;
    o.state = "ordering";
    o.createdAt = now;
    Object::Ptr request = new Object;
    request->set("orderId", o.orderId);
    request->set("eventId", eventId);
    request->set("amount", o.amount);
    request->set("currency", o.currency);
    if (method == "otp") request->set("method", method);
    Object::Ptr server;
    try {
        server = callServer("POST", "/v1/stb/orders", request, o.orderId);
    } catch (const Refusal& r) {
        // The line went down since its last call: the credit path still applies.
        if (r.reason() == "no-line")
            if (auto bought = buyOnCredit(*event)) return *bought;
        throw;
    }
    o.transactionNumber = textOf(server, "transactionNumber");
    if (const auto payee = textOf(server, "payee"); !payee.empty()) o.payee = payee;
    o.state = method == "otp" ? "awaiting-otp" : "awaiting-phone";
    save(o);
    if (method == "phone") start([this, o, phoneId, server] { askPhone(o, phoneId, server); });
    else start([this, o] { awaitTicket(o); });
    return o;
}

std::optional<OrderInfo> Purchases::buyOnCredit(const CatalogEvent& event)
{
    // One purchase per dormant ticket, even when two buys race.
    std::lock_guard once(completing_);
    const auto ticket = wallet_.dormantTicketFor(event.eventId);
    if (!ticket) return std::nullopt;
    auto history = history_ ? history_() : nullptr;
    if (!history) throw Error(ErrorCode::Unavailable, "no billing history service: cannot buy on credit");

    OrderInfo o;
    o.orderId = "stb-" + toHex(crypto::randomBytes(12));
    o.eventId = event.eventId;
    o.amount = event.price;
    o.currency = event.currency;
    o.payee = event.payee;
    o.method = "credit";
    o.ticketId = ticket->ticketId;
    o.createdAt = wallet_.now();
    billing::Entry entry;
    entry.kind = wire::HistoryKind::Purchase;
    entry.eventId = event.eventId;
    entry.ticketId = ticket->ticketId;
    entry.orderId = o.orderId;   // unknown to the server: it charges the record when settled
    entry.amount = event.price;
    entry.currency = event.currency;
    entry.deferred = true;
    billing::Record record;
    try {
        record = history->append(entry);   // the credit check; nothing stored when refused
    } catch (const Error& e) {
        if (e.code() == ErrorCode::LimitExceeded) throw Refusal(ErrorCode::LimitExceeded, "over-credit-limit", e.what());
        throw;
    }
    // A crash here leaves the record without the activation: reconcileCredit() at start.
    wallet_.activate(ticket->ticketId, record.record.sequence);
    o.state = "approved";
    save(o);
    return o;
}

void Purchases::reconcileCredit()
{
    auto history = history_ ? history_() : nullptr;
    if (!history) return;
    // Only unsettled records can belong to a purchase whose activation was lost: a
    // record is settled only after a handoff, which comes after the purchase returned.
    const auto from = history->status().settledThrough;
    for (std::size_t seen = 0;;) {
        const auto batch = history->records(from + seen, 500);
        if (batch.empty()) break;
        for (const auto& r : batch) {
            const auto& rec = r.record;
            if (rec.kind != wire::HistoryKind::Purchase || !r.deferred || rec.ticketId.empty()) continue;
            const auto dormant = wallet_.dormantTicketFor(rec.eventId);
            if (!dormant || dormant->ticketId != rec.ticketId) continue;
            try {
                wallet_.activate(rec.ticketId, rec.sequence);
                logger().warning("dormant ticket %s activated from billing record %s after a restart", rec.ticketId,
                                 std::to_string(rec.sequence));
            } catch (const Error& e) {
                logger().error("dormant ticket %s not activated: %s", rec.ticketId, std::string(e.what()));
            }
        }
        seen += batch.size();
    }
}

void Purchases::askPhone(OrderInfo o, std::string phoneId, Object::Ptr serverOrder)
{
    auto phones = phones_ ? phones_() : nullptr;
    if (!phones) return end(o, "failed", "phone-unreachable");
    bluetooth::SettlementRequestBody request;
    request.transactionId = o.transactionNumber;
    request.amountMinor = static_cast<std::uint64_t>(o.amount);
    request.currency = o.currency;
    request.payee = o.payee;
    const auto event = wallet_.event(o.eventId);
    request.title = event ? event->title : o.eventId;
    const auto text = jsonText(serverOrder);   // what the phone signs its approval over
    request.order.assign(text.begin(), text.end());
    try {
        const auto reply = phones->request(phoneId, {bluetooth::MessageType::SettlementRequest, 0, 0, request.encode()},
                                           options_.phoneTimeout);
        if (reply.type == bluetooth::MessageType::Approval) {
            const auto approval = bluetooth::ApprovalBody::decode(reply.body);
            if (approval.relay) {
                // The phone has no line: its signed decision, sealed to the server, goes there through us.
                if (trust::peekSealedApproval(approval.approval).transactionNumber != o.transactionNumber)
                    throw Error(ErrorCode::Conflict, "the phone relayed an approval for another transaction");
                Object::Ptr body = new Object;
                body->set("sealedApproval", wire::toBase64Url(approval.approval));
                const auto answer = callServer("POST", "/v1/stb/approvals", body, o.orderId);
                const bool applied = apply(o, answer);
                // The receipt to the phone, and its signed acknowledgement back to the server
                // (it closes the purchase there); neither changes the order on this box.
                // The server's certificate goes along: the phone may know only an earlier server key.
                if (const auto receipt = textOf(answer, "receipt"); !receipt.empty()) {
                    try {
                        bluetooth::ReceiptBody relay{o.transactionNumber, wire::fromBase64Url(receipt, "receipt"), {}};
                        if (const auto certificate = textOf(answer, "serverCertificate"); !certificate.empty()) {
                            try {
                                relay.serverCertificate = wire::fromBase64Url(certificate, "serverCertificate");
                            } catch (const Error& e) {
                                logger().warning("order %s: receipt relayed without the server certificate: %s",
                                                 o.orderId, std::string(e.what()));
                            }
                        }
                        const auto ack = phones->request(phoneId, {bluetooth::MessageType::Receipt, 0, 0, relay.encode()},
                                                         options_.phoneTimeout);
                        if (ack.type == bluetooth::MessageType::Acknowledgement) {
                            Object::Ptr relayed = new Object;
                            relayed->set("acknowledgement",
                                         wire::toBase64Url(bluetooth::AcknowledgementBody::decode(ack.body).acknowledgement));
                            callServer("POST", "/v1/stb/acknowledgements", relayed, o.orderId);
                        }
                    } catch (const std::exception& e) {
                        logger().warning("order %s: receipt or its acknowledgement not relayed: %s", o.orderId,
                                         std::string(e.what()));
                    }
                }
                if (applied) return;
            }
        } else if (reply.type == bluetooth::MessageType::Result) {
            const auto result = bluetooth::ResultBody::decode(reply.body);
            if (!result.ok) return end(o, "declined", result.text.empty() ? "declined on the phone" : result.text);
        }
    } catch (const Refusal& r) {
        return end(o, "failed", r.what());
    } catch (const Error& e) {
        if (e.code() != ErrorCode::Unavailable) return end(o, "failed", e.what());
        // No answer over Bluetooth: the phone may still approve over its own line.
        logger().warning("order %s: phone did not answer: %s", o.orderId, std::string(e.what()));
        o.reason = "phone-unreachable";
    }
    awaitTicket(o);
}

void Purchases::awaitTicket(OrderInfo o)
{
    const auto until = std::chrono::steady_clock::now() + options_.pollTimeout;
    while (std::chrono::steady_clock::now() < until) {
        try {
            if (order(o.orderId).state == "cancelled") return;
            if (apply(o, callServer("GET", "/v1/stb/orders/" + o.orderId, {}, o.orderId))) return;
        } catch (const Refusal& r) {
            if (r.reason() != "no-line") return end(o, "failed", r.what());
        }
        if (!pause(options_.pollInterval)) return;
    }
    end(o, "failed", o.reason.empty() ? "no approval arrived in time" : o.reason);
}

bool Purchases::apply(OrderInfo& o, const Object::Ptr& server)
{
    const auto state = textOf(server, "state");
    const auto ticket = textOf(server, "ticket");
    if (!ticket.empty() && (state == "approved" || state == "closed")) {
        complete(o, ticket);
        return true;
    }
    if (state == "declined") return end(o, "declined", "declined on the phone"), true;
    if (state == "not-me") return end(o, "not-me", "the phone's owner did not order this"), true;
    if (state == "expired") return end(o, "expired", "the transaction expired before it was approved"), true;
    if (state == "failed" || state == "refunded") return end(o, "failed", "server-refused: order " + state), true;
    return false;
}

void Purchases::complete(OrderInfo& o, const std::string& ticket)
{
    std::lock_guard once(completing_);
    if (const auto stored = order(o.orderId); stored.state == "approved") {
        o = stored;
        return;
    }
    std::string ticketId;
    try {
        ticketId = wallet_.addTicket(wire::fromBase64Url(ticket, "ticket"));
    } catch (const Error& e) {
        return end(o, "failed", std::string("the ticket was refused: ") + e.what());
    }
    o.ticketId = ticketId;
    // Recorded before the order shows as approved (the TV reads the history on that news);
    // approved even when the history refuses: the server charged it.
    const bool recorded = recordPurchase(o);
    o.state = "approved";
    o.reason.clear();
    save(o);
    if (recorded) recordUnrecorded();
}

void Purchases::markUnrecorded(const std::string& orderId, bool unrecorded)
{
    db_->write([&](Transaction& tx) {
        tx.execute("UPDATE ppv_order SET unrecorded = ? WHERE order_id = ?", {unrecorded ? 1 : 0, orderId});
    });
}

bool Purchases::recordPurchase(const OrderInfo& o)
{
    // Marked while the append is under way, for recordUnrecorded() after an error or a
    // crash. Looked up first: an earlier attempt's append may have committed before a crash
    // (also one between clearing the mark and saving the order as approved).
    const auto row = db_->query("SELECT unrecorded FROM ppv_order WHERE order_id = ?", {o.orderId}).single();
    const bool triedBefore = row && row->int64(0) != 0;
    if (!triedBefore) markUnrecorded(o.orderId, true);
    std::string problem = "no billing history service";
    if (auto history = history_ ? history_() : nullptr) {
        try {
            bool present = false;
            for (const auto& r : history->ofTicket(o.ticketId, wire::HistoryKind::Purchase))
                present |= r.record.orderId == o.orderId;
            if (!present) {
                billing::Entry entry;
                entry.kind = wire::HistoryKind::Purchase;
                entry.eventId = o.eventId;
                entry.ticketId = o.ticketId;
                entry.orderId = o.orderId;
                entry.amount = o.amount;
                entry.currency = o.currency;
                history->append(entry);
            }
            markUnrecorded(o.orderId, false);
            if (triedBefore) logger().warning("order %s: purchase recorded in the billing history after an earlier failure", o.orderId);
            return true;
        } catch (const std::exception& e) {
            problem = e.what();
        }
    }
    logger().error("order %s: purchase not recorded in the billing history (tried again later): %s", o.orderId,
                   problem);
    return false;
}

void Purchases::recordUnrecorded()
{
    std::vector<OrderInfo> marked;
    for (const auto& r : db_->query(std::string("SELECT ") + kOrderColumns +
                                    " FROM ppv_order WHERE unrecorded = 1 AND state = 'approved' ORDER BY created_at"))
        marked.push_back(orderFrom(r));
    for (const auto& o : marked)
        if (!recordPurchase(o)) return;   // still refused: the rest waits too
}

void Purchases::end(OrderInfo& o, const std::string& state, const std::string& reason)
{
    if (order(o.orderId).state == "cancelled") return;
    o.state = state;
    o.reason = reason;
    save(o);
}

OrderInfo Purchases::enterOtp(const std::string& orderId, const std::string& otp)
{
    auto o = order(orderId);
    if (o.state != "awaiting-otp") throw Error(ErrorCode::Conflict, "order " + orderId + " is " + o.state + ", not awaiting an OTP");
    Object::Ptr body = new Object;
    body->set("otp", otp);
    // The link retries a request whose connection dropped: one id per typed entry keeps
    // the server from counting a wrong one twice.
    body->set("attemptId", "otp-" + toHex(crypto::randomBytes(12)));
    const auto answer = callServer("POST", "/v1/stb/orders/" + orderId + "/otp", body, orderId);
    apply(o, answer);
    return order(orderId);
}

OrderInfo Purchases::cancel(const std::string& orderId)
{
    auto o = order(orderId);
    if (o.final()) throw Error(ErrorCode::Conflict, "order " + orderId + " is already " + o.state);
    // The server's pending transfer expires on its own; a ticket that still arrives is kept.
    o.state = "cancelled";
    o.reason = "cancelled on the TV";
    save(o);
    return o;
}

void Purchases::resume()
{
    try {
        reconcileCredit();
    } catch (const std::exception& e) {
        logger().error("purchases on credit not reconciled: %s", std::string(e.what()));
    }
    try {
        std::lock_guard once(completing_);
        recordUnrecorded();
    } catch (const std::exception& e) {
        logger().error("unrecorded purchases not recorded: %s", std::string(e.what()));
    }
    std::vector<OrderInfo> waiting;
    for (const auto& r : db_->query(std::string("SELECT ") + kOrderColumns +
                                    " FROM ppv_order WHERE state IN ('ordering', 'awaiting-phone', 'awaiting-otp')"))
        waiting.push_back(orderFrom(r));
    for (const auto& o : waiting) start([this, o] { awaitTicket(o); });
}

} // namespace boxoffice::plugins::ppv
