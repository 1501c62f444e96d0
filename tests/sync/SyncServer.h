#pragma once
// A real boxoffice-server (https + settlement + sync plugins) on a fixed loopback
// port and its own SQLite file, so that it can be started after the STB and killed
// and restarted under it. Keys: tests/server/DevKeys.h (the real keytool's dev set).

#include "../server/DevKeys.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/serverapi/Client.h>
#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Object.h>
#include <Poco/Net/ServerSocket.h>

#include <csignal>
#include <ctime>

namespace boxoffice::sync::test {

using server::test::DevKeys;

inline constexpr const char* kOperatorToken = "sync-test-operator-token";

inline std::uint16_t freePort()
{
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    const auto port = socket.address().port();
    socket.close();
    return port;
}

class SyncServer {
public:
    // `rootRevocations` + `rootJson`: the operator root's list the server starts with and the
    // anchor it checks it with (default: the dev key set's). `serverKeys`: the key directory the
    // server signs and opens batches with (default: the dev key set; TLS always from it).
    SyncServer(const std::filesystem::path& dir, std::uint16_t port, std::filesystem::path rootRevocations = {},
               std::filesystem::path rootJson = {}, std::filesystem::path serverKeys = {})
        : dir_(dir), port_(port)
    {
        std::filesystem::create_directories(dir_);
        const auto& keys = DevKeys::get().dir;
        if (serverKeys.empty()) serverKeys = keys;
        if (rootRevocations.empty()) rootRevocations = keys / "revocations.bin";
        if (rootJson.empty()) rootJson = keys / "root/root.json";
        const auto build = std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR"));
        testing::writeFile(dir_ / "server.json", R"({
  "host": {"pluginDirectory": ")" + (build / "lib/boxoffice/server-plugins").string() + R"(", "dataDirectory": "data"},
  "logging": {"level": "warning"},
  "rpc": {"port": 0},
  "plugins": {
    "headend": {"enabled": false},
    "https": {"database": "sqlite:)" + (dir_ / "server.db").string() + R"(", "address": "127.0.0.1",
              "port": )" + std::to_string(port) + R"(,
              "certificate": ")" + (keys / "server/tls.crt").string() + R"(",
              "privateKey": ")" + (keys / "server/tls.key.pem").string() + R"(",
              "clientCa": ")" + (keys / "server/tls-ca.crt").string() + R"(",
              "revocations": ")" + rootRevocations.string() + R"(",
              "rootJson": ")" + rootJson.string() + R"(",
              "requestsPerSecond": 100000, "requestBurst": 100000,
              "operatorTokens": [{"client": "ops", "sha256": ")" + rpc::TokenStore::digest(kOperatorToken) + R"("}]},
    "settlement": {"keys": ")" + serverKeys.string() + R"(", "pendingSeconds": 300, "sweepSeconds": 1},
    "sync": {"keys": ")" + serverKeys.string() + R"("}
  }
})");
        start();
    }
    ~SyncServer()
    {
        if (process_ && process_->running()) kill();
    }

    void start()
    {
        process_ = std::make_unique<testing::ChildProcess>(
            std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR")) / "bin/boxoffice-server",
            std::vector<std::string>{"--config", (dir_ / "server.json").string()});
        using namespace std::chrono_literals;
        // Ready when a route of the sync plugin answers (the port opens before plugins register).
        const bool ready = testing::eventually(
            [&] {
                try {
                    return stbClient("stb-1").get("/v1/stb/history").status != 404 || !process_->running();
                } catch (const Error&) {
                    return !process_->running();
                }
            },
            60s);
        if (!ready || !process_->running()) throw std::runtime_error("boxoffice-server is not ready:\n" + process_->output());
    }

    void kill()
    {
        process_->signal(SIGKILL);
        process_->wait(std::chrono::seconds(10));
    }

    std::string output() const { return process_->output(); }

