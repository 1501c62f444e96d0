// Registration (DESIGN §5 flow 1) end to end: the real billing + sync plugins in a
// PluginHost against a real boxoffice-server process. The STB asks for a code
// (sync.1.register), the TV hears it (sync.1.registrationChanged), the phone presents
// it over its own signed line, and the STB learns its account by polling; the
// registered state survives a restart of the box. Also: an expired code, a wrong
// code presented by the phone, no line, a refusal of the server.

#include "SyncServer.h"

#include <boxoffice/host/PluginHost.h>
#include <boxoffice/rpc/Caller.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/sync/ServerLink.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Util/MapConfiguration.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace boxoffice::sync::test {
namespace {

using namespace std::chrono_literals;
using Poco::JSON::Object;

// The notifications a subscribed JSON-RPC session receives.
class EventLog : public rpc::EventSink {
public:
    void send(const std::string& text) override
    {
        auto note = Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
        std::lock_guard lock(mutex_);
        events_.push_back(note);
        cv_.notify_all();
    }
    // The params of the next `method` event with state `state` (consumed, with every
    // event before it), or null after `timeout`.
    Object::Ptr waitFor(const std::string& method, const std::string& state, std::chrono::milliseconds timeout = 20s)
    {
        std::unique_lock lock(mutex_);
        Object::Ptr found;
        cv_.wait_for(lock, timeout, [&] {
            while (!events_.empty()) {
                auto note = events_.front();
                events_.pop_front();
                if (note->getValue<std::string>("method") != method) continue;
                auto params = note->getObject("params");
                if (params->getValue<std::string>("state") == state) {
                    found = params;
                    return true;
                }
            }
            return false;
        });
        return found;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Object::Ptr> events_;
};

class RegistrationTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto& keys = DevKeys::get().dir;
        port = freePort();
        config = new Poco::Util::MapConfiguration;
        config->setString("plugins.billing.deviceDirectory", (keys / "devices/stb-1").string());
        config->setString("plugins.billing.trustAnchor", (keys / "root/root.json").string());
        config->setString("plugins.billing.serverCertificate", (keys / "server/server.cert").string());
        config->setString("plugins.sync.host", "localhost");
        config->setInt("plugins.sync.port", port);
        config->setString("plugins.sync.deviceDirectory", (keys / "devices/stb-1").string());
        config->setString("plugins.sync.trustAnchor", (keys / "root/root.json").string());
        config->setString("plugins.sync.serverCertificate", (keys / "server/server.cert").string());
        config->setInt64("plugins.sync.registrationPollSeconds", 1);
    }
    void TearDown() override
    {
        host.reset();
        server.reset();
    }

