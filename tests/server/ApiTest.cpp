// The REST transport over real TLS sockets: mutual TLS for devices, signed phone
// requests with replay protection, operator tokens, limits and JSON errors.

#include "DevKeys.h"
#include "ServerBackend.h"

#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/serverapi/Client.h>
#include <boxoffice/serverapi/PhoneSignature.h>
#include <boxoffice/serverapi/Server.h>
#include <boxoffice/testing/LogCapture.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/RevocationList.h>

#include <Poco/AutoPtr.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::serverapi;
using boxoffice::server::test::DevKeys;
using boxoffice::server::test::ScratchDir;

namespace {

std::int64_t nowSeconds()
{
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

Poco::Dynamic::Var callerBody(const Request& r)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("auth", std::string(toString(r.caller.auth)));
    o->set("id", r.caller.id);
    o->set("requestId", r.requestId);
    return o;
}

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto& keys = DevKeys::get();
        db_ = std::make_unique<storage::Database>("sqlite:" + (dir_.path() / "api.db").string());
        ServerOptions o{};
        o.address = "127.0.0.1";
        o.port = 0;
        o.certificate = keys.dir / "server/tls.crt";
        o.privateKey = keys.dir / "server/tls.key.pem";
        o.clientCa = keys.dir / "server/tls-ca.crt";
        o.revocations = keys.dir / "revocations.bin";
        o.rootJson = keys.dir / "root/root.json";
        o.maxBodyBytes = 4096;
        o.requestsPerSecond = 1000;
        o.requestBurst = 1000;
        options_ = o;
        server_ = std::make_unique<Server>(o, *db_, Poco::Logger::get("test"));
        server_->addOperatorToken("ops", rpc::TokenStore::digest("operator-secret"));
        phone_ = trust::loadPhone(keys.dir / "phones/phone-1").certificate;
        server_->setPhoneKeyLookup([this](const std::string& id) -> std::optional<crypto::P256PublicKey> {
            // "phone-twin": the same key registered under a second id.
            if (id != phone_.subject && id != "phone-twin") return std::nullopt;
            return crypto::P256PublicKey::fromRaw(phone_.publicKey);
        });
        server_->add({"GET", "/v1/device/whoami", Auth::Device, [](const Request& r) { return Response{200, callerBody(r)}; }, "test", ""});
        server_->add({"POST", "/v1/phone/whoami", Auth::Phone, [](const Request& r) { return Response{200, callerBody(r)}; }, "test", ""});
        server_->add({"GET", "/v1/operator/whoami", Auth::Operator, [](const Request& r) { return Response{200, callerBody(r)}; }, "test", ""});
        server_->add({"POST", "/v1/echo/{name}", Auth::None,
                      [](const Request& r) {
                          auto body = r.json();
                          allowOnly(*body, {"amount", "note"});
                          Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
                          out->set("name", r.param("name"));
                          out->set("amount", requireInt(*body, "amount"));
                          return Response{201, out};
                      },
                      "test", ""});
        // A server-side failure whose message names what only the operator should see.
        server_->add({"GET", "/v1/broken", Auth::None,
                      [](const Request&) -> Response {
                          throw Error(ErrorCode::Storage, "SELECT certificate FROM stl_phone failed on "
                                                          "postgresql://boxoffice@10.0.0.7/boxoffice");
                      },
                      "test", ""});
        server_->start();
    }
    void TearDown() override { server_.reset(); }

    ClientOptions base() const {
        ClientOptions c;
        c.host = "localhost";
        c.port = server_->port();
        c.serverCa = DevKeys::get().dir / "server/tls-ca.crt";
        return c;
    }
    ClientOptions device(const std::string& id, const std::filesystem::path& keys) const {
        auto c = base();
        c.clientCertificate = keys / "devices" / id / "tls.crt";
        c.clientKey = keys / "devices" / id / "tls.key.pem";
        return c;
    }
    ClientOptions phone() const {
        auto c = base();
        auto creds = trust::loadPhone(DevKeys::get().dir / "phones/phone-1");
        c.phoneId = creds.certificate.subject;
        c.phoneKey = crypto::P256PrivateKey::fromPem(
            trust::readKeyFile(DevKeys::get().dir / "phones/phone-1/sign.key.pem"));
        return c;
    }
    // A raw request with exactly the given headers (to replay or tamper).
    std::pair<int, std::string> raw(const std::string& method, const std::string& path, const std::string& body,
                                    const std::map<std::string, std::string>& headers, bool chunked = false) {
        Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLSV1_2_CLIENT_USE, "", "",
                                                             (DevKeys::get().dir / "server/tls-ca.crt").string(),
                                                             Poco::Net::Context::VERIFY_STRICT);
        Poco::Net::HTTPSClientSession session("localhost", server_->port(), ctx);
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : headers) request.set(k, v);
        if (chunked)
            request.setChunkedTransferEncoding(true);
        else
            request.setContentLength(static_cast<std::streamsize>(body.size()));
        session.sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::string text;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
        return {static_cast<int>(response.getStatus()), text};
    }

    ScratchDir dir_;
    std::unique_ptr<storage::Database> db_;
    ServerOptions options_;
    std::unique_ptr<Server> server_;
    wire::Certificate phone_;
};