    serverapi::ClientOptions base() const
    {
        serverapi::ClientOptions c;
        c.host = "localhost";
        c.port = port_;
        c.serverCa = DevKeys::get().dir / "server/tls-ca.crt";
        return c;
    }
    serverapi::Client operatorClient() const
    {
        auto c = base();
        c.operatorToken = kOperatorToken;
        return serverapi::Client(c);
    }
    serverapi::Client stbClient(const std::string& deviceId) const
    {
        auto c = base();
        c.clientCertificate = DevKeys::get().dir / "devices" / deviceId / "tls.crt";
        c.clientKey = DevKeys::get().dir / "devices" / deviceId / "tls.key.pem";
        return serverapi::Client(c);
    }
    serverapi::Client phoneClient() const
    {
        auto c = base();
        const auto& keys = DevKeys::get().dir;
        c.phoneId = trust::loadPhone(keys / "phones/phone-1").certificate.subject;
        c.phoneKey = crypto::P256PrivateKey::fromPem(trust::readKeyFile(keys / "phones/phone-1/sign.key.pem"));
        return serverapi::Client(c);
    }

    // alice's wallet with `deposit`, the studio, stb-1 + phone-1 for alice, event ev-1 at 1200 (ev-10 at 10).
    void setUpWorld(std::int64_t deposit = 5000)
    {
        const auto& keys = DevKeys::get().dir;
        auto ops = operatorClient();
        auto expect = [](const serverapi::ClientResponse& r) {
            if (r.status >= 300) throw std::runtime_error("operator setup failed: " + r.raw);
        };
        auto cert = [](const std::filesystem::path& file) {
            const auto text = testing::readFile(file);
            return wire::toBase64Url(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
        };
        expect(ops.call("POST", "/v1/operator/accounts", R"({"accountId":"acct-alice","kind":"wallet","currency":"EUR"})"));
        expect(ops.call("POST", "/v1/operator/accounts", R"({"accountId":"studio","kind":"merchant","currency":"EUR"})"));
        expect(ops.call("POST", "/v1/operator/deposits",
                        R"({"transferId":"dep-1","accountId":"acct-alice","amount":)" + std::to_string(deposit) +
                            R"(,"currency":"EUR"})"));
        expect(ops.call("POST", "/v1/operator/devices",
                        R"({"certificate":")" + cert(keys / "devices/stb-1/device.cert") + R"(","accountId":"acct-alice"})"));
        expect(ops.call("POST", "/v1/operator/phones",
                        R"({"certificate":")" + cert(keys / "phones/phone-1/phone.cert") + R"(","accountId":"acct-alice"})"));
        const std::int64_t now = ::time(nullptr);
        expect(ops.call("PUT", "/v1/operator/events/ev-1",
                        R"({"title":"The Final","payee":"studio","price":1200,"currency":"EUR","saleFrom":)" +
                            std::to_string(now - 3600) + R"(,"saleUntil":)" + std::to_string(now + 86400) +
                            R"(,"startsAt":)" + std::to_string(now + 600) + R"(,"endsAt":)" +
                            std::to_string(now + 9000) + R"(,"previewSeconds":60,"eventKeyId":"ev-demo/1"})"));
        // A cheap one: the server charges deferred purchases the catalog price.
        expect(ops.call("PUT", "/v1/operator/events/ev-10",
                        R"({"title":"Short","payee":"studio","price":10,"currency":"EUR","saleFrom":)" +
                            std::to_string(now - 3600) + R"(,"saleUntil":)" + std::to_string(now + 86400) +
                            R"(,"startsAt":)" + std::to_string(now + 600) + R"(,"endsAt":)" +
                            std::to_string(now + 9000) + R"(,"previewSeconds":60,"eventKeyId":"ev-demo/1"})"));
    }

    std::int64_t balance(const std::string& account)
    {
        auto r = operatorClient().get("/v1/operator/accounts/" + account);
        return r.body.extract<Poco::JSON::Object::Ptr>()->getValue<std::int64_t>("balance");
    }
    std::size_t invariantViolations()
    {
        auto r = operatorClient().get("/v1/operator/invariants");
        if (r.status != 200) throw std::runtime_error("invariants: " + r.raw);
        return r.body.extract<Poco::JSON::Object::Ptr>()->getArray("violations")->size();
    }

private:
    std::filesystem::path dir_;
    std::uint16_t port_;
    std::unique_ptr<testing::ChildProcess> process_;
};

} // namespace boxoffice::sync::test