    void startStb()
    {
        host::PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = dir.path() / "stb";
        options.dispatcher = &dispatcher;
        host = std::make_unique<host::PluginHost>(options);
        host->load(BILLING_PLUGIN);
        host->load(SYNC_PLUGIN);
        host->startAll();
        for (const auto& p : host->plugins()) ASSERT_EQ(p.state, host::PluginState::Activated) << p.name << ": " << p.reason;
        events = std::make_shared<EventLog>();
        caller = {"tv", {"read", "control"}, events};
        const auto reply = call("host.1.subscribe", R"({"events":["sync.1.registrationChanged"]})");
        ASSERT_TRUE(reply->has("result")) << toText(reply);
    }
    // The server with alice's wallet account and her phone (the STB is not known to it yet).
    void startServer()
    {
        server = std::make_unique<SyncServer>(dir.path() / "server", port);
        auto ops = server->operatorClient();
        const auto text = testing::readFile(DevKeys::get().dir / "phones/phone-1/phone.cert");
        const auto phoneCert = wire::toBase64Url(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
        for (const auto& [path, body] :
             {std::pair<std::string, std::string>{"/v1/operator/accounts",
                                                  R"({"accountId":"acct-alice","kind":"wallet","currency":"EUR"})"},
              {"/v1/operator/phones", R"({"certificate":")" + phoneCert + R"(","accountId":"acct-alice"})"}}) {
            const auto r = ops.call("POST", path, body);
            ASSERT_LT(r.status, 300) << r.raw;
        }
    }

    static std::string toText(const Object::Ptr& o)
    {
        std::ostringstream out;
        o->stringify(out);
        return out.str();
    }
    Object::Ptr call(const std::string& method, const std::string& params = "{}")
    {
        const auto text = dispatcher.handle(
            R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}", caller);
        return Poco::JSON::Parser().parse(text.value_or("{}")).extract<Object::Ptr>();
    }
    Object::Ptr result(const std::string& method)
    {
        const auto reply = call(method);
        EXPECT_TRUE(reply->has("result")) << method << ": " << toText(reply);
        return reply->has("result") ? reply->getObject("result") : Object::Ptr(new Object);
    }
    // The JSON-RPC error of a call that must fail: {code, message, data: {error}}.
    Object::Ptr failure(const std::string& method)
    {
        const auto reply = call(method);
        EXPECT_TRUE(reply->has("error")) << method << ": " << toText(reply);
        return reply->has("error") ? reply->getObject("error") : Object::Ptr(new Object);
    }
    static std::string keyword(const Object::Ptr& error)
    {
        return error->has("data") ? error->getObject("data")->getValue<std::string>("error") : "";
    }
    serverapi::ClientResponse present(const std::string& code)
    {
        return server->phoneClient().call("POST", "/v1/phone/registrations", R"({"code":")" + code + R"("})");
    }

    testing::TempDir dir{"sync-registration"};
    std::uint16_t port = 0;
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    std::unique_ptr<host::PluginHost> host;
    std::unique_ptr<SyncServer> server;
    std::shared_ptr<EventLog> events;
    rpc::Caller caller;
};

TEST_F(RegistrationTest, PhonePresentsTheCodeAndTheBoxIsRegisteredAcrossRestarts)
{
    startServer();
    startStb();
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("state"), "unregistered");
    // Not registered yet: the device's routes are closed to it.
    auto link = host->services().find<ServerLink>();
    ASSERT_TRUE(link);
    EXPECT_NE(link->call("GET", "/v1/stb/catalog").status, 200);

    const auto started = result("sync.1.register");
    ASSERT_EQ(started->getValue<std::string>("state"), "pending") << toText(started);
    const auto code = started->getValue<std::string>("code");
    EXPECT_EQ(code.size(), 8u);
    EXPECT_GT(started->getValue<std::int64_t>("expiresAt"), ::time(nullptr));
    EXPECT_FALSE(started->has("accountId"));
    const auto shown = events->waitFor("sync.1.registrationChanged", "pending");
    ASSERT_TRUE(shown);
    EXPECT_EQ(shown->getValue<std::string>("code"), code);

    // Asking again while it is pending gives the same code.
    EXPECT_EQ(result("sync.1.register")->getValue<std::string>("code"), code);
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("code"), code);

    // The phone presents the code over its own signed line.
    const auto presented = present(code);
    ASSERT_EQ(presented.status, 200) << presented.raw;

    // The box's poll learns the account, and says so.
    const auto registered = events->waitFor("sync.1.registrationChanged", "registered");
    ASSERT_TRUE(registered);
    EXPECT_EQ(registered->getValue<std::string>("accountId"), "acct-alice");
    const auto now = result("sync.1.registration");
    EXPECT_EQ(now->getValue<std::string>("state"), "registered");
    EXPECT_EQ(now->getValue<std::string>("accountId"), "acct-alice");
    EXPECT_EQ(link->call("GET", "/v1/stb/catalog").status, 200);
    // A registered box answers register with its state, no new code.
    const auto again = result("sync.1.register");
    EXPECT_EQ(again->getValue<std::string>("state"), "registered");
    EXPECT_FALSE(again->has("code"));

    // Restarted without a server: the registration comes from the box's own database.
    server->kill();
    host.reset();
    link.reset();
    startStb();
    const auto restored = result("sync.1.registration");
    EXPECT_EQ(restored->getValue<std::string>("state"), "registered") << toText(restored);
    EXPECT_EQ(restored->getValue<std::string>("accountId"), "acct-alice");
}

