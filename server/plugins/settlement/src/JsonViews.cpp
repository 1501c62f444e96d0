#include "JsonViews.h"

#include <boxoffice/settlement/Gifts.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Array.h>

namespace boxoffice::settlement {

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
    j->set("views", e.views);
    j->set("playbackWindowSeconds", e.playbackWindow);
    return j;
}

bool requireBool(const Object& o, const std::string& field)
{
    if (!o.has(field)) return false;
    const auto v = o.get(field);
    if (!v.isBoolean()) throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be true or false");
    return v.extract<bool>();
}

} // namespace boxoffice::settlement
