#pragma once
// The STB's line to the operator server, published by the `sync` plugin for ppv and
// other plugins (contract: /work/helpers/PPV-API.md, "The STB's line to the server"):
//
//   auto link = context.services().require<sync::ServerLink>();
//   auto r = link->call("GET", "/v1/stb/catalog");
//   if (r.status == 200) useCatalog(r.body);
//
// Thread-safe. Handlers of watchOnline run on the plugin's own thread and must not
// call unwatch() for themselves from inside the callback.

#include <Poco/Dynamic/Var.h>

#include <cstdint>
#include <functional>
#include <string>

namespace boxoffice::sync {

struct LinkResponse {
    int status = 0;              // HTTP status
    Poco::Dynamic::Var body;     // parsed JSON body (empty when none)
    // The server's error text (body "error" / "message"), or "HTTP <status>"; empty on 2xx.
    std::string error() const;
};

class ServerLink {
public:
    static constexpr const char* kServiceId = "boxoffice.sync.ServerLink/1";
    virtual ~ServerLink() = default;
    // One HTTPS request to the operator server over mutual TLS with this device's certificate.
    // Error(Unavailable) when the box has no line (not configured, or the server is unreachable).
    virtual LinkResponse call(const std::string& method, const std::string& path,
                              const Poco::Dynamic::Var& body = {}, const std::string& requestId = {}) = 0;
    virtual bool online() const = 0;
    // Called on every change of online(); returns a token for unwatch().
    virtual std::uint64_t watchOnline(std::function<void(bool online)> handler) = 0;
    virtual void unwatch(std::uint64_t token) = 0;
};

} // namespace boxoffice::sync
