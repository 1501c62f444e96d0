#include "RecordJson.h"

#include <boxoffice/base/Hex.h>

#include <Poco/JSON/Array.h>

namespace boxoffice::billing {

Poco::JSON::Object::Ptr toJson(const Record& r)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("sequence", static_cast<Poco::UInt64>(r.record.sequence));
    o->set("recordedAt", static_cast<Poco::Int64>(r.record.recordedAt));
    o->set("kind", std::string(wire::toString(r.record.kind)));
    o->set("eventId", r.record.eventId);
    o->set("ticketId", r.record.ticketId);
    o->set("orderId", r.record.orderId);
    o->set("amount", static_cast<Poco::Int64>(r.record.amount));
    o->set("currency", r.record.currency);
    o->set("deferred", r.deferred);
    o->set("settled", r.settled);
    o->set("hash", toHex(r.hash));
    return o;
}

Poco::JSON::Object::Ptr toJson(const Credit& c, const Status& s)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("limit", static_cast<Poco::Int64>(c.limit));
    o->set("outstanding", static_cast<Poco::Int64>(c.outstanding));
    o->set("available", static_cast<Poco::Int64>(c.available));
    o->set("currency", c.currency);
    o->set("unsettledRecords", static_cast<Poco::UInt64>(c.unsettledRecords));
    o->set("lastSequence", static_cast<Poco::UInt64>(s.lastSequence));
    o->set("settledThrough", static_cast<Poco::UInt64>(s.settledThrough));
    o->set("acknowledgedThrough", static_cast<Poco::UInt64>(s.acknowledgedThrough));
    return o;
}

Poco::JSON::Object::Ptr toJson(const Statement& st)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("year", st.year);
    o->set("month", st.month);
    o->set("currency", st.currency);
    o->set("purchased", static_cast<Poco::Int64>(st.purchased));
    o->set("settled", static_cast<Poco::Int64>(st.settled));
    o->set("unsettled", static_cast<Poco::Int64>(st.unsettled));
    Poco::JSON::Array::Ptr records = new Poco::JSON::Array;
    for (const auto& r : st.records) records->add(toJson(r));
    o->set("records", records);
    return o;
}

Poco::JSON::Object::Ptr toJson(const Settlement& s)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("settlementId", s.settlementId);
    o->set("settledThrough", static_cast<Poco::UInt64>(s.settledThrough));
    o->set("recordsSettled", static_cast<Poco::UInt64>(s.recordsSettled));
    o->set("creditFreed", static_cast<Poco::Int64>(s.creditFreed));
    return o;
}

} // namespace boxoffice::billing
