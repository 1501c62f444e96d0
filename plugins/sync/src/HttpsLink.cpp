#include "HttpsLink.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/serverapi/Client.h>

#include <Poco/JSON/Stringifier.h>

#include <sstream>
#include <vector>

namespace boxoffice::plugins::sync {

using boxoffice::sync::LinkResponse;

HttpsLink::HttpsLink(LinkOptions options) : options_(std::move(options)) {}

HttpsLink::~HttpsLink() = default;

LinkResponse HttpsLink::call(const std::string& method, const std::string& path, const Poco::Dynamic::Var& body,
                             const std::string& requestId)
{
    std::string text;
    if (!body.isEmpty()) {
        std::ostringstream out;
        Poco::JSON::Stringifier::condense(body, out);
        text = out.str();
    }
    return callText(method, path, text, requestId);
}

LinkResponse HttpsLink::callText(const std::string& method, const std::string& path, const std::string& body,
                                 const std::string& requestId)
{
    if (!configured()) throw Error(ErrorCode::Unavailable, "no line: no operator server configured (plugins.sync.port)");
    std::lock_guard lock(callMutex_);
    serverapi::ClientResponse response;
    try {
        if (!client_) {
            serverapi::ClientOptions o;
            o.host = options_.host;
            o.port = options_.port;
            o.serverCa = options_.serverCa;
            o.clientCertificate = options_.clientCertificate;
            o.clientKey = options_.clientKey;
            client_ = std::make_unique<serverapi::Client>(std::move(o));
        }
        response = client_->call(method, path, body, requestId);
    } catch (const Error& e) {
        // A fresh connection next time (the TLS session may be half dead).
        client_.reset();
        setOnline(false, e.what());
        throw Error(ErrorCode::Unavailable, std::string("no line to the operator server: ") + e.what());
    }
    setOnline(true, {});
    return LinkResponse{response.status, response.body};
}

bool HttpsLink::online() const
{
    std::lock_guard lock(stateMutex_);
    return online_;
}

std::string HttpsLink::lastError() const
{
    std::lock_guard lock(stateMutex_);
    return lastError_;
}

std::uint64_t HttpsLink::watchOnline(std::function<void(bool online)> handler)
{
    std::lock_guard lock(stateMutex_);
    const auto token = nextToken_++;
    watchers_.emplace(token, std::move(handler));
    return token;
}

void HttpsLink::unwatch(std::uint64_t token)
{
    std::lock_guard lock(stateMutex_);
    watchers_.erase(token);
}

void HttpsLink::setOnline(bool online, const std::string& error)
{
    std::vector<std::function<void(bool)>> notify;
    {
        std::lock_guard lock(stateMutex_);
        if (!error.empty()) lastError_ = error;
        if (online_ == online) return;
        online_ = online;
        for (const auto& [token, handler] : watchers_) notify.push_back(handler);
    }
    // Outside the lock: a handler may call back into the link.
    for (const auto& handler : notify) {
        try {
            handler(online);
        } catch (...) {
            // A watcher's failure is its own business.
        }
    }
}

} // namespace boxoffice::plugins::sync
