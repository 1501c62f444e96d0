#include <boxoffice/settlement/Routes.h>

#include <boxoffice/settlement/Deliveries.h>
#include <boxoffice/settlement/Gifts.h>
#include <boxoffice/settlement/Otp.h>
#include <boxoffice/settlement/Refunds.h>

#include <boxoffice/ledger/Invariants.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/TrustedTime.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

namespace boxoffice::settlement {
namespace {

using serverapi::Auth;
using serverapi::Request;
using serverapi::Response;
using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr orderJson(const OrderView& o)
{
    Object::Ptr j = new Object;
    j->set("orderId", o.orderId);
    j->set("deviceId", o.deviceId);
    j->set("accountId", o.accountId);
    j->set("eventId", o.eventId);
    j->set("payee", o.payee);
    j->set("amount", o.amount);
    j->set("currency", o.currency);
    j->set("transactionNumber", o.transactionNumber);
    j->set("state", std::string(toString(o.state)));
    j->set("createdAt", o.createdAt);
    j->set("expiresAt", o.expiresAt);
    if (o.ticket) j->set("ticket", wire::toBase64Url(o.ticket->encode()));
    if (o.receipt) j->set("receipt", wire::toBase64Url(o.receipt->encode()));
    j->set("method", std::string(o.otp ? "otp" : "phone"));
    if (o.otp) {
        Object::Ptr otp = new Object;
        otp->set("attemptsLeft", o.otp->attemptsLeft);
        otp->set("expiresAt", o.otp->expiresAt);
        otp->set("entered", o.otp->entered);
        otp->set("acknowledged", o.otp->acknowledged);
        j->set("otp", otp);
    }
    return j;
}

Object::Ptr giftJson(const GiftView& g)
{
    Object::Ptr j = new Object;
    j->set("giftId", g.request.giftId);
    j->set("eventId", g.request.eventId);
    j->set("buyerAccountId", g.buyerAccountId);
    j->set("recipientAccountId", g.recipientAccountId);
    j->set("recipientDeviceId", g.recipientDeviceId);
    j->set("payee", g.payee);
    j->set("amount", g.request.amount);
    j->set("currency", g.request.currency);
    j->set("deliverAt", g.deliverAt);
    j->set("createdAt", g.createdAt);
    j->set("delivered", g.delivered);
    if (!g.request.message.empty()) j->set("message", g.request.message);
    j->set("voucher", wire::toBase64Url(g.voucher.encode()));
    j->set("receipt", wire::toBase64Url(g.receipt.encode()));
    return j;
}

// A JSON array of strings, each at most `maxLength`; Error(InvalidArgument) naming the field otherwise.
std::vector<std::string> requireStrings(const Object& o, const std::string& field, std::size_t maxCount,
                                        std::size_t maxLength)
{
    if (!o.has(field)) throw Error(ErrorCode::InvalidArgument, "missing field '" + field + "'");
    const auto list = o.getArray(field);
    if (!list) throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be an array of strings");
    if (list->size() > maxCount)
        throw Error(ErrorCode::InvalidArgument, "field '" + field + "' has more than " + std::to_string(maxCount) +
                                                    " entries");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto v = list->get(static_cast<unsigned>(i));
        if (!v.isString() || v.extract<std::string>().size() > maxLength)
            throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be an array of strings of at most " +
                                                        std::to_string(maxLength) + " characters");
        out.push_back(v.extract<std::string>());
    }
    return out;
}

Object::Ptr accountJson(const ledger::Account& a)
{
    Object::Ptr j = new Object;
    j->set("accountId", a.spec.id);
    j->set("kind", std::string(ledger::toString(a.spec.kind)));
    j->set("currency", a.spec.currency);
    if (a.spec.floor) j->set("floor", *a.spec.floor);
    j->set("balance", a.balance());
    j->set("available", a.available());
    j->set("inhibited", a.inhibited);
    return j;
}

