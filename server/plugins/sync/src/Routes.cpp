#include <boxoffice/serversync/Routes.h>

#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

namespace boxoffice::serversync {
namespace {

using serverapi::Auth;
using serverapi::Request;
using serverapi::Response;
using Poco::JSON::Object;

std::vector<Bytes> requireRecords(const Object& o)
{
    if (!o.has("records")) throw Error(ErrorCode::InvalidArgument, "missing field 'records'");
    const auto list = o.getArray("records");
    if (!list) throw Error(ErrorCode::InvalidArgument, "field 'records' must be an array of base64url strings");
    if (list->size() > kMaxUploadRecords)
        throw Error(ErrorCode::InvalidArgument, "at most " + std::to_string(kMaxUploadRecords) + " records per upload");
    std::vector<Bytes> records;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto item = list->get(static_cast<unsigned>(i));
        if (!item.isString())
            throw Error(ErrorCode::InvalidArgument, "records[" + std::to_string(i) + "] must be a base64url string");
        records.push_back(wire::fromBase64Url(item.extract<std::string>(), "records[" + std::to_string(i) + "]"));
    }
    return records;
}

std::string requireText(const Object& o, const std::string& field)
{
    if (!o.has(field) || !o.get(field).isString())
        throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be a base64url string");
    return o.get(field).extract<std::string>();
}

} // namespace

void addRoutes(serverapi::Router& router, HistorySync& sync, const std::string& owner)
{
    auto add = [&](const std::string& method, const std::string& pattern, Auth auth, serverapi::Handler handler,
                   const std::string& summary) {
        router.add({method, pattern, auth, std::move(handler), owner, summary});
    };

    add("POST", "/v1/stb/history", Auth::Device, [&sync](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"records"});
        const auto outcome = sync.upload(r.caller.id, requireRecords(*b));
        Object::Ptr j = new Object;
        j->set("acknowledgedThrough", outcome.acknowledgedThrough);
        j->set("recordsStored", outcome.recordsStored);
        if (!outcome.result.empty()) {
            j->set("result", wire::toBase64Url(outcome.result));
            j->set("serverCertificate", wire::toBase64Url(sync.serverCertificate().encode()));
        }
        return Response{200, j};
    }, "the STB's history records, stored gap-free and chained; deferred purchases settled once");

    add("GET", "/v1/stb/history", Auth::Device, [&sync](const Request& r) {
        Object::Ptr j = new Object;
        j->set("acknowledgedThrough", sync.acknowledgedThrough(r.caller.id));
        return Response{200, j};
    }, "the highest history sequence the server holds for the calling STB");

    add("POST", "/v1/phone/history-batches", Auth::Phone, [&sync](const Request& r) {
        auto b = r.json();
        serverapi::allowOnly(*b, {"batch"});
        const auto envelope = wire::fromBase64Url(requireText(*b, "batch"), "batch");
        const auto outcome = sync.settleBatch(envelope, r.caller.id);
        const auto result = wire::SettlementResult::decode(outcome.result);
        Object::Ptr j = new Object;
        j->set("deviceId", result.deviceId);
        j->set("settledThrough", result.settledThrough);
        j->set("result", wire::toBase64Url(outcome.result));
        j->set("serverCertificate", wire::toBase64Url(sync.serverCertificate().encode()));
        return Response{200, j};
    }, "a history batch an offline STB sealed to the server, carried by the phone: settled, signed result back");
}

} // namespace boxoffice::serversync