TEST_F(RegistrationTest, ExpiredCodeIsReportedAndANewOneIsGiven)
{
    startServer();
    startStb();
    const auto code = result("sync.1.register")->getValue<std::string>("code");
    ASSERT_TRUE(events->waitFor("sync.1.registrationChanged", "pending"));

    // The code's validity runs out (in the server's own database: its validity is 600 s).
    {
        storage::Database db("sqlite:" + (dir.path() / "server/server.db").string());
        db.write([&](storage::Transaction& tx) {
            tx.execute("UPDATE stl_registration SET expires_at = ? WHERE code = ?",
                       {static_cast<std::int64_t>(::time(nullptr)) - 1, code});
        });
    }
    const auto expired = events->waitFor("sync.1.registrationChanged", "expired");
    ASSERT_TRUE(expired);
    EXPECT_EQ(expired->getValue<std::string>("code"), code);
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("state"), "expired");

    // Too late for the phone (the server answers an expired code as an unknown one, so a
    // guesser learns nothing), and the box stays unregistered.
    const auto late = present(code);
    EXPECT_EQ(late.status, 404) << late.raw;
    EXPECT_NE(late.raw.find("unknown or expired registration code"), std::string::npos) << late.raw;
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("state"), "expired");

    // Asking again gives a fresh code, which works.
    const auto fresh = result("sync.1.register");
    ASSERT_EQ(fresh->getValue<std::string>("state"), "pending");
    EXPECT_NE(fresh->getValue<std::string>("code"), code);
    ASSERT_EQ(present(fresh->getValue<std::string>("code")).status, 200);
    ASSERT_TRUE(events->waitFor("sync.1.registrationChanged", "registered"));
}

TEST_F(RegistrationTest, WrongCodeFromThePhoneLeavesTheBoxPending)
{
    startServer();
    startStb();
    const auto code = result("sync.1.register")->getValue<std::string>("code");
    const auto wrong = code == "ABCDEFGH" ? std::string("HGFEDCBA") : std::string("ABCDEFGH");
    const auto refused = present(wrong);
    EXPECT_EQ(refused.status, 404) << refused.raw;
    EXPECT_NE(refused.raw.find("unknown or expired registration code"), std::string::npos) << refused.raw;

    // Checked with the server on the call: still pending, same code, no account.
    const auto now = result("sync.1.registration");
    EXPECT_EQ(now->getValue<std::string>("state"), "pending");
    EXPECT_EQ(now->getValue<std::string>("code"), code);
    EXPECT_FALSE(now->has("accountId"));
    // The right code afterwards still works.
    ASSERT_EQ(present(code).status, 200);
    ASSERT_TRUE(events->waitFor("sync.1.registrationChanged", "registered"));
}

TEST_F(RegistrationTest, NoLineIsAClearError)
{
    // Configured, but no server listening.
    startStb();
    const auto down = failure("sync.1.register");
    EXPECT_EQ(keyword(down), "unavailable");
    EXPECT_NE(down->getValue<std::string>("message").find("no line"), std::string::npos)
        << down->getValue<std::string>("message");
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("state"), "unregistered");
    host.reset();

    // No server configured at all.
    config->setInt("plugins.sync.port", 0);
    startStb();
    const auto none = failure("sync.1.register");
    EXPECT_EQ(keyword(none), "unavailable");
    EXPECT_NE(none->getValue<std::string>("message").find("no line"), std::string::npos);
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("state"), "unregistered");
}

TEST_F(RegistrationTest, ServerRefusalIsPassedOnWithItsMessage)
{
    // The wire certificate of another device than the TLS client: the server refuses it.
    config->setString("plugins.sync.deviceCertificate", (DevKeys::get().dir / "devices/stb-2/device.cert").string());
    startServer();
    startStb();
    const auto error = failure("sync.1.register");
    const auto message = error->getValue<std::string>("message");
    EXPECT_EQ(message.rfind("the server refused the registration: ", 0), 0u) << message;
    EXPECT_EQ(keyword(error), "wrong audience") << message;
    EXPECT_NE(message.find("not this TLS client's"), std::string::npos) << message;
    EXPECT_EQ(result("sync.1.registration")->getValue<std::string>("state"), "unregistered");
}

} // namespace
} // namespace boxoffice::sync::test
