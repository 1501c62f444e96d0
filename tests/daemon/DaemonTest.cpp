// boxofficed and boxoffice-server as real processes: command line, configuration
// errors, the plugin list over JSON-RPC, SIGTERM, and systemd notification.

#include <boxoffice/rpc/Client.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/testing/NotifySocket.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

using namespace boxoffice;
using namespace boxoffice::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

constexpr const char* kToken = "daemon-test-token";

std::string configJson(const std::filesystem::path& plugins, const std::string& extra = "")
{
    return R"({
  "host": {"pluginDirectory": ")" + plugins.string() + R"(", "dataDirectory": "data"},
  "logging": {"level": "information"},
  "rpc": {"port": 0, "portFile": "port",
          "tokens": [{"client": "test", "sha256": ")" + rpc::TokenStore::digest(kToken) + R"(", "scopes": ["read", "admin"]}]},
  "plugins": {"beta": {"greeting": "hi"}})" + extra + R"(
})";
}

std::uint16_t waitForPort(const TempDir& dir, ChildProcess& daemon)
{
    const auto portFile = dir / "port";
    if (!eventually([&] { return std::filesystem::exists(portFile) || !daemon.running(); }, 30s)) return 0;
    if (!std::filesystem::exists(portFile)) return 0;
    return static_cast<std::uint16_t>(std::stoi(readFile(portFile)));
}

struct Result {
    int status;
    std::string output;
};

Result runToEnd(const char* program, const std::vector<std::string>& args)
{
    ChildProcess child(program, args);
    const auto status = child.wait(30s);
    return {status.value_or(-1), child.output()};
}

TEST(Daemon, HelpDescribesTheOptions)
{
    for (const char* program : {BOXOFFICED, BOXOFFICE_SERVER}) {
        const auto result = runToEnd(program, {"--help"});
        EXPECT_EQ(result.status, 0) << program;
        EXPECT_THAT(result.output, HasSubstr("--config=FILE"));
        EXPECT_THAT(result.output, HasSubstr("Default configuration: /etc/boxoffice/"));
    }
}

TEST(Daemon, ConfigurationErrorsAreClearAndExit78)
{
    TempDir dir;
    const auto missing = runToEnd(BOXOFFICED, {"--config", (dir / "absent.json").string()});
    EXPECT_EQ(missing.status, 78);
    EXPECT_THAT(missing.output, HasSubstr("cannot read configuration"));
    EXPECT_THAT(missing.output, HasSubstr("absent.json: No such file or directory"));

    writeFile(dir / "bad.json", "{\"host\": ");
    const auto bad = runToEnd(BOXOFFICED, {"--config", (dir / "bad.json").string()});
    EXPECT_EQ(bad.status, 78);
    EXPECT_THAT(bad.output, HasSubstr("is not valid JSON"));

    writeFile(dir / "nohost.json", "{\"rpc\": {\"port\": 0}}");
    const auto noHost = runToEnd(BOXOFFICE_SERVER, {"--config", (dir / "nohost.json").string()});
    EXPECT_EQ(noHost.status, 78);
    EXPECT_THAT(noHost.output, HasSubstr("lacks host.pluginDirectory"));

    writeFile(dir / "nodir.json", configJson(dir / "no-such-dir"));
    const auto noDir = runToEnd(BOXOFFICED, {"--config", (dir / "nodir.json").string()});
    EXPECT_EQ(noDir.status, 78);
    EXPECT_THAT(noDir.output, HasSubstr("is not a directory"));

    writeFile(dir / "level.json", R"({"host": {"pluginDirectory": "."}, "logging": {"level": "loud"}})");
    const auto level = runToEnd(BOXOFFICED, {"--config", (dir / "level.json").string()});
    EXPECT_EQ(level.status, 78);
    EXPECT_THAT(level.output, HasSubstr("logging.level 'loud'"));

    const auto badSet = runToEnd(BOXOFFICED, {"--config", (dir / "bad.json").string(), "--set", "novalue"});
    EXPECT_NE(badSet.status, 0);
    EXPECT_THAT(badSet.output, HasSubstr("--set needs KEY=VALUE"));

    writeFile(dir / "token.json", R"({"host": {"pluginDirectory": "."}, "rpc": {"tokens": [{"client": "x", "sha256": "zz"}]}})");
    const auto token = runToEnd(BOXOFFICED, {"--config", (dir / "token.json").string()});
    EXPECT_EQ(token.status, 78);
    EXPECT_THAT(token.output, HasSubstr("token digest of client 'x'"));

    writeFile(dir / "tokenfile.json", R"({"host": {"pluginDirectory": "."}, "rpc": {"tokens": [{"client": "tv", "sha256File": ")" +
                                          (dir / "not-minted").string() + R"("}]}})");
    const auto tokenFile = runToEnd(BOXOFFICED, {"--config", (dir / "tokenfile.json").string()});
    EXPECT_EQ(tokenFile.status, 78);
    EXPECT_THAT(tokenFile.output, HasSubstr("rpc.tokens[0].sha256File: cannot read a digest from"));
    EXPECT_THAT(tokenFile.output, HasSubstr("No such file or directory"));

    writeFile(dir / "both.json", R"({"host": {"pluginDirectory": "."}, "rpc": {"tokens": [{"client": "tv", "sha256": "00", "sha256File": "f"}]}})");
    const auto both = runToEnd(BOXOFFICED, {"--config", (dir / "both.json").string()});
    EXPECT_EQ(both.status, 78);
    EXPECT_THAT(both.output, HasSubstr("sha256 and sha256File both given"));
}