std::string field(const ClientResponse& r, const std::string& name) {
    return r.body.extract<Poco::JSON::Object::Ptr>()->getValue<std::string>(name);
}

TEST_F(ApiTest, HealthNeedsNoCredentials) {
    Client c(base());
    EXPECT_EQ(c.get("/v1/health").status, 200);
    auto r = c.get("/v1/nothing-here");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.error(), "not found");
}

// Rate limits are per IPv4 address and per IPv6 /64: addresses rotated inside one
// network share a bucket; IPv4 clients seen on an IPv6 socket stay apart.
TEST(RateLimitKey, IPv6ClientsAreLimitedPerSlash64) {
    using Poco::Net::IPAddress;
    EXPECT_EQ(rateLimitKey(IPAddress("203.0.113.7")), "203.0.113.7");
    EXPECT_EQ(rateLimitKey(IPAddress("2001:db8:1:2:aaaa::1")), rateLimitKey(IPAddress("2001:db8:1:2:bbbb:cc::9")));
    EXPECT_NE(rateLimitKey(IPAddress("2001:db8:1:2::1")), rateLimitKey(IPAddress("2001:db8:1:3::1")));
    EXPECT_NE(rateLimitKey(IPAddress("::ffff:203.0.113.7")), rateLimitKey(IPAddress("::ffff:203.0.113.8")));
    EXPECT_EQ(rateLimitKey(IPAddress("::1")), "::1");
}

// A 5xx tells the client which request failed, not the server's internals.
TEST_F(ApiTest, ServerErrorsKeepTheirDetailsInTheLog) {
    Client client(base());
    const auto r = client.get("/v1/broken");
    EXPECT_EQ(r.status, 500) << r.raw;
    EXPECT_EQ(r.raw.find("SELECT"), std::string::npos) << r.raw;
    EXPECT_EQ(r.raw.find("10.0.0.7"), std::string::npos) << r.raw;
    const auto body = r.body.extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(body->getValue<std::string>("error"), "storage");
    EXPECT_FALSE(body->getValue<std::string>("requestId").empty());
    EXPECT_NE(body->getValue<std::string>("message").find("request id"), std::string::npos) << r.raw;
}

TEST_F(ApiTest, DeviceIsTheClientCertificateCommonName) {
    Client c(device("stb-1", DevKeys::get().dir));
    auto r = c.get("/v1/device/whoami");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(field(r, "auth"), "device");
    EXPECT_EQ(field(r, "id"), "stb-1");
}

TEST_F(ApiTest, DeviceRouteRefusesNoCertificateRevokedDeviceAndForeignCa) {
    Client none(base());
    auto r = none.get("/v1/device/whoami");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.error(), "permission denied");

    Client revoked(device("stb-revoked", DevKeys::get().dir));
    r = revoked.get("/v1/device/whoami");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.error(), "revoked");

    // A certificate from another CA fails the TLS handshake itself.
    Client foreign(device("stb-1", DevKeys::get().foreign));
    EXPECT_THROW(foreign.get("/v1/device/whoami"), Error);

    // The plugin's own device check can refuse too (e.g. unregistered device).
    server_->setDeviceCheck([](const std::string& id) {
        throw Error(ErrorCode::PermissionDenied, "device " + id + " is not registered");
    });
    Client stb(device("stb-1", DevKeys::get().dir));
    EXPECT_EQ(stb.get("/v1/device/whoami").status, 403);
}

