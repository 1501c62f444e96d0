// The plugin host against real plugin libraries (built from plugin/TestPlugin.cpp).

#include "Journal.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/host/PluginHost.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Util/MapConfiguration.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::host;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

const std::filesystem::path kPluginRoot = TEST_PLUGIN_ROOT;

class PluginHostTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        config = new Poco::Util::MapConfiguration;
        dataRoot = std::filesystem::temp_directory_path() / ("host-test-" + std::to_string(::getpid()));
    }

    void TearDown() override { std::filesystem::remove_all(dataRoot); }

    std::unique_ptr<PluginHost> makeHost(const std::string& scenario, ApiVersion hostApi = kHostApi,
                                         ApiVersion oldest = kOldestPluginApi)
    {
        PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = dataRoot;
        options.dispatcher = &dispatcher;
        options.hostApi = hostApi;
        options.oldestPluginApi = oldest;
        auto host = std::make_unique<PluginHost>(options);
        host->services().publish<test::Journal>(journal, "test");
        host->loadDirectory(kPluginRoot / scenario);
        return host;
    }

    static const PluginInfo& info(const std::vector<PluginInfo>& list, const std::string& name)
    {
        for (const auto& item : list)
            if (item.name == name) return item;
        throw std::runtime_error("no plugin " + name + " listed");
    }

    std::string call(const std::string& method)
    {
        rpc::Caller caller{"test", {"read", "admin"}, nullptr};
        return dispatcher.handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"("})", caller).value_or("");
    }

    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    std::filesystem::path dataRoot;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    std::shared_ptr<test::Journal> journal = std::make_shared<test::Journal>();
};

TEST_F(PluginHostTest, StartsInDependencyOrderAndStopsInReverse)
{
    config->setString("plugins.beta.greeting", "hello beta");
    auto host = makeHost("ordered");
    host->startAll();
    EXPECT_THAT(journal->take(), ElementsAre("init:gamma greeting=-", "init:beta greeting=hello beta",
                                             "init:alpha greeting=-"));
    const auto list = host->plugins();
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[0].name, "gamma");
    EXPECT_EQ(list[1].name, "beta");
    EXPECT_EQ(list[2].name, "alpha");
    for (const auto& item : list) {
        EXPECT_EQ(item.state, PluginState::Activated) << item.name << ": " << item.reason;
        EXPECT_EQ(item.version, "1.2.3");
    }
    EXPECT_THAT(call("alpha.1.hello"), HasSubstr(R"("result":"alpha")"));

    host->stopAll();
    EXPECT_THAT(journal->take(), ElementsAre("deinit:alpha", "deinit:beta", "deinit:gamma"));
    EXPECT_FALSE(dispatcher.hasMethod("alpha.1.hello"));
    EXPECT_THAT(call("alpha.1.hello"), HasSubstr("-32601"));
    for (const auto& item : host->plugins()) EXPECT_EQ(item.state, PluginState::Deactivated);
}

TEST_F(PluginHostTest, DeactivatingADependencyStopsItsDependentsFirst)
{
    auto host = makeHost("ordered");
    host->startAll();
    journal->take();
    host->deactivate("gamma");
    EXPECT_THAT(journal->take(), ElementsAre("deinit:alpha", "deinit:beta", "deinit:gamma"));
    EXPECT_EQ(host->state("alpha"), PluginState::Deactivated);
    host->activate("alpha");
    EXPECT_THAT(journal->take(), ElementsAre("init:gamma greeting=-", "init:beta greeting=-", "init:alpha greeting=-"));
}

TEST_F(PluginHostTest, HostRefusesAPluginBuiltForANewerApi)
{
    auto host = makeHost("versions");
    host->startAll();
    const auto list = host->plugins();
    const auto& tooNew = info(list, "too-new");
    EXPECT_EQ(tooNew.state, PluginState::Failed);
    EXPECT_THAT(tooNew.reason, HasSubstr("host refuses plugin 'too-new' 1.2.3"));
    EXPECT_THAT(tooNew.reason, HasSubstr("built against host API 1.1"));
    EXPECT_THAT(tooNew.reason, HasSubstr("provides API 1.0"));
    EXPECT_EQ(info(list, "fits").state, PluginState::Activated);
    EXPECT_THAT(journal->take(), ElementsAre("init:fits greeting=-"));
}

TEST_F(PluginHostTest, PluginRefusesAHostOutsideItsRange)
{
    auto host = makeHost("versions");
    host->startAll();
    const auto list = host->plugins();
    const auto& wantsV2 = info(list, "wants-v2");
    EXPECT_EQ(wantsV2.state, PluginState::Failed);
    EXPECT_THAT(wantsV2.reason, HasSubstr("plugin 'wants-v2' 1.2.3 refuses this host"));
    EXPECT_THAT(wantsV2.reason, HasSubstr("works with host API 2.0 to 2.65535"));
    EXPECT_THAT(wantsV2.reason, HasSubstr("this host provides 1.0"));
}

TEST_F(PluginHostTest, NewerMajorHostRefusesOldPluginsAndAcceptsThoseThatAskForIt)
{
    auto host = makeHost("versions", ApiVersion{2, 0}, ApiVersion{2, 0});
    host->startAll();
    const auto list = host->plugins();
    EXPECT_EQ(info(list, "fits").state, PluginState::Failed);
    EXPECT_THAT(info(list, "fits").reason, HasSubstr("built against host API 1.0, this host provides API 2.0"));
    // wants-v2 was still built against 1.0, so the host refuses it too.
    EXPECT_EQ(info(list, "wants-v2").state, PluginState::Failed);
    EXPECT_THAT(journal->take(), ElementsAre());
}

