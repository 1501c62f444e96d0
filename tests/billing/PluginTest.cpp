// The real billing plugin library in a PluginHost: it imports the device identity,
// opens its history, publishes billing::History and answers billing.1.*.

#include "Fixture.h"

#include <boxoffice/host/PluginHost.h>
#include <boxoffice/trust/KeyFiles.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Util/MapConfiguration.h>

#include <gmock/gmock.h>

using ::testing::HasSubstr;

namespace boxoffice::billing::test {
namespace {

class BillingPluginTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto& k = DevKeys::get();
        const auto serverCert = dir / "server-agree.cert";
        const Bytes encoded = k.serverWithAgreement.encode();
        trust::writeKeyFile(serverCert, std::string(encoded.begin(), encoded.end()), false, true);
        config = new Poco::Util::MapConfiguration;
        config->setString("plugins.billing.deviceDirectory", (k.keysDir() / "devices" / "stb-1").string());
        config->setString("plugins.billing.trustAnchor", (k.keysDir() / "root" / "root.json").string());
        config->setString("plugins.billing.serverCertificate", serverCert.string());
        config->setInt64("plugins.billing.creditLimit", 2000);
        config->setString("plugins.billing.currency", "EUR");
    }

    std::unique_ptr<host::PluginHost> start()
    {
        host::PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = dir / "data";
        options.dispatcher = &dispatcher;
        auto h = std::make_unique<host::PluginHost>(options);
        h->load(BILLING_PLUGIN);
        h->startAll();
        return h;
    }

    Poco::JSON::Object::Ptr call(const std::string& method, const std::string& params = "{}")
    {
        rpc::Caller caller{"tv", {"read"}, nullptr};
        const auto text = dispatcher.handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}",
                                            caller);
        EXPECT_TRUE(text.has_value());
        return Poco::JSON::Parser().parse(text.value_or("{}")).extract<Poco::JSON::Object::Ptr>();
    }

    testing::TempDir dir{"billing-plugin"};
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
};

TEST_F(BillingPluginTest, LoadsPublishesTheServiceAndAnswersJsonRpc)
{
    auto h = start();
    const auto list = h->plugins();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].name, "billing");
    ASSERT_EQ(list[0].state, host::PluginState::Activated) << list[0].reason;

    auto history = h->services().find<History>();
    ASSERT_TRUE(history);
    history->append(purchase(1500, true, kJan2027 + 100, "ev-big"));
    history->append(purchase(300, false, kJan2027 + 200, "ev-small"));
    EXPECT_EQ(codeOf([&] { history->append(purchase(600, true)); }), ErrorCode::LimitExceeded);

    auto credit = call("billing.1.credit")->getObject("result");
    ASSERT_TRUE(credit);
    EXPECT_EQ(credit->getValue<Poco::Int64>("limit"), 2000);
    EXPECT_EQ(credit->getValue<Poco::Int64>("outstanding"), 1500);
    EXPECT_EQ(credit->getValue<Poco::Int64>("available"), 500);
    EXPECT_EQ(credit->getValue<std::string>("currency"), "EUR");

    auto result = call("billing.1.history", R"({"limit":10})")->getObject("result");
    ASSERT_TRUE(result);
    auto records = result->getArray("records");
    ASSERT_EQ(records->size(), 2u);
    EXPECT_EQ(records->getObject(0)->getValue<std::string>("eventId"), "ev-small");   // newest first
    EXPECT_EQ(records->getObject(1)->getValue<Poco::Int64>("amount"), 1500);
    EXPECT_TRUE(records->getObject(1)->getValue<bool>("deferred"));
    EXPECT_FALSE(records->getObject(1)->getValue<bool>("settled"));

    auto statement = call("billing.1.statement", R"({"year":2027,"month":1})")->getObject("result");
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->getValue<Poco::Int64>("purchased"), 1800);
    EXPECT_EQ(statement->getArray("records")->size(), 2u);

    auto bad = call("billing.1.history", R"({"limit":0})");
    ASSERT_TRUE(bad->getObject("error"));

    // Settling through the service frees credit; the history survives a restart of the plugin.
    history->applySettlement(settlementFor(history->recent(1, 0).at(0), "settle-plugin").encode());
    EXPECT_EQ(call("billing.1.credit")->getObject("result")->getValue<Poco::Int64>("available"), 2000);
    history.reset();
    h->stopAll();
    EXPECT_FALSE(h->services().find<History>());
    EXPECT_FALSE(dispatcher.hasMethod("billing.1.credit"));
    h->activate("billing");
    EXPECT_EQ(h->services().require<History>()->status().lastSequence, 2u);
    EXPECT_EQ(call("billing.1.credit")->getObject("result")->getValue<Poco::UInt64>("settledThrough"), 2u);
}

TEST_F(BillingPluginTest, FailsWithAReasonWhenTheHistoryWasTamperedWith)
{
    {
        auto h = start();
        auto history = h->services().require<History>();
        history->append(purchase(100));
        history->append(purchase(200));
    }
    tamper(dir / "data" / "billing" / "history.db", "UPDATE billing_record SET amount = 5 WHERE seq = 1");
    auto h = start();
    const auto list = h->plugins();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].state, host::PluginState::Failed);
    EXPECT_THAT(list[0].reason, HasSubstr("record 1"));
    EXPECT_FALSE(h->services().find<History>());
}

TEST_F(BillingPluginTest, FailsWithoutADeviceIdentity)
{
    config->setString("plugins.billing.deviceDirectory", "");
    auto h = start();
    EXPECT_EQ(h->plugins().at(0).state, host::PluginState::Failed);
    EXPECT_THAT(h->plugins().at(0).reason, HasSubstr("no device identity"));
}

} // namespace
} // namespace boxoffice::billing::test