// A digest minted at boot reaches the daemon as a file, wherever the client is in the list.
TEST(Daemon, ATokenDigestCanComeFromAFile)
{
    TempDir dir;
    writeFile(dir / "tv.sha256", rpc::TokenStore::digest("tv-token") + "\n");
    std::string config = configJson(std::filesystem::path(TEST_PLUGIN_ROOT) / "ordered");
    const std::string first = R"("tokens": [)";
    config.insert(config.find(first) + first.size(),
                  R"({"client": "tv", "scopes": ["read"], "sha256File": ")" + (dir / "tv.sha256").string() + R"("}, )");
    writeFile(dir / "boxofficed.json", config);
    ChildProcess daemon(BOXOFFICED, {"--config", (dir / "boxofficed.json").string()});
    const auto port = waitForPort(dir, daemon);
    ASSERT_NE(port, 0) << daemon.output();
    EXPECT_EQ(rpc::HttpClient("127.0.0.1", port, "tv-token").call("beta.1.hello").convert<std::string>(), "beta");
    EXPECT_EQ(rpc::HttpClient("127.0.0.1", port, kToken).call("beta.1.hello").convert<std::string>(), "beta");
    EXPECT_ANY_THROW(rpc::HttpClient("127.0.0.1", port, "tv-token").call("host.1.setLogLevel"));
    EXPECT_ANY_THROW(rpc::HttpClient("127.0.0.1", port, rpc::TokenStore::digest("tv-token")).call("beta.1.hello"))
        << "the digest is not a token";
}

TEST(Daemon, ListsPluginsOverJsonRpcAndStopsInReverseOrderOnSigterm)
{
    TempDir dir;
    writeFile(dir / "boxofficed.json", configJson(std::filesystem::path(TEST_PLUGIN_ROOT) / "ordered"));
    ChildProcess daemon(BOXOFFICED, {"--config", (dir / "boxofficed.json").string()});
    const auto port = waitForPort(dir, daemon);
    ASSERT_NE(port, 0) << daemon.output();

    rpc::HttpClient client("127.0.0.1", port, kToken);
    const auto plugins = client.call("host.1.plugins").extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(plugins->size(), 3u);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < plugins->size(); ++i) {
        const auto plugin = plugins->getObject(static_cast<unsigned>(i));
        names.push_back(plugin->getValue<std::string>("name"));
        EXPECT_EQ(plugin->getValue<std::string>("state"), "activated");
        EXPECT_EQ(plugin->getValue<std::string>("version"), "1.2.3");
    }
    EXPECT_EQ(names, (std::vector<std::string>{"gamma", "beta", "alpha"}));
    EXPECT_EQ(client.call("beta.1.hello").convert<std::string>(), "beta");
    const auto version = client.call("host.1.version").extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(version->getValue<std::string>("daemon"), "boxofficed");

    // Log level switched at runtime.
    Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
    params->set("logger", "beta");
    params->set("level", "debug");
    EXPECT_EQ(client.call("host.1.setLogLevel", params).convert<std::string>(), "debug");
    EXPECT_EQ(client.call("host.1.logLevels").extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("beta"), "debug");

    daemon.signal(SIGTERM);
    const auto status = daemon.wait(30s);
    ASSERT_TRUE(status.has_value()) << "boxofficed did not stop on SIGTERM";
    EXPECT_EQ(*status, 0);
    const std::string log = daemon.output();
    const auto alpha = log.find("deactivated alpha");
    const auto beta = log.find("deactivated beta");
    const auto gamma = log.find("deactivated gamma");
    ASSERT_NE(alpha, std::string::npos) << log;
    ASSERT_NE(gamma, std::string::npos) << log;
    EXPECT_LT(alpha, beta);
    EXPECT_LT(beta, gamma);
    EXPECT_THAT(log, HasSubstr("stopped"));
    EXPECT_THAT(log, ::testing::Not(HasSubstr(kToken)));
}

