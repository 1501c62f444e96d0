#pragma once
// A small HTTPS client for the server's REST API: STBs (client certificate),
// phones (signed requests) and operators (token). Used by the tests, the load
// generator and the reference phone. Keeps one connection alive.

#include <boxoffice/crypto/P256.h>

#include <Poco/Dynamic/Var.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace boxoffice::serverapi {

struct ClientOptions {
    std::string host = "localhost";
    std::uint16_t port = 8443;
    std::filesystem::path serverCa;               // verifies the server certificate
    std::filesystem::path clientCertificate;      // STB: device TLS certificate
    std::filesystem::path clientKey;
    std::string operatorToken;                    // operator: bearer token
    std::string phoneId;                          // phone: signs every request
    std::optional<crypto::P256PrivateKey> phoneKey;
    std::function<std::int64_t()> clock;          // seconds, for phone signatures
};

struct ClientResponse {
    int status = 0;
    Poco::Dynamic::Var body;                      // parsed JSON (empty if none)
    std::string raw;
    std::string error() const;                    // body.error or ""
};

class Client {
public:
    explicit Client(ClientOptions options);
    ~Client();
    // Sends `body` (raw JSON text; empty for none). Transport failures throw Error(Io).
    ClientResponse call(const std::string& method, const std::string& pathAndQuery, const std::string& body = {},
                        const std::string& requestId = {});
    ClientResponse post(const std::string& path, const Poco::Dynamic::Var& json, const std::string& requestId = {});
    ClientResponse get(const std::string& path) { return call("GET", path); }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace boxoffice::serverapi