TEST_F(ApiTest, OperatorTokenIsChecked) {
    auto c = base();
    Client anonymous(c);
    EXPECT_EQ(anonymous.get("/v1/operator/whoami").status, 403);
    c.operatorToken = "wrong";
    Client wrong(c);
    EXPECT_EQ(wrong.get("/v1/operator/whoami").status, 403);
    c.operatorToken = "operator-secret";
    Client ops(c);
    auto r = ops.get("/v1/operator/whoami");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(field(r, "id"), "ops");
    auto m = ops.get("/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.raw.find("boxoffice_http_requests_total{route=\"GET /v1/operator/whoami\",status=\"200\"} 1"),
              std::string::npos)
        << m.raw;
    EXPECT_EQ(anonymous.get("/metrics").status, 403);
}

// A root revocation list past its next update stays in force (a stale list revokes less
// than a newer one, never more), but the server says so: a warning at start, and the list's
// sequence and next update as gauges an operator alerts on.
TEST_F(ApiTest, AnOverdueRootRevocationListIsUsedAndReported) {
    const auto& keys = DevKeys::get();
    const auto devText = trust::readKeyFile(keys.dir / "revocations.bin");
    const auto dev = wire::RevocationList::decode(Bytes(devText.begin(), devText.end()));
    auto metricsOf = [&](std::uint16_t port) {
        auto c = base();
        c.port = port;
        c.operatorToken = "operator-secret";
        const auto m = Client(c).get("/metrics");
        EXPECT_EQ(m.status, 200);
        return m.raw;
    };
    auto gauge = [](const std::string& name, std::int64_t value) { return "\n" + name + " " + std::to_string(value) + "\n"; };

    // The fixture's server: the dev list, not yet due.
    ASSERT_GT(dev.nextUpdate, nowSeconds());
    const auto current = metricsOf(server_->port());
    EXPECT_NE(current.find(gauge("boxoffice_root_revocations_sequence", static_cast<std::int64_t>(dev.sequence))),
              std::string::npos) << current;
    EXPECT_NE(current.find(gauge("boxoffice_root_revocations_next_update_seconds", dev.nextUpdate)), std::string::npos)
        << current;

    wire::RevocationList overdue;
    overdue.sequence = dev.sequence + 1;
    overdue.issuedAt = nowSeconds() - 7200;
    overdue.nextUpdate = nowSeconds() - 3600;
    overdue.revokedDeviceIds = {"stb-revoked-late"};
    trust::sign(overdue, trust::loadRootKey(keys.dir / "root"));
    const auto file = dir_.path() / "overdue-revocations.bin";
    const auto encoded = overdue.encode();
    trust::writeKeyFile(file, std::string(encoded.begin(), encoded.end()), false, true);

    // A list not yet due starts the server without a warning.
    const boxoffice::testing::ScopedLogCapture quiet("api-current-revocations");
    { Server notDue(options_, *db_, Poco::Logger::get("api-current-revocations")); }
    EXPECT_EQ(quiet->occurrences("was due to be replaced"), 0) << quiet->text();

    const boxoffice::testing::ScopedLogCapture capture("api-overdue-revocations");
    auto o = options_;
    o.revocations = file;
    Server server(o, *db_, Poco::Logger::get("api-overdue-revocations"));
    server.addOperatorToken("ops", rpc::TokenStore::digest("operator-secret"));
    server.start();

    EXPECT_TRUE(server.revocations()->isDeviceRevoked("stb-revoked-late")) << "the overdue list is still applied";
    const auto logged = capture->text();
    EXPECT_NE(logged.find("revocation list " + file.string() + " (sequence " + std::to_string(overdue.sequence) +
                          ") was due to be replaced"),
              std::string::npos)
        << logged;
    const auto reported = metricsOf(server.port());
    EXPECT_NE(reported.find(gauge("boxoffice_root_revocations_sequence", static_cast<std::int64_t>(overdue.sequence))),
              std::string::npos) << reported;
    EXPECT_NE(reported.find(gauge("boxoffice_root_revocations_next_update_seconds", overdue.nextUpdate)),
              std::string::npos) << reported;
}

