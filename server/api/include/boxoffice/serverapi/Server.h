#pragma once
// The HTTPS server of boxoffice-server (Poco NetSSL): one TLS port for STBs
// (client certificates requested and, when presented, verified against the
// operator's TLS CA), phones (signed requests) and operators (bearer token).
//
// Every response is JSON. Errors are {"error": <keyword of boxoffice::Error>,
// "message": ..., "requestId": ...} with a 4xx/5xx status. Bodies above
// maxBodyBytes are refused (413) without being read; each client address has a
// token-bucket rate limit (429; rateLimitKey, rpc::ClientRateLimits). GET /metrics
// serves Prometheus text (operator).

#include <boxoffice/serverapi/Router.h>

#include <boxoffice/storage/Database.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>

namespace Poco {
class Logger;
namespace Net { class IPAddress; }
}

namespace boxoffice::serverapi {

struct ServerOptions {
    std::string address = "0.0.0.0";
    std::uint16_t port = 8443;               // 0: pick a free one (see Server::port())
    std::filesystem::path certificate;       // server TLS certificate (PEM)
    std::filesystem::path privateKey;        // its key (PEM, unencrypted, 0600)
    std::filesystem::path clientCa;          // TLS CA that issues device client certificates
    std::filesystem::path revocations;       // root-signed revocation list (optional)
    std::filesystem::path rootJson;          // operator root trust anchor (for the revocation list)
    std::size_t maxBodyBytes = 64 * 1024;
    double requestsPerSecond = 200;          // per client address
    double requestBurst = 400;
    int maxThreads = 16;
    int maxQueued = 256;
    std::function<std::int64_t()> clock;     // server time in seconds; default: system clock
};

// The key a client's requests are rate-limited under: its IPv4 address, or the
// /64 prefix of its IPv6 address (one site's network: rotating addresses inside
// it must not escape the limit).
std::string rateLimitKey(const Poco::Net::IPAddress& client);

class Server : public Router {
public:
    // `db` holds the phone nonces (shared by every server process on it).
    Server(ServerOptions options, storage::Database& db, Poco::Logger& logger);
    ~Server() override;

    // Operator tokens: only their SHA-256 digests (hex).
    void addOperatorToken(const std::string& client, const std::string& sha256Hex);

    void start();
    void stop();
    std::uint16_t port() const;

    // Router
    void add(Route route) override;
    void removeOwner(const std::string& owner) override;
    void addMetrics(const std::string& owner, MetricsSource source) override;
    std::vector<Route> routes() const override;
    void setPhoneKeyLookup(PhoneKeyLookup lookup) override;
    void setDeviceCheck(DeviceCheck check) override;
    const trust::RevocationState* revocations() const override;
    std::optional<Bytes> rootRevocationList() const override;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace boxoffice::serverapi
