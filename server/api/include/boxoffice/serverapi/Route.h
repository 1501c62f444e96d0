#pragma once
// What a server plugin registers: a method, a path pattern, who may call it and
// the handler. Handlers take and return JSON; they throw boxoffice::Error, which
// the server turns into an HTTP status and {"error": keyword, "message": ...}.

#include <boxoffice/base/Error.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::serverapi {

enum class Auth {
    None,      // anyone (health, trusted time, registration start)
    Device,    // an STB: mutual TLS with a device certificate from the operator's TLS CA, not revoked,
               // and accepted by the Router's DeviceCheck (registered, not blocked)
    NewDevice, // any STB: mutual TLS and revocation only, registered or blocked or not (registration; a
               // box reading its own orders, so one blocked after "not me" still learns how they ended)
    Phone,     // a phone: request signed with its registered P-256 key (PhoneSignature.h)
    Operator,  // Authorization: Bearer <operator token>
};
std::string_view toString(Auth auth) noexcept;

struct Caller {
    Auth auth = Auth::None;
    std::string id;            // device id, phone id or operator client name
};

struct Request {
    std::string method;        // "GET", "POST", ...
    std::string path;          // without the query
    std::map<std::string, std::string> params; // {name} segments of the pattern
    std::map<std::string, std::string> query;
    std::string body;
    Caller caller;
    std::string requestId;     // follows a purchase through logs (X-Request-Id)

    // The body as a JSON object; Error(Malformed) if it is not one.
    Poco::JSON::Object::Ptr json() const;
    // A path parameter ({name}); Error(InvalidArgument) if absent.
    const std::string& param(const std::string& name) const;
};

struct Response {
    int status = 200;
    Poco::Dynamic::Var body;   // a JSON object or array; empty: {}
};

using Handler = std::function<Response(const Request&)>;

struct Route {
    std::string method;
    std::string pattern;       // "/v1/orders/{orderId}"
    Auth auth = Auth::None;
    Handler handler;
    std::string owner;         // the plugin that registered it
    std::string summary;       // one line, for people
};

// Matches `path` against `pattern`; fills `params` on success.
bool matchPattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params);

// Helpers for handlers reading JSON bodies strictly. Each throws
// Error(InvalidArgument) naming the field when it is missing or of the wrong type.
std::string requireString(const Poco::JSON::Object& o, const std::string& field, std::size_t maxLength = 256);
std::int64_t requireInt(const Poco::JSON::Object& o, const std::string& field);
std::string optionalString(const Poco::JSON::Object& o, const std::string& field, std::size_t maxLength = 256);
// Refuses fields outside `allowed` (unknown fields are an error, not ignored).
void allowOnly(const Poco::JSON::Object& o, std::initializer_list<std::string_view> allowed);

} // namespace boxoffice::serverapi