TEST_F(PluginHostTest, MissingDependencyBlocksOnlyTheDependent)
{
    auto host = makeHost("missing");
    host->startAll();
    const auto list = host->plugins();
    EXPECT_EQ(info(list, "lonely").state, PluginState::Blocked);
    EXPECT_EQ(info(list, "lonely").reason, "missing dependency 'nonexistent'");
    EXPECT_EQ(info(list, "solo").state, PluginState::Activated);
    EXPECT_THROW(host->activate("lonely"), Error);
}

TEST_F(PluginHostTest, DependencyCycleIsReportedByName)
{
    auto host = makeHost("cycle");
    host->startAll();
    const auto list = host->plugins();
    for (const char* name : {"c1", "c2", "c3"}) {
        EXPECT_EQ(info(list, name).state, PluginState::Blocked) << name;
        EXPECT_THAT(info(list, name).reason, HasSubstr("dependency cycle: "));
    }
    EXPECT_THAT(info(list, "c1").reason, HasSubstr("c1 -> c2 -> c3 -> c1"));
    EXPECT_EQ(info(list, "after-cycle").state, PluginState::Blocked);
    EXPECT_THAT(info(list, "after-cycle").reason, HasSubstr("dependency 'c1' is blocked"));
    EXPECT_EQ(info(list, "solo").state, PluginState::Activated);
}

TEST_F(PluginHostTest, FailedInitializeMarksThePluginAndItsDependentsOnly)
{
    auto host = makeHost("failing");
    host->startAll();
    const auto list = host->plugins();
    EXPECT_EQ(info(list, "fails").state, PluginState::Failed);
    EXPECT_EQ(info(list, "fails").reason, "configured to fail");
    EXPECT_EQ(info(list, "throws").state, PluginState::Failed);
    EXPECT_EQ(info(list, "throws").reason, "initialize threw: boom");
    EXPECT_EQ(info(list, "throws-int").state, PluginState::Failed);
    EXPECT_EQ(info(list, "throws-int").reason, "initialize threw a non-standard exception");
    EXPECT_EQ(info(list, "needs-fails").state, PluginState::Blocked);
    EXPECT_EQ(info(list, "needs-fails").reason, "dependency 'fails' is failed (configured to fail)");
    EXPECT_EQ(info(list, "solo").state, PluginState::Activated);
    const auto& notPlugin = info(list, "libnotaplugin");
    EXPECT_EQ(notPlugin.state, PluginState::Failed);
    EXPECT_THAT(notPlugin.reason, HasSubstr("not a BoxOffice plugin"));
    EXPECT_THAT(notPlugin.reason, HasSubstr("boxoffice_plugin_api_version"));
    EXPECT_THAT(journal->take(), ElementsAre("init:solo greeting=-"));
}

TEST_F(PluginHostTest, DisabledPluginStaysDownAndBlocksItsDependents)
{
    config->setBool("plugins.beta.enabled", false);
    auto host = makeHost("ordered");
    host->startAll();
    const auto list = host->plugins();
    EXPECT_EQ(info(list, "gamma").state, PluginState::Activated);
    EXPECT_EQ(info(list, "beta").state, PluginState::Deactivated);
    EXPECT_EQ(info(list, "beta").reason, "disabled in configuration");
    EXPECT_EQ(info(list, "alpha").state, PluginState::Blocked);
}

TEST_F(PluginHostTest, ControlMethodsListPluginsWithStateAndReason)
{
    auto host = makeHost("failing");
    host->addControlMethods(dispatcher);
    host->startAll();
    const std::string reply = call("host.1.plugins");
    EXPECT_THAT(reply, HasSubstr(R"("name":"fails","version":"1.2.3","state":"failed","reason":"configured to fail")"));
    EXPECT_THAT(reply, HasSubstr(R"("name":"solo","version":"1.2.3","state":"activated","reason":"")"));
    rpc::Caller reader{"reader", {"read"}, nullptr};
    EXPECT_THAT(dispatcher.handle(R"({"jsonrpc":"2.0","id":2,"method":"host.1.deactivate","params":{"name":"solo"}})",
                                  reader).value_or(""),
                HasSubstr("-32002"));
    EXPECT_EQ(host->state("solo"), PluginState::Activated);
    EXPECT_THAT(call("host.1.logLevels"), HasSubstr("result"));
}

TEST_F(PluginHostTest, ThousandActivationCyclesStayConsistent)
{
    auto host = makeHost("ordered");
    host->startAll();
    for (int i = 0; i < 1000; ++i) {
        host->deactivate("gamma");
        ASSERT_EQ(host->state("alpha"), PluginState::Deactivated);
        ASSERT_FALSE(dispatcher.hasMethod("beta.1.hello"));
        host->activate("alpha");
        ASSERT_EQ(host->state("gamma"), PluginState::Activated);
        ASSERT_TRUE(dispatcher.hasMethod("alpha.1.hello"));
    }
    const auto lines = journal->take();
    EXPECT_EQ(lines.size(), 3u + 1000u * 6u);
}

TEST_F(PluginHostTest, PluginsCannotRegisterOtherPluginsMethods)
{
    auto host = makeHost("ordered");
    host->startAll();
    EXPECT_FALSE(dispatcher.hasMethod("host.1.hello"));
    EXPECT_TRUE(dispatcher.hasMethod("gamma.1.hello"));
}

} // namespace
