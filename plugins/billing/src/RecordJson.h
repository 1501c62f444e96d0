#pragma once
// JSON views of the billing history for billing.1.* methods and events (the TV UI).

#include <boxoffice/billing/History.h>

#include <Poco/JSON/Object.h>

namespace boxoffice::billing {

Poco::JSON::Object::Ptr toJson(const Record& record);
Poco::JSON::Object::Ptr toJson(const Credit& credit, const Status& status);
Poco::JSON::Object::Ptr toJson(const Statement& statement);
Poco::JSON::Object::Ptr toJson(const Settlement& settlement);

} // namespace boxoffice::billing
