// Routes of the one-time password, the STB's ticket delivery queue, revocations,
// refunds and gifts (documented in server/openapi/boxoffice-server.yaml).

#include "JsonViews.h"

#include <boxoffice/settlement/Deliveries.h>
#include <boxoffice/settlement/Gifts.h>
#include <boxoffice/settlement/Otp.h>
#include <boxoffice/settlement/Refunds.h>

#include <Poco/JSON/Array.h>

namespace boxoffice::settlement {

using serverapi::Auth;
using serverapi::Request;
using serverapi::Response;
using Poco::JSON::Array;
using Poco::JSON::Object;

void addAfterSaleRoutes(serverapi::Router& router, Settlement& s, const std::string& owner)
{
    auto add = [&](const std::string& method, const std::string& pattern, Auth auth, serverapi::Handler handler,
                   const std::string& summary) {
        router.add({method, pattern, auth, std::move(handler), owner, summary});
    };

    // --- operator ---
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
    add("POST", "/v1/operator/dormant-tickets", Auth::Operator, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"deviceId", "eventId"});
        const auto d = s.deliveries().issueDormant(serverapi::requireString(*b, "deviceId", 128),
                                                   serverapi::requireString(*b, "eventId", 80));
        Object::Ptr j = new Object;
        j->set("ticketId", d.ticket.ticketId);
        j->set("deviceId", d.ticket.holderDeviceId);
        j->set("eventId", d.ticket.eventId);
        j->set("deliveryId", d.deliveryId);
        j->set("notBefore", d.ticket.notBefore);
        j->set("notAfter", d.ticket.notAfter);
        j->set("ticket", wire::toBase64Url(d.ticket.encode()));
        return Response{d.created ? 201 : 200, j};
    }, "issue a dormant (prepaid, suspended) ticket to an STB for offline impulse purchase: no charge until settled");

    // --- STB (mutual TLS) ---
    add("POST", "/v1/stb/orders/{orderId}/otp", Auth::Device, [&s](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"otp", "attemptId"});
        auto j = orderJson(s.otp().enter(r.caller.id, r.param("orderId"), serverapi::requireString(*b, "otp", 16),
                                         serverapi::optionalString(*b, "attemptId", 48)));
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
    add("GET", "/v1/stb/revocations", Auth::Device, [&s, &router](const Request&) {
        const auto list = s.refunds().revocations();
        Array::Ptr ids = new Array;
        for (const auto& id : list.revokedTicketIds) ids->add(id);
        Object::Ptr j = new Object;
        j->set("sequence", static_cast<std::int64_t>(list.sequence));
        j->set("revokedTicketIds", ids);
        j->set("revocations", wire::toBase64Url(list.encode()));
        j->set("serverCertificate", wire::toBase64Url(s.keys().server.certificate.encode()));
        // The operator root's list (keys, devices, tickets) rides along so STBs online learn it;
        // they verify it with the root anchor, apart from the server's list.
        if (const auto root = router.rootRevocationList()) j->set("rootRevocations", wire::toBase64Url(*root));
        return Response{200, j};
    }, "revoked ticket ids, in a revocation list signed by the server key, and the operator root's list");


    // --- phone (signed requests) ---
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
}

} // namespace boxoffice::settlement