TEST_F(ApiTest, SignedPhoneRequestsAreAcceptedOnceOnly) {
    Client c(phone());
    auto r = c.post("/v1/phone/whoami", Poco::JSON::Object::Ptr(new Poco::JSON::Object));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(field(r, "id"), phone_.subject);

    const auto key = *phone().phoneKey;
    const std::string body = R"({"x":1})";
    auto headers = signPhoneRequest(key, phone_.subject, "POST", "/v1/phone/whoami", body, nowSeconds());
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, headers).first, 200);
    auto replay = raw("POST", "/v1/phone/whoami", body, headers);
    EXPECT_EQ(replay.first, 409);
    EXPECT_NE(replay.second.find("replayed"), std::string::npos);

    // Tampered body, wrong path, other key, stale time, unknown phone.
    headers = signPhoneRequest(key, phone_.subject, "POST", "/v1/phone/whoami", body, nowSeconds());
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", R"({"x":2})", headers).first, 401);
    headers = signPhoneRequest(crypto::P256PrivateKey::generate(), phone_.subject, "POST", "/v1/phone/whoami", body,
                               nowSeconds());
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, headers).first, 401);
    headers = signPhoneRequest(key, phone_.subject, "POST", "/v1/phone/whoami", body, nowSeconds() - 3600);
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, headers).first, 410);
    headers = signPhoneRequest(key, "phone-unknown", "POST", "/v1/phone/whoami", body, nowSeconds());
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, headers).first, 401);
    // The phone id is signed: a request of one id cannot be passed off as another id
    // that holds the same key, though that id's own requests pass.
    headers = signPhoneRequest(key, phone_.subject, "POST", "/v1/phone/whoami", body, nowSeconds());
    headers["X-BoxOffice-Phone"] = "phone-twin";
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, headers).first, 401);
    headers = signPhoneRequest(key, "phone-twin", "POST", "/v1/phone/whoami", body, nowSeconds());
    const auto twin = raw("POST", "/v1/phone/whoami", body, headers);
    EXPECT_EQ(twin.first, 200);
    EXPECT_NE(twin.second.find("phone-twin"), std::string::npos) << twin.second;
    headers["X-BoxOffice-Nonce"] = "short";
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, headers).first, 400);
    EXPECT_EQ(raw("POST", "/v1/phone/whoami", body, {}).first, 403);
}

