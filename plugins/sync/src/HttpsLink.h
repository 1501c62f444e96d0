#pragma once
// sync::ServerLink over HTTPS with mutual TLS: the device's TLS client certificate
// and key, the server checked against the operator's TLS CA (serverapi::Client).
// One request at a time on one keep-alive connection. Any HTTP answer means the
// line is up; a transport failure (refused, reset, TLS handshake, e.g. a server
// certificate from another CA) means it is down.

#include <boxoffice/sync/ServerLink.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

namespace boxoffice::serverapi {
class Client;
}

namespace boxoffice::plugins::sync {

struct LinkOptions {
    std::string host = "localhost";
    std::uint16_t port = 0;                      // 0: no server configured
    std::filesystem::path serverCa;              // the operator's TLS CA
    std::filesystem::path clientCertificate;     // the device's TLS certificate (CN = device id)
    std::filesystem::path clientKey;
};

class HttpsLink final : public boxoffice::sync::ServerLink {
public:
    explicit HttpsLink(LinkOptions options);
    ~HttpsLink() override;

    boxoffice::sync::LinkResponse call(const std::string& method, const std::string& path,
                                       const Poco::Dynamic::Var& body = {}, const std::string& requestId = {}) override;
    // The same with the body as JSON text (the store-and-forward queue keeps text).
    boxoffice::sync::LinkResponse callText(const std::string& method, const std::string& path, const std::string& body,
                                           const std::string& requestId = {});
    bool online() const override;
    std::uint64_t watchOnline(std::function<void(bool online)> handler) override;
    void unwatch(std::uint64_t token) override;

    bool configured() const noexcept { return options_.port != 0; }
    std::string lastError() const;

private:
    void setOnline(bool online, const std::string& error);

    LinkOptions options_;
    std::mutex callMutex_;                       // serializes requests on the one connection
    std::unique_ptr<serverapi::Client> client_;
    mutable std::mutex stateMutex_;
    bool online_ = false;
    std::string lastError_;
    std::uint64_t nextToken_ = 1;
    std::map<std::uint64_t, std::function<void(bool)>> watchers_;
};

} // namespace boxoffice::plugins::sync
