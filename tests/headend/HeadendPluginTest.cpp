// The headend server plugin loaded by the real plugin host, called over JSON-RPC.

#include "../descrambler/SyntheticStream.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/host/PluginHost.h>
#include <boxoffice/mpegts/StreamDescrambler.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <Poco/Util/MapConfiguration.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>
#include <fstream>

using namespace boxoffice;
using ::testing::HasSubstr;

namespace {

std::filesystem::path pluginLibrary() {
    const char* b = std::getenv("BOXOFFICE_BUILD_DIR");
    return std::filesystem::path(b ? b : BOXOFFICE_TEST_BUILD_DIR) / "lib/boxoffice/server-plugins/libboxoffice-headend.so";
}

class HeadendPluginTest : public ::testing::Test {
protected:
    void SetUp() override {
        root = std::filesystem::path(::testing::TempDir()) /
               ("boxoffice-headend-plugin-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
                std::to_string(::getpid()));
        std::filesystem::remove_all(root);
        std::filesystem::create_directories(root / "media");
        config = new Poco::Util::MapConfiguration;
        config->setString("plugins.headend.mediaDirectory", (root / "media").string());
        host::PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = root / "data";
        options.dispatcher = &dispatcher;
        host = std::make_unique<host::PluginHost>(options);
        host->load(pluginLibrary());
        host->startAll();
    }
    void TearDown() override {
        host.reset();
        std::filesystem::remove_all(root);
    }
    std::string call(const std::string& method, const std::string& params, const char* scope = "operator") {
        rpc::Caller caller{"test", {scope}, nullptr};
        return dispatcher
            .handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}", caller)
            .value_or("");
    }

    std::filesystem::path root;
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    std::unique_ptr<host::PluginHost> host;
};

} // namespace

TEST_F(HeadendPluginTest, ScramblesAFileOfTheMediaDirectory) {
    ASSERT_EQ(host->state("headend"), host::PluginState::Activated);
    const Bytes clear = testutil::makeStream(testutil::StreamOptions{.packets = 3000});
    {
        std::ofstream out(root / "media/clear.ts", std::ios::binary);
        out.write(reinterpret_cast<const char*>(clear.data()), static_cast<std::streamsize>(clear.size()));
    }
    const std::string key = "00112233445566778899aabbccddeeff";
    const std::string reply = call("headend.1.scrambleFile",
                                   R"({"input":"clear.ts","output":"out.ts","eventKey":")" + key +
                                       R"(","eventId":77,"algorithm":"atis-idsa","cryptoPeriod":1,)"
                                       R"("ppvEvents":[{"eventId":77,"start":1767225600,"duration":3600,"name":"Cup"}]})");
    EXPECT_THAT(reply, HasSubstr(R"("packetsIn":3000)"));
    EXPECT_THAT(reply, HasSubstr(R"("cryptoPeriods":3)"));

    std::ifstream in(root / "media/out.ts", std::ios::binary);
    Bytes scrambled(std::istreambuf_iterator<char>(in), {});
    mpegts::EventKeyService keys;
    keys.addEventKey(77, fromHex(key));
    mpegts::StreamDescrambler engine(mpegts::StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    auto r = engine.process(scrambled);
    Bytes out(scrambled.begin(), scrambled.begin() + static_cast<std::ptrdiff_t>(r.inPlace));
    out.insert(out.end(), r.tail.begin(), r.tail.end());
    EXPECT_EQ(testutil::firstDifference(testutil::packetsOf(out, {0x100, 0x101}),
                                        testutil::packetsOf(clear, {0x100, 0x101})),
              -1);
    EXPECT_GT(engine.statistics().descrambled, 2000u);
}

TEST_F(HeadendPluginTest, RefusesPathsOutsideTheMediaDirectoryAndBadParameters) {
    const std::string key = R"("eventKey":"00112233445566778899aabbccddeeff","eventId":1)";
    EXPECT_THAT(call("headend.1.scrambleFile", R"({"input":"../etc/passwd","output":"o.ts",)" + key + "}"),
                HasSubstr("error"));
    EXPECT_THAT(call("headend.1.scrambleFile", R"({"input":"/etc/passwd","output":"o.ts",)" + key + "}"),
                HasSubstr("plain names"));
    EXPECT_THAT(call("headend.1.scrambleFile", R"({"input":"missing.ts","output":"o.ts",)" + key + "}"),
                HasSubstr("cannot open"));
    EXPECT_THAT(call("headend.1.scrambleFile",
                     R"({"input":"a.ts","output":"o.ts","eventKey":"zz","eventId":1})"),
                HasSubstr("error"));
    EXPECT_THAT(call("headend.1.scrambleFile", R"({"input":"a.ts","output":"o.ts",)" + key + "}", "read"),
                HasSubstr("error"));
    EXPECT_FALSE(std::filesystem::exists(root / "media/o.ts"));
    EXPECT_THAT(call("headend.1.info", "{}"), HasSubstr(R"("caSystemId":65346)"));
}
