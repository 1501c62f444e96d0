#pragma once
// A real boxoffice-server process with the https and settlement plugins, on a
// given database, and clients for the operator, an STB and the phone.

#include "DevKeys.h"

#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/serverapi/Client.h>
#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Base64Url.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>

namespace boxoffice::server::test {

inline constexpr const char* kOperatorToken = "server-test-operator-token";

class ServerProcess {
public:
    // `historySync`: also configure the server plugin `sync` (history uploads, phone-carried
    // batches; the test must depend on boxoffice_plugin_server-sync).
    // `logLevel`: the server's logging.level (debug logs every request with its X-Request-Id).
    ServerProcess(const std::filesystem::path& dir, const std::string& database, const std::string& name = "server",
                  bool historySync = false, const std::string& logLevel = "warning")
        : dir_(dir / name), database_(database), historySync_(historySync), logLevel_(logLevel),
          serverKeys_(DevKeys::get().dir)
    {
        std::filesystem::create_directories(dir_);
        writeConfig();
        start();
    }

    // Stops the server and starts it again on the same database with the server keys in
    // `keys` (a copy of the development keys after `boxoffice-keytool server rotate`);
    // TLS and the operator root stay the development ones.
    void restartWithServerKeys(const std::filesystem::path& keys)
    {
        kill();
        serverKeys_ = keys;
        writeConfig();
        start();
    }

    void start()
    {
        std::filesystem::remove(dir_ / "https-port");
        process_ = std::make_unique<testing::ChildProcess>(
            std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR")) / "bin/boxoffice-server",
            std::vector<std::string>{"--config", (dir_ / "server.json").string()});
        const auto file = dir_ / "https-port";
        using namespace std::chrono_literals;
        if (!testing::eventually([&] { return std::filesystem::exists(file) || !process_->running(); }, 60s) ||
            !std::filesystem::exists(file))
            throw std::runtime_error("boxoffice-server did not start:\n" + process_->output());
        const auto port = static_cast<std::uint16_t>(std::stoi(testing::readFile(file)));
        auto probe = base();
        probe.port = port;
        // The port opens before the other plugins have registered their routes:
        // ready when a settlement route answers.
        const bool ready = testing::eventually(
            [&] {
                try {
                    return serverapi::Client(probe).get("/v1/time").status == 200 || !process_->running();
                } catch (const Error&) {
                    return !process_->running();
                }
            },
            60s);
        if (!ready || !process_->running()) throw std::runtime_error("boxoffice-server is not ready:\n" + output());
        port_ = port; // published only once ready: clients never see a half-started server
    }

    void kill()
    {
        process_->signal(SIGKILL);
        process_->wait(std::chrono::seconds(10));
    }

    std::uint16_t port() const { return port_; }
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
    serverapi::ClientOptions stbOptions(const std::string& deviceId) const
    {
        auto c = base();
        c.clientCertificate = DevKeys::get().dir / "devices" / deviceId / "tls.crt";
        c.clientKey = DevKeys::get().dir / "devices" / deviceId / "tls.key.pem";
        return c;
    }
    serverapi::ClientOptions phoneOptions() const
    {
        auto c = base();
        const auto creds = trust::loadPhone(DevKeys::get().dir / "phones/phone-1");
        c.phoneId = creds.certificate.subject;
        c.phoneKey = crypto::P256PrivateKey::fromPem(
            trust::readKeyFile(DevKeys::get().dir / "phones/phone-1/sign.key.pem"));
        return c;
    }
    serverapi::Client stbClient(const std::string& deviceId) const { return serverapi::Client(stbOptions(deviceId)); }
    serverapi::Client phoneClient() const { return serverapi::Client(phoneOptions()); }

private:
    void writeConfig() const
    {
        const auto& keys = DevKeys::get().dir;
        const auto config = R"({
  "host": {"pluginDirectory": ")" + (std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR")) /
                                     "lib/boxoffice/server-plugins").string() + R"(", "dataDirectory": "data"},
  "logging": {"level": ")" + logLevel_ + R"("},
  "rpc": {"port": 0},
  "plugins": {
    "headend": {"enabled": false},
    "https": {"database": ")" + database_ + R"(", "address": "127.0.0.1", "port": 0,
              "portFile": ")" + (dir_ / "https-port").string() + R"(",
              "certificate": ")" + (keys / "server/tls.crt").string() + R"(",
              "privateKey": ")" + (keys / "server/tls.key.pem").string() + R"(",
              "clientCa": ")" + (keys / "server/tls-ca.crt").string() + R"(",
              "revocations": ")" + (keys / "revocations.bin").string() + R"(",
              "rootJson": ")" + (keys / "root/root.json").string() + R"(",
              "requestsPerSecond": 100000, "requestBurst": 100000,
              "operatorTokens": [{"client": "ops", "sha256": ")" + rpc::TokenStore::digest(kOperatorToken) + R"("}]},
    "settlement": {"keys": ")" + serverKeys_.string() + R"(", "pendingSeconds": 300, "sweepSeconds": 1})" +
            (historySync_ ? R"(,
    "sync": {"keys": ")" + serverKeys_.string() + R"("})" : std::string()) + R"(
  }
})";
        testing::writeFile(dir_ / "server.json", config);
    }

    std::filesystem::path dir_;
    std::string database_;
    bool historySync_ = false;
    std::string logLevel_;
    std::filesystem::path serverKeys_;
    std::unique_ptr<testing::ChildProcess> process_;
    std::atomic<std::uint16_t> port_{0};
};

// The certificate file's bytes (canonical wire encoding) as base64url.
inline std::string certificateField(const std::filesystem::path& file)
{
    const auto text = testing::readFile(file);
    return wire::toBase64Url(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

} // namespace boxoffice::server::test