TEST(Daemon, ServerStartsWithAnEmptyPluginDirectory)
{
    TempDir dir;
    std::filesystem::create_directory(dir / "plugins");
    writeFile(dir / "server.json", configJson(dir / "plugins"));
    ChildProcess server(BOXOFFICE_SERVER, {"--config", (dir / "server.json").string(), "--set",
                                           "rpc.portFile=" + (dir / "port-from-set").string()});
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir / "port-from-set"); }, 30s)) << server.output();
    EXPECT_FALSE(std::filesystem::exists(dir / "port")) << "--set did not override rpc.portFile";
    const auto port = static_cast<std::uint16_t>(std::stoi(readFile(dir / "port-from-set")));
    ASSERT_NE(port, 0) << server.output();
    rpc::HttpClient client("127.0.0.1", port, kToken);
    EXPECT_EQ(client.call("host.1.plugins").extract<Poco::JSON::Array::Ptr>()->size(), 0u);
    EXPECT_EQ(client.call("host.1.version").extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("daemon"),
              "boxoffice-server");
    server.signal(SIGINT);
    EXPECT_EQ(server.wait(30s).value_or(-1), 0);
}

TEST(Daemon, NotifiesSystemdReadyWatchdogAndStopping)
{
    TempDir dir;
    NotifySocket notify(dir / "notify");
    writeFile(dir / "boxofficed.json", configJson(std::filesystem::path(TEST_PLUGIN_ROOT) / "ordered"));
    ChildProcess daemon(BOXOFFICED, {"--config", (dir / "boxofficed.json").string()},
                        {{"NOTIFY_SOCKET", (dir / "notify").string()}, {"WATCHDOG_USEC", "200000"}});
    ASSERT_TRUE(notify.waitFor("READY=1", 30s)) << daemon.output();
    EXPECT_THAT(notify.received(), HasSubstr("STATUS=3 plugins running"));
    EXPECT_TRUE(notify.waitFor("WATCHDOG=1", 10s));
    daemon.signal(SIGTERM);
    EXPECT_TRUE(notify.waitFor("STOPPING=1", 10s));
    EXPECT_EQ(daemon.wait(30s).value_or(-1), 0);
}

} // namespace

namespace {

// systemd may send SIGTERM as soon as READY=1 arrives; that must still be an
// orderly stop, not death by the signal's default action.
TEST(Daemon, SigtermRightAfterReadyStopsCleanly)
{
    TempDir dir;
    writeFile(dir / "boxofficed.json", configJson(std::filesystem::path(TEST_PLUGIN_ROOT) / "ordered"));
    for (int i = 0; i < 5; ++i) {
        NotifySocket notify(dir / ("notify-" + std::to_string(i)));
        ChildProcess daemon(BOXOFFICED, {"--config", (dir / "boxofficed.json").string()},
                            {{"NOTIFY_SOCKET", notify.path().string()}});
        ASSERT_TRUE(notify.waitFor("READY=1", 30s)) << daemon.output();
        daemon.signal(SIGTERM);
        EXPECT_EQ(daemon.wait(30s).value_or(-1), 0) << daemon.output();
        EXPECT_THAT(daemon.output(), HasSubstr("deactivated gamma"));
    }
}

} // namespace