Object::Ptr eventJson(const Event& e)
{
    Object::Ptr j = new Object;
    j->set("eventId", e.eventId);
    j->set("title", e.title);
    j->set("payee", e.payee);
    j->set("price", e.price);
    j->set("currency", e.currency);
    j->set("saleFrom", e.saleFrom);
    j->set("saleUntil", e.saleUntil);
    j->set("startsAt", e.startsAt);
    j->set("endsAt", e.endsAt);
    j->set("previewSeconds", e.previewSeconds);
    j->set("blackout", e.blackout);
    j->set("eventKeyId", e.eventKeyId);
    return j;
}

template <class T>
T decodeField(const Object& body, const std::string& field)
{
    return T::decode(wire::fromBase64Url(serverapi::requireString(body, field, 16384), field));
}

bool requireBool(const Object& o, const std::string& field)
{
    if (!o.has(field)) return false;
    const auto v = o.get(field);
    if (!v.isBoolean()) throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be true or false");
    return v.extract<bool>();
}

} // namespace

void addRoutes(serverapi::Router& router, Settlement& s, const trust::Credentials& serverSigner,
               const std::string& owner)
{
    auto add = [&](const std::string& method, const std::string& pattern, Auth auth, serverapi::Handler handler,
                   const std::string& summary) {
        router.add({method, pattern, auth, std::move(handler), owner, summary});
    };

    // --- operator ---
    add("POST", "/v1/operator/accounts", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"accountId", "kind", "currency", "floor"});
        ledger::AccountSpec spec{serverapi::requireString(*b, "accountId", 80),
                                 ledger::accountKindFromString(serverapi::requireString(*b, "kind", 20)),
                                 serverapi::requireString(*b, "currency", 3), std::nullopt};
        if (b->has("floor")) spec.floor = serverapi::requireInt(*b, "floor");
        return Response{201, accountJson(s.ledger().open(spec))};
    }, "open an account (idempotent by accountId)");
    add("GET", "/v1/operator/accounts/{accountId}", Auth::Operator, [&s](const Request& r) {
        return Response{200, accountJson(s.ledger().account(r.param("accountId")))};
    }, "an account's balances");
    add("POST", "/v1/operator/deposits", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"transferId", "accountId", "amount", "currency"});
        const auto currency = serverapi::requireString(*b, "currency", 3);
        ledger::checkCurrency(currency);
        const auto funding = "funding-" + currency;
        s.ledger().open({funding, ledger::AccountKind::Funding, currency, std::nullopt});
        auto t = s.ledger().create({serverapi::requireString(*b, "transferId", 80), funding,
                                    serverapi::requireString(*b, "accountId", 80), serverapi::requireInt(*b, "amount"),
                                    currency, 0, "deposit"});
        Object::Ptr j = new Object;
        j->set("transferId", t.request.id);
        j->set("state", std::string(ledger::toString(t.state)));
        return Response{201, j};
    }, "credit a wallet (idempotent by transferId)");
    add("POST", "/v1/operator/accounts/{accountId}/clear", Auth::Operator, [&s](const Request& r) {
        s.clearAccount(r.param("accountId"));
        return Response{200, accountJson(s.ledger().account(r.param("accountId")))};
    }, "clear a 'not me' inhibition");
    add("POST", "/v1/operator/devices", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"certificate", "accountId"});
        const auto cert = decodeField<wire::Certificate>(*b, "certificate");
        s.registerDevice(cert, serverapi::requireString(*b, "accountId", 80));
        Object::Ptr j = new Object;
        j->set("deviceId", cert.subject);
        return Response{201, j};
    }, "bind an STB (root-issued device certificate) to an account");
    add("POST", "/v1/operator/refunds", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"refundId", "orderId", "reason"});
        const auto f = s.refunds().refund(serverapi::requireString(*b, "refundId", 80),
                                          serverapi::requireString(*b, "orderId", 48),
                                          serverapi::optionalString(*b, "reason", 200));
        Object::Ptr j = new Object;
        j->set("refundId", f.refundId);
        j->set("orderId", f.orderId);
        j->set("transferId", f.transferId);
        j->set("revokedTicketId", f.ticketId);
        j->set("amount", f.amount);
        j->set("currency", f.currency);
        j->set("reason", f.reason);
        j->set("refundedAt", f.refundedAt);
        return Response{201, j};
    }, "refund a posted order: reversing transfer, ticket revoked (idempotent by refundId)");
    add("POST", "/v1/operator/devices/{deviceId}/unblock", Auth::Operator, [&s](const Request& r) {
        s.unblockDevice(r.param("deviceId"));
        return Response{200, {}};
    }, "unblock an STB after a 'not me' report");
    add("POST", "/v1/operator/phones", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"certificate", "accountId"});
        const auto cert = decodeField<wire::Certificate>(*b, "certificate");
        s.registerPhone(cert, serverapi::requireString(*b, "accountId", 80));
        Object::Ptr j = new Object;
        j->set("phoneId", cert.subject);
        return Response{201, j};
    }, "register a phone's P-256 key (root-issued phone certificate) for an account");
    add("PUT", "/v1/operator/events/{eventId}", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"title", "payee", "price", "currency", "saleFrom", "saleUntil", "startsAt", "endsAt",
                                  "previewSeconds", "blackout", "eventKeyId"});
        Event e;
        e.eventId = r.param("eventId");
        e.title = serverapi::requireString(*b, "title", 200);
        e.payee = serverapi::requireString(*b, "payee", 80);
        e.price = serverapi::requireInt(*b, "price");
        e.currency = serverapi::requireString(*b, "currency", 3);
        e.saleFrom = serverapi::requireInt(*b, "saleFrom");
        e.saleUntil = serverapi::requireInt(*b, "saleUntil");
        e.startsAt = serverapi::requireInt(*b, "startsAt");
        e.endsAt = serverapi::requireInt(*b, "endsAt");
        e.previewSeconds = b->has("previewSeconds") ? serverapi::requireInt(*b, "previewSeconds") : 0;
        e.blackout = requireBool(*b, "blackout");
        e.eventKeyId = serverapi::requireString(*b, "eventKeyId", 64);
        s.putEvent(e);
        return Response{200, eventJson(e)};
    }, "create or update a PPV event");
    add("GET", "/v1/operator/invariants", Auth::Operator, [&s](const Request&) {
        auto& db = s.ledger().database();
        auto bad = ledger::checkInvariants(db);
        auto more = db.read([](storage::Transaction& tx) { return Settlement::checkInvariants(tx); });
        bad.insert(bad.end(), more.begin(), more.end());
        Array::Ptr list = new Array;
        for (const auto& v : bad) list->add(v);
        Object::Ptr j = new Object;
        j->set("violations", list);
        return Response{200, j};
    }, "check the ledger and settlement invariants");

    // --- registration (device-code flow) ---
    auto registrationJson = [](const Settlement::Registration& g) {
        Object::Ptr j = new Object;
        j->set("code", g.code);
        j->set("deviceId", g.deviceId);
        j->set("state", g.state);
        if (!g.accountId.empty()) j->set("accountId", g.accountId);
        j->set("expiresAt", g.expiresAt);
        return j;
    };
    add("POST", "/v1/stb/registrations", Auth::NewDevice, [&s, registrationJson](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"certificate"});
        return Response{201, registrationJson(s.startRegistration(r.caller.id, decodeField<wire::Certificate>(*b, "certificate")))};
    }, "start registration: a short code to show on the TV");
    add("GET", "/v1/stb/registrations/{code}", Auth::NewDevice, [&s, registrationJson](const Request& r) {
        return Response{200, registrationJson(s.registration(r.caller.id, r.param("code")))};
    }, "poll a registration: pending, completed (with the account) or expired");
    add("POST", "/v1/phone/registrations", Auth::Phone, [&s, registrationJson](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"code"});
        return Response{200, registrationJson(s.completeRegistration(r.caller.id, serverapi::requireString(*b, "code", 16)))};
    }, "the phone presents the code shown on the TV: binds the STB to the phone's account");

    // --- STB (mutual TLS) ---
    add("GET", "/v1/stb/catalog", Auth::Device, [&s](const Request&) {
        Array::Ptr list = new Array;
        for (const auto& e : s.events()) list->add(eventJson(e));
        Object::Ptr j = new Object;
        j->set("events", list);
        return Response{200, j};
    }, "the PPV catalog");
    add("POST", "/v1/stb/orders", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"orderId", "eventId", "amount", "currency", "method"});
        const auto method = serverapi::optionalString(*b, "method", 8);
        const auto o = s.order(r.caller.id, {serverapi::requireString(*b, "orderId", 48),
                                             serverapi::requireString(*b, "eventId", 80),
                                             serverapi::requireInt(*b, "amount"),
                                             serverapi::requireString(*b, "currency", 3),
                                             method.empty() ? std::string("phone") : method});
        return Response{201, orderJson(o)};
    }, "order an event: opens a pending transfer and a transaction number (idempotent by orderId)");
    add("GET", "/v1/stb/orders/{orderId}", Auth::Device, [&s](const Request& r) {
        const auto o = s.orderById(r.param("orderId"));
        if (o.deviceId != r.caller.id) throw Error(ErrorCode::NotFound, "no order " + r.param("orderId"));
        auto j = orderJson(o);
        j->remove("receipt");
        return Response{200, j};
    }, "an order's state and, once approved, its ticket");
    add("POST", "/v1/stb/approvals", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"approval"});
        const auto approval = decodeField<wire::Approval>(*b, "approval");
        const auto o = s.orderByTransaction(approval.transactionNumber);
        if (o.deviceId != r.caller.id) throw Error(ErrorCode::WrongAudience, "approval is for another device's order");
        auto j = orderJson(s.approve({}, approval));
        return Response{200, j};
    }, "a phone's signed approval relayed by the STB (phone without a line)");

    add("POST", "/v1/stb/orders/{orderId}/otp", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"otp"});
        auto j = orderJson(s.otp().enter(r.caller.id, r.param("orderId"), serverapi::requireString(*b, "otp", 16)));
        j->remove("receipt");
        return Response{200, j};
    }, "the one-time password the viewer typed: the order completes once the phone has acknowledged too");
    add("GET", "/v1/stb/tickets", Auth::Device, [&s](const Request& r) {
        Array::Ptr list = new Array;
        for (const auto& d : s.deliveries().due(r.caller.id)) {
            Object::Ptr j = new Object;
            j->set("deliveryId", d.deliveryId);
            j->set("kind", d.kind);
            j->set("ticketId", d.ticket.ticketId);
            j->set("eventId", d.ticket.eventId);
            j->set("deliverAt", d.deliverAt);
            j->set("ticket", wire::toBase64Url(d.ticket.encode()));
            list->add(j);
        }
        Object::Ptr j = new Object;
        j->set("tickets", list);
        return Response{200, j};
    }, "tickets due for this STB now (purchases, gifts, scheduled deliveries), until acknowledged");
    add("POST", "/v1/stb/tickets/acknowledgements", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"deliveryIds"});
        const auto ids = requireStrings(*b, "deliveryIds", 1000, 80);
        Object::Ptr j = new Object;
        j->set("acknowledged", static_cast<std::int64_t>(s.deliveries().acknowledge(r.caller.id, ids)));
        return Response{200, j};
    }, "the STB stored these deliveries: remove them from its queue (idempotent)");
    add("GET", "/v1/stb/revocations", Auth::Device, [&s](const Request&) {
        const auto list = s.refunds().revocations();
        Array::Ptr ids = new Array;
        for (const auto& id : list.revokedTicketIds) ids->add(id);
        Object::Ptr j = new Object;
        j->set("sequence", static_cast<std::int64_t>(list.sequence));
        j->set("revokedTicketIds", ids);
        j->set("revocations", wire::toBase64Url(list.encode()));
        j->set("serverCertificate", wire::toBase64Url(s.keys().server.certificate.encode()));
        return Response{200, j};
    }, "revoked ticket ids, in a revocation list signed by the server key");

    // --- phone (signed requests) ---
    add("GET", "/v1/phone/transactions/{transactionNumber}", Auth::Phone, [&s](const Request& r) {
        const auto o = s.orderByTransaction(r.param("transactionNumber"));
        if (o.accountId != s.accountOfPhone(r.caller.id))
            throw Error(ErrorCode::NotFound, "no transaction " + r.param("transactionNumber"));
        return Response{200, orderJson(o)};
    }, "what a transaction is about (amount, payee) before approving");
    add("POST", "/v1/phone/approvals", Auth::Phone, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"approval"});
        auto j = orderJson(s.approve(r.caller.id, decodeField<wire::Approval>(*b, "approval")));
        j->remove("ticket");
        return Response{200, j};
    }, "the phone's signed decision: approve, decline or not-me; answers the signed receipt");
    add("POST", "/v1/phone/acknowledgements", Auth::Phone, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"acknowledgement"});
        auto j = orderJson(s.acknowledge(r.caller.id, decodeField<wire::Acknowledgement>(*b, "acknowledgement")));
        j->remove("ticket");
        return Response{200, j};
    }, "the phone's signed acknowledgement of a receipt: closes the purchase");
    add("GET", "/v1/phone/purchases", Auth::Phone, [&s](const Request& r) {
        Array::Ptr list = new Array;
        for (const auto& o : s.ordersOfAccount(s.accountOfPhone(r.caller.id))) {
            auto j = orderJson(o);
            j->remove("ticket");
            list->add(j);
        }
        Object::Ptr j = new Object;
        j->set("orders", list);
        return Response{200, j};
    }, "purchase history of the phone's account, with receipts");
    add("GET", "/v1/phone/otps", Auth::Phone, [&s](const Request& r) {
        Array::Ptr list = new Array;
        for (const auto& c : s.otp().challengesForPhone(r.caller.id)) {
            auto j = orderJson(c.order);
            j->remove("ticket");
            j->set("oneTimePassword", c.otp);
            j->set("acknowledgeCode", c.acknowledgeCode);
            list->add(j);
        }
        Object::Ptr j = new Object;
        j->set("otps", list);
        return Response{200, j};
    }, "pending one-time-password challenges of the phone's account, with the password and acknowledge code");
    add("POST", "/v1/phone/account/clear", Auth::Phone, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {});
        return Response{200, accountJson(s.ledger().account(s.clearAccountByPhone(r.caller.id)))};
    }, "the account holder clears a 'not me' inhibition and unblocks the account's STBs");
    add("POST", "/v1/phone/gifts", Auth::Phone, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"giftId", "eventId", "recipientDeviceId", "recipientAccountId", "amount", "currency",
                                  "deliverAt", "message"});
        GiftRequest g;
        g.giftId = serverapi::requireString(*b, "giftId", 48);
        g.eventId = serverapi::requireString(*b, "eventId", 80);
        g.recipientDeviceId = serverapi::optionalString(*b, "recipientDeviceId", 80);
        g.recipientAccountId = serverapi::optionalString(*b, "recipientAccountId", 80);
        g.amount = serverapi::requireInt(*b, "amount");
        g.currency = serverapi::requireString(*b, "currency", 3);
        if (b->has("deliverAt")) g.deliverAt = serverapi::requireInt(*b, "deliverAt");
        g.message = serverapi::optionalString(*b, "message", 500);
        return Response{201, giftJson(s.gifts().give(r.caller.id, g))};
    }, "buy a ticket for another account's STB (the signed request is the approval); answers the signed voucher");
    add("GET", "/v1/phone/vouchers", Auth::Phone, [&s](const Request& r) {
        Array::Ptr list = new Array;
        for (const auto& g : s.gifts().vouchersOf(r.caller.id)) list->add(giftJson(g));
        Object::Ptr j = new Object;
        j->set("vouchers", list);
        return Response{200, j};
    }, "gifts bought by the phone's account (newest first), with signed vouchers and receipts");

    // --- anyone ---
    add("GET", "/v1/time", Auth::None, [&s, &serverSigner](const Request& r) {
        wire::TrustedTime t;
        t.time = s.nowSeconds();
        t.audience = r.query.count("audience") ? r.query.at("audience") : std::string();
        if (r.query.count("nonce")) t.nonce = wire::fromBase64Url(r.query.at("nonce"), "nonce");
        if (t.nonce.size() > 32) throw Error(ErrorCode::InvalidArgument, "nonce is longer than 32 bytes");
        trust::sign(t, serverSigner.key);
        Object::Ptr j = new Object;
        j->set("time", t.time);
        j->set("trustedTime", wire::toBase64Url(t.encode()));
        return Response{200, j};
    }, "signed trusted time (optionally for one device, with the requester's nonce)");
}

} // namespace boxoffice::settlement
