// The `input` plugin (stb/ui/input) in a real boxofficed: Linux input events
// written to a FIFO that stands in for /dev/input/eventN (no uinput on the build
// machines) come out as input.1.key events on a subscribed WebSocket.

#include <boxoffice/rpc/Client.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/testing/ChildProcess.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/input.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

using namespace boxoffice;
using namespace boxoffice::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

constexpr const char* kToken = "input-test-token";

struct Daemon {
    explicit Daemon(const TempDir& dir, const std::string& devices)
    {
        const auto plugins = dir / "plugins";
        std::filesystem::create_directories(plugins);
        std::filesystem::create_symlink(INPUT_PLUGIN, plugins / std::filesystem::path(INPUT_PLUGIN).filename());
        writeFile(dir / "boxofficed.json", R"({
  "host": {"pluginDirectory": ")" + plugins.string() + R"(", "dataDirectory": "data"},
  "rpc": {"port": 0, "portFile": "port",
          "tokens": [{"client": "tv", "sha256": ")" + rpc::TokenStore::digest(kToken) + R"(", "scopes": ["read"]}]},
  "plugins": {"input": {"devices": [)" + devices + R"(]}}
})");
        process = std::make_unique<ChildProcess>(BOXOFFICED, std::vector<std::string>{"--config", (dir / "boxofficed.json").string()});
        if (eventually([&] { return std::filesystem::exists(dir / "port") || !process->running(); }, 30s) &&
            std::filesystem::exists(dir / "port"))
            port = static_cast<std::uint16_t>(std::stoi(readFile(dir / "port")));
    }
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;
};

std::string events(const std::vector<input_event>& list)
{
    std::string bytes;
    for (const auto& ev : list) bytes.append(reinterpret_cast<const char*>(&ev), sizeof ev);
    return bytes;
}

input_event key(unsigned code, int value) { return {{}, EV_KEY, static_cast<__u16>(code), value}; }

void writeAll(const std::filesystem::path& fifo, const std::string& bytes)
{
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

std::string nextKey(rpc::WebSocketClient& ws)
{
    const auto note = ws.nextNotification(5s);
    if (!note) return "(none)";
    EXPECT_EQ(note->method, "input.1.key");
    return note->params.extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("key");
}

TEST(InputPlugin, ForwardsRemoteKeysAndIgnoresReleasesRepeatsOfNonArrowsAndUnknownKeys)
{
    TempDir dir;
    const auto fifo = dir / "event0";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    Daemon daemon(dir, "\"" + fifo.string() + "\"");
    ASSERT_NE(daemon.port, 0) << daemon.process->output();

    rpc::WebSocketClient ws("127.0.0.1", daemon.port, kToken);
    Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr names = new Poco::JSON::Array;
    names->add("input.1.key");
    params->set("events", names);
    ws.call("host.1.subscribe", params);

    const auto all = events({key(KEY_RED, 1), key(KEY_RED, 0), {{}, EV_SYN, SYN_REPORT, 0},
                             key(KEY_A, 1),                        // not a remote key
                             key(KEY_5, 2),                        // digits do not auto-repeat
                             key(KEY_UP, 1), key(KEY_UP, 2),       // arrows do
                             {{}, EV_MSC, MSC_SCAN, 0x45}, key(KEY_NUMERIC_7, 1), key(KEY_OK, 1), key(KEY_EXIT, 1)});
    // Split inside a record: the plugin waits for the rest.
    const auto cut = sizeof(input_event) * 3 + 5;
    writeAll(fifo, all.substr(0, cut));
    writeAll(fifo, all.substr(cut));

    for (const char* expected : {"red", "up", "up", "7", "ok", "back"}) EXPECT_EQ(nextKey(ws), expected);
    EXPECT_FALSE(ws.nextNotification(300ms).has_value());
}

TEST(InputPlugin, AMissingDeviceFailsThePluginWithItsPath)
{
    TempDir dir;
    Daemon daemon(dir, "\"" + (dir / "no-such-event9").string() + "\"");
    ASSERT_NE(daemon.port, 0) << daemon.process->output();
    rpc::HttpClient client("127.0.0.1", daemon.port, kToken);
    const auto plugins = client.call("host.1.plugins").extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(plugins->size(), 1u);
    EXPECT_EQ(plugins->getObject(0)->getValue<std::string>("state"), "failed");
    EXPECT_THAT(plugins->getObject(0)->getValue<std::string>("reason"), HasSubstr("cannot open input device"));
    EXPECT_THAT(plugins->getObject(0)->getValue<std::string>("reason"), HasSubstr("no-such-event9"));
}

} // namespace
