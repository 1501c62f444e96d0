#pragma once
// JSON views of the settlement objects and strict body helpers shared by the route
// files (internal to the settlement library).

#include <boxoffice/serverapi/Router.h>
#include <boxoffice/settlement/Settlement.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Object.h>

namespace boxoffice::settlement {

struct GiftView;

Poco::JSON::Object::Ptr orderJson(const OrderView& order);
Poco::JSON::Object::Ptr giftJson(const GiftView& gift);
Poco::JSON::Object::Ptr accountJson(const ledger::Account& account);
Poco::JSON::Object::Ptr eventJson(const Event& event);

// A JSON array of strings, each at most `maxLength`; Error(InvalidArgument) naming the field otherwise.
std::vector<std::string> requireStrings(const Poco::JSON::Object& o, const std::string& field, std::size_t maxCount,
                                        std::size_t maxLength);
// An optional boolean (absent: false); Error(InvalidArgument) for another type.
bool requireBool(const Poco::JSON::Object& o, const std::string& field);

// A base64url wire object in a string field, decoded strictly.
template <class T>
T decodeField(const Poco::JSON::Object& body, const std::string& field)
{
    return T::decode(wire::fromBase64Url(serverapi::requireString(body, field, 16384), field));
}


// OTP, ticket delivery queue, revocations, refunds, gifts (AfterSaleRoutes.cpp).
void addAfterSaleRoutes(serverapi::Router& router, Settlement& settlement, const std::string& owner);

} // namespace boxoffice::settlement