TEST_F(ApiTest, HostileBodiesGetClearFourHundreds) {
    Client c(base());
    auto r = c.call("POST", "/v1/echo/a", "{not json");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.error(), "malformed");
    r = c.call("POST", "/v1/echo/a", "[1,2]");
    EXPECT_EQ(r.error(), "malformed");
    r = c.call("POST", "/v1/echo/a", R"({"amount":"12"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("amount"), std::string::npos);
    r = c.call("POST", "/v1/echo/a", R"({"amount":1.5})");
    EXPECT_EQ(r.status, 400);
    r = c.call("POST", "/v1/echo/a", R"({"amount":99999999999999999999999})");
    EXPECT_EQ(r.status, 400);
    for (const char* boolean : {R"({"amount":true})", R"({"amount":false})"}) {
        r = c.call("POST", "/v1/echo/a", boolean);  // Poco would read them as 1 and 0
        EXPECT_EQ(r.status, 400) << boolean;
        EXPECT_NE(r.raw.find("must be an integer"), std::string::npos) << r.raw;
    }
    // A bad %-escape in the query: refused as a malformed URI, not a 500.
    r = c.call("POST", "/v1/echo/a?x=%zz", R"({"amount":1})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("malformed request URI"), std::string::npos) << r.raw;
    EXPECT_EQ(c.call("GET", "/v1/health?x=%zz").status, 400);
    r = c.call("POST", "/v1/echo/a", R"({"amount":1,"sneaky":true})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.raw.find("sneaky"), std::string::npos);
    // The server answers 413 without reading the body and closes; the client
    // may see that answer or, if it is still writing, a broken pipe. Either way
    // nothing is processed.
    try {
        r = c.call("POST", "/v1/echo/a", std::string(10000, ' '));
        EXPECT_EQ(r.status, 413);
    } catch (const boxoffice::Error& error) {
        EXPECT_EQ(error.code(), boxoffice::ErrorCode::Io) << error.what();
    }
    // Chunked, the size is only known while reading: the same 413 (not 429, which would ask
    // the client to retry later). 5,000 bytes: over the limit, and read whole in the server's
    // first read, so no unread data makes its close a reset that could lose the answer.
    const auto [status, text] = raw("POST", "/v1/echo/a", std::string(5000, ' '), {}, true);
    EXPECT_EQ(status, 413) << text;
    EXPECT_NE(text.find("request body exceeds 4096 bytes"), std::string::npos) << text;
    Client again(base());
    r = again.call("POST", "/v1/echo/a", R"({"amount":7})", "req-42");
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body.extract<Poco::JSON::Object::Ptr>()->getValue<std::int64_t>("amount"), 7);
    EXPECT_EQ(again.call("GET", "/v1/echo/a").status, 404); // wrong method
}

// A callback that blocks until let go: holds a request in flight.
struct Held {
    void block() {
        std::unique_lock lock(mutex);
        entered = true;
        changed.notify_all();
        changed.wait(lock, [&] { return released; });
        finished = true;
    }
    bool waitEntered() {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(10), [&] { return entered; });
    }
    void letGo() {
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }
    std::mutex mutex;
    std::condition_variable changed;
    bool entered = false, released = false, finished = false;
};

// A plugin is torn down after removeOwner() returns: its requests already running (a route's
// handler, or its metrics read by the server's GET /metrics) must have finished by then, as
// they hold references into it; new ones no longer reach it.
TEST_F(ApiTest, RemovingAnOwnerWaitsForItsRequestsInFlight) {
    // `call` reaches `held` on a thread; removeOwner() must not return before it is let go.
    const auto expectRemovalWaits = [&](Held& held, const std::function<void()>& call) {
        std::thread caller(call);
        const bool entered = held.waitEntered();
        std::atomic<bool> removed{false};
        std::thread remover([&] {
            server_->removeOwner("slow-plugin");
            removed = true;
        });
        if (entered) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            EXPECT_FALSE(removed) << "removeOwner returned while the owner's code was running";
        }
        held.letGo();
        remover.join();
        caller.join();
        EXPECT_TRUE(entered);
        EXPECT_TRUE(removed);
        EXPECT_TRUE(held.finished);
    };

    Held handler;
    server_->add({"POST", "/v1/slow", Auth::None,
                  [&](const Request&) {
                      handler.block();
                      return Response{200, {}};
                  },
                  "slow-plugin", ""});
    int status = 0;
    expectRemovalWaits(handler, [&] { status = Client(base()).call("POST", "/v1/slow", "{}").status; });
    EXPECT_EQ(status, 200);
    EXPECT_EQ(Client(base()).call("POST", "/v1/slow", "{}").status, 404) << "gone once removed";

    Held metricsSource;
    server_->addMetrics("slow-plugin", [&] {
        metricsSource.block();
        return std::string("slow_plugin_up 1\n");
    });
    auto ops = base();
    ops.operatorToken = "operator-secret";
    std::string metrics;
    expectRemovalWaits(metricsSource, [&] { metrics = Client(ops).get("/metrics").raw; });
    EXPECT_NE(metrics.find("slow_plugin_up 1"), std::string::npos) << metrics;
}

TEST_F(ApiTest, RateLimitPerClient) {
    server_.reset();
    options_.requestsPerSecond = 0.001;
    options_.requestBurst = 3;
    server_ = std::make_unique<Server>(options_, *db_, Poco::Logger::get("test"));
    server_->start();
    Client c(base());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get("/v1/health").status, 200);
    auto r = c.get("/v1/health");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.error(), "limit exceeded");
}

} // namespace
