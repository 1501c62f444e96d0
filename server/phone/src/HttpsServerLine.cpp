#include <boxoffice/phone/ServerLine.h>

#include <boxoffice/serverapi/Client.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <mutex>

namespace boxoffice::phone {

namespace {

using Poco::JSON::Object;

std::string text(const Object& o, const std::string& field)
{
    return o.has(field) ? o.getValue<std::string>(field) : std::string();
}

std::int64_t number(const Object& o, const std::string& field)
{
    return o.has(field) ? o.getValue<std::int64_t>(field) : 0;
}

ServerOrder orderFrom(const Object::Ptr& o)
{
    if (!o) throw Error(ErrorCode::Malformed, "the server's order is not a JSON object");
    ServerOrder order;
    order.orderId = text(*o, "orderId");
    order.transactionNumber = text(*o, "transactionNumber");
    order.deviceId = text(*o, "deviceId");
    order.accountId = text(*o, "accountId");
    order.eventId = text(*o, "eventId");
    order.payee = text(*o, "payee");
    order.amount = number(*o, "amount");
    order.currency = text(*o, "currency");
    order.state = text(*o, "state");
    order.method = text(*o, "method");
    order.expiresAt = number(*o, "expiresAt");
    if (const auto receipt = text(*o, "receipt"); !receipt.empty())
        order.receipt = wire::Receipt::decode(wire::fromBase64Url(receipt, "receipt"));
    if (order.orderId.empty() || order.transactionNumber.empty())
        throw Error(ErrorCode::Malformed, "the server's order has no orderId or transactionNumber");
    return order;
}

// Path segments the phone puts into a URL: the server's own id alphabet, nothing to escape.
const std::string& segment(const std::string& value, const char* what)
{
    const bool ok = !value.empty() && value.size() <= 80 && value.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == std::string::npos;
    if (!ok) throw Error(ErrorCode::InvalidArgument, std::string("invalid ") + what + " '" + value + "'");
    return value;
}

} // namespace

struct HttpsServerLine::Impl {
    std::mutex mutex;
    serverapi::Client client;

    explicit Impl(const serverapi::ClientOptions& options) : client(options) {}

    // One exchange; the server's refusal becomes Error(its keyword, its message).
    // requestId goes out as X-Request-Id (the order id for a purchase: the id the STB uses too).
    Object::Ptr exchange(const std::string& method, const std::string& path, const Object::Ptr& body = nullptr,
                         const std::string& requestId = {})
    {
        serverapi::ClientResponse response;
        {
            std::lock_guard lock(mutex);
            try {
                response = body ? client.post(path, body, requestId) : client.call(method, path, {}, requestId);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::Io) throw;
                throw Error(ErrorCode::Unavailable, std::string("server unreachable: ") + e.what());
            }
        }
        if (response.status >= 300) {
            const auto keyword = response.error();
            std::string message;
            if (response.body.type() == typeid(Object::Ptr))
                message = text(*response.body.extract<Object::Ptr>(), "message");
            throw Error(keyword.empty() ? ErrorCode::Internal : errorCodeFromString(keyword),
                        method + " " + path + ": HTTP " + std::to_string(response.status) +
                            (message.empty() ? std::string() : ": " + message));
        }
        if (response.body.type() != typeid(Object::Ptr))
            throw Error(ErrorCode::Malformed, method + " " + path + ": the answer is not a JSON object");
        return response.body.extract<Object::Ptr>();
    }
};

HttpsServerLine::HttpsServerLine(const serverapi::ClientOptions& options)
{
    if (options.phoneId.empty() || !options.phoneKey)
        throw Error(ErrorCode::InvalidArgument, "the phone's server line needs its phone id and key");
    impl_ = std::make_unique<Impl>(options);
}

HttpsServerLine::~HttpsServerLine() = default;

ServerOrder HttpsServerLine::transaction(const std::string& number)
{
    return orderFrom(impl_->exchange("GET", "/v1/phone/transactions/" + segment(number, "transaction number")));
}

ServerOrder HttpsServerLine::approve(const wire::Approval& approval)
{
    Object::Ptr body = new Object;
    body->set("approval", wire::toBase64Url(approval.encode()));
    return orderFrom(impl_->exchange("POST", "/v1/phone/approvals", body, approval.orderId));
}

ServerOrder HttpsServerLine::acknowledge(const wire::Acknowledgement& acknowledgement)
{
    Object::Ptr body = new Object;
    body->set("acknowledgement", wire::toBase64Url(acknowledgement.encode()));
    return orderFrom(impl_->exchange("POST", "/v1/phone/acknowledgements", body));
}

ServerRegistration HttpsServerLine::registerStb(const std::string& code)
{
    Object::Ptr body = new Object;
    body->set("code", code);
    const auto o = impl_->exchange("POST", "/v1/phone/registrations", body);
    return {text(*o, "code"), text(*o, "deviceId"), text(*o, "accountId"), text(*o, "state"), number(*o, "expiresAt")};
}

std::vector<ServerOrder> HttpsServerLine::purchases()
{
    const auto o = impl_->exchange("GET", "/v1/phone/purchases");
    const auto list = o->getArray("orders");
    if (!list) throw Error(ErrorCode::Malformed, "GET /v1/phone/purchases: no orders array");
    std::vector<ServerOrder> out;
    for (std::size_t i = 0; i < list->size(); ++i) out.push_back(orderFrom(list->getObject(static_cast<unsigned>(i))));
    return out;
}

HistorySettlement HttpsServerLine::settleHistory(ByteView batch)
{
    Object::Ptr body = new Object;
    body->set("batch", wire::toBase64Url(batch));
    const auto o = impl_->exchange("POST", "/v1/phone/history-batches", body);
    HistorySettlement out;
    out.deviceId = text(*o, "deviceId");
    out.settledThrough = static_cast<std::uint64_t>(number(*o, "settledThrough"));
    out.result = wire::fromBase64Url(text(*o, "result"), "result");
    if (const auto certificate = text(*o, "serverCertificate"); !certificate.empty())
        out.serverCertificate = wire::fromBase64Url(certificate, "serverCertificate");
    if (out.result.empty()) throw Error(ErrorCode::Malformed, "POST /v1/phone/history-batches: no settlement result");
    return out;
}

} // namespace boxoffice::phone
