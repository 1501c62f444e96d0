#include <boxoffice/settlement/Routes.h>

#include "JsonViews.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/ledger/Invariants.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/TrustedTime.h>
#include <boxoffice/wire/Types.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

namespace boxoffice::settlement {

using serverapi::Auth;
using serverapi::Request;
using serverapi::Response;
using Poco::JSON::Array;
using Poco::JSON::Object;

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
        // Everything is checked before the funding account is opened: a refused
        // deposit leaves nothing behind.
        const auto currency = serverapi::requireString(*b, "currency", 3);
        ledger::checkCurrency(currency);
        const auto transferId = serverapi::requireString(*b, "transferId", 80);
        const auto accountId = serverapi::requireString(*b, "accountId", 80);
        const auto amount = serverapi::requireInt(*b, "amount");
        if (amount <= 0 || amount > wire::maxAmount)
            throw Error(ErrorCode::InvalidArgument, "amount must be 1.." + std::to_string(wire::maxAmount));
        ledger::checkId(transferId, "transfer id");
        const auto spec = s.ledger().account(accountId).spec;
        if (spec.kind != ledger::AccountKind::Wallet && spec.kind != ledger::AccountKind::Postpaid)
            throw Error(ErrorCode::InvalidArgument, "deposits go to a viewer's wallet or post-paid account");
        if (spec.currency != currency)
            throw Error(ErrorCode::InvalidArgument, "account " + accountId + " is in " + spec.currency + ", not " + currency);
        const auto funding = "funding-" + currency;
        s.ledger().open({funding, ledger::AccountKind::Funding, currency, std::nullopt});
        auto t = s.ledger().create({transferId, funding, accountId, amount, currency, 0, "deposit"});
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
                                  "previewSeconds", "blackout", "eventKeyId", "views", "playbackWindowSeconds"});
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
        e.views = b->has("views") ? serverapi::requireInt(*b, "views") : 0;
        e.playbackWindow = b->has("playbackWindowSeconds") ? serverapi::requireInt(*b, "playbackWindowSeconds") : 0;
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
    // NewDevice: a box blocked after "not me" may still read how its own orders ended.
    add("GET", "/v1/stb/orders/{orderId}", Auth::NewDevice, [&s](const Request& r) {
        const auto o = s.orderById(r.param("orderId"));
        if (o.deviceId != r.caller.id) throw Error(ErrorCode::NotFound, "no order " + r.param("orderId"));
        auto j = orderJson(o);
        j->remove("receipt");
        return Response{200, j};
    }, "an order's state and, once approved, its ticket");
    add("POST", "/v1/stb/approvals", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"sealedApproval"});
        const auto sealed = wire::fromBase64Url(serverapi::requireString(*b, "sealedApproval", 8192), "sealedApproval");
        const auto order = s.approveRelayed(r.caller.id, sealed);
        auto j = orderJson(order);
        // The STB relays the receipt to the phone with it: a phone that knows only an earlier
        // server key checks this one under the operator root. Not with a receipt kept from
        // before a rotation (a retried approval), which the current key did not sign.
        const auto& server = s.keys().server.certificate;
        if (order.receipt && order.receipt->signer.keyId == server.keyId)
            j->set("serverCertificate", wire::toBase64Url(server.encode()));
        return Response{200, j};
    }, "a phone's signed approval relayed by the STB (phone without a line), sealed to the server");
    add("POST", "/v1/stb/acknowledgements", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"acknowledgement"});
        const auto ack = decodeField<wire::Acknowledgement>(*b, "acknowledgement");
        if (s.orderById(ack.orderId).deviceId != r.caller.id) throw Error(ErrorCode::NotFound, "no order " + ack.orderId);
        auto j = orderJson(s.acknowledge({}, ack));
        j->remove("ticket");
        return Response{200, j};
    }, "a phone's signed acknowledgement of a receipt relayed by the STB (phone without a line): closes the purchase");

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

    addAfterSaleRoutes(router, s, owner);

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
