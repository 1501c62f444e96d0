// The STB plugin "descrambler" loaded by the real plugin host: plays a service
// scrambled by the headend with keys from a KeyService in the registry, reports
// statistics, and refuses clearly when no ticket covers the event.

#include "SyntheticStream.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/host/PluginHost.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Util/MapConfiguration.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <thread>

using namespace boxoffice;
using ::testing::HasSubstr;

namespace {

const char* const keyHex = "00112233445566778899aabbccddeeff";

class PlaybackPluginTest : public ::testing::Test {
protected:
    void SetUp() override {
        root = std::filesystem::path(::testing::TempDir()) /
               ("boxoffice-playback-plugin-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
                std::to_string(::getpid()));
        std::filesystem::remove_all(root);
        std::filesystem::create_directories(root);
        config = new Poco::Util::MapConfiguration;
        config->setInt("plugins.descrambler.ticketTimeoutMs", 5000);
        host::PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = root / "data";
        options.dispatcher = &dispatcher;
        host = std::make_unique<host::PluginHost>(options);
        keys = std::make_shared<mpegts::EventKeyService>();
        host->services().publish<mpegts::KeyService>(keys, "test-wallet");
        const char* b = std::getenv("BOXOFFICE_BUILD_DIR");
        host->load(std::filesystem::path(b ? b : BOXOFFICE_TEST_BUILD_DIR) /
                   "lib/boxoffice/plugins/libboxoffice-descrambler.so");
        host->startAll();
    }
    void TearDown() override {
        host.reset();
        std::filesystem::remove_all(root);
    }
    std::string call(const std::string& method, const std::string& params = "{}") {
        rpc::Caller caller{"test", {"read", "control"}, nullptr};
        return dispatcher
            .handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}", caller)
            .value_or("");
    }
    // A 3 s MPEG-2 + MP2 service, scrambled for event 7.
    std::string makeScrambledVideo() {
        const std::string clear = (root / "clear.ts").string(), scrambled = (root / "scrambled.ts").string();
        const std::string ffmpeg =
            "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=192x144:rate=25 -f lavfi "
            "-i sine=frequency=440:sample_rate=48000 -t 3 -c:v mpeg2video -g 10 -c:a mp2 -f mpegts " + clear;
        if (std::system(ffmpeg.c_str()) != 0)
            return {};
        headend::HeadendConfig c;
        c.eventKey = crypto::SecretBytes(fromHex(keyHex));
        c.eventId = 7;
        c.cryptoPeriodSeconds = 1;
        headend::scrambleFile(clear, scrambled, c);
        return scrambled;
    }

    std::filesystem::path root;
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    std::unique_ptr<host::PluginHost> host;
    std::shared_ptr<mpegts::EventKeyService> keys;
};

} // namespace

TEST_F(PlaybackPluginTest, PlaysWithATicketAndReportsStatistics) {
    ASSERT_EQ(host->state("descrambler"), host::PluginState::Activated);
    const std::string file = makeScrambledVideo();
    if (file.empty())
        GTEST_SKIP() << "ffmpeg cannot generate the test video here";
    keys->addEventKey(7, fromHex(keyHex));
    EXPECT_THAT(call("descrambler.1.play", R"({"uri":"file://)" + file + R"("})"), HasSubstr(R"("state":"playing")"));
    std::string status;
    for (int i = 0; i < 100; ++i) {  // the file plays to its end
        status = call("descrambler.1.status");
        if (status.find(R"("state":"ended")") != std::string::npos)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_THAT(status, HasSubstr(R"("state":"ended")"));
    EXPECT_THAT(status, HasSubstr(R"("without-key":0)"));
    EXPECT_THAT(status, ::testing::Not(HasSubstr(R"("descrambled":0)")));
    EXPECT_THAT(status, ::testing::Not(HasSubstr(R"("error")")));
    // When the first ECM opened and the first frame was decoded, from the play request.
    const auto timeline = Poco::JSON::Parser().parse(status).extract<Poco::JSON::Object::Ptr>()
                              ->getObject("result")->getObject("timeline");
    ASSERT_TRUE(timeline && timeline->has("firstEcmMs") && timeline->has("firstFrameMs")) << status;
    EXPECT_GT(timeline->getValue<double>("firstEcmMs"), 0.0);
    EXPECT_GE(timeline->getValue<double>("firstFrameMs"), timeline->getValue<double>("firstEcmMs"));
    EXPECT_THAT(call("descrambler.1.stop"), HasSubstr(R"("result":true)"));
    EXPECT_THAT(call("descrambler.1.status"), HasSubstr(R"("state":"stopped")"));
}

TEST_F(PlaybackPluginTest, SnapshotSavesTheLastDecodedFrameAsPng) {
    EXPECT_THAT(call("descrambler.1.snapshot", R"({"name":"before"})"), HasSubstr("nothing is playing"));
    EXPECT_THAT(call("descrambler.1.snapshot", R"({"name":"../escape"})"), HasSubstr("letters, digits"));
    const std::string file = makeScrambledVideo();
    if (file.empty())
        GTEST_SKIP() << "ffmpeg cannot generate the test video here";
    keys->addEventKey(7, fromHex(keyHex));
    ASSERT_THAT(call("descrambler.1.play", R"({"uri":"file://)" + file + R"("})"), HasSubstr(R"("state":"playing")"));
    std::string reply;
    for (int i = 0; i < 100; ++i) {  // until a frame has been decoded
        reply = call("descrambler.1.snapshot", R"({"name":"after"})");
        if (reply.find(R"("path")") != std::string::npos)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_THAT(reply, HasSubstr(R"("width":192)"));
    EXPECT_THAT(reply, HasSubstr(R"("height":144)"));
    const auto png = root / "data" / "descrambler" / "snapshots" / "after.png";
    ASSERT_TRUE(std::filesystem::exists(png)) << reply;
    std::ifstream in(png, std::ios::binary);
    std::string signature(8, '\0');
    in.read(signature.data(), 8);
    EXPECT_EQ(signature, std::string("\x89PNG\r\n\x1a\n", 8));
    // testsrc's bars and text do not compress to nothing: a real picture, not a blank.
    EXPECT_GT(std::filesystem::file_size(png), 2000u);
}

TEST_F(PlaybackPluginTest, NoTicketIsAClearError) {
    const std::string file = makeScrambledVideo();
    if (file.empty())
        GTEST_SKIP() << "ffmpeg cannot generate the test video here";
    const std::string reply = call("descrambler.1.play", R"({"uri":"file://)" + file + R"("})");
    EXPECT_THAT(reply, HasSubstr("no ticket covers this event"));
    EXPECT_THAT(reply, HasSubstr("no key for event 7"));
    EXPECT_THAT(call("descrambler.1.status"), HasSubstr(R"("state":"stopped")"));
}

TEST_F(PlaybackPluginTest, RejectsBadUris) {
    EXPECT_THAT(call("descrambler.1.play", R"({"uri":"http://example.invalid/x.ts"})"), HasSubstr("unsupported uri"));
    EXPECT_THAT(call("descrambler.1.play", R"({"uri":"file:///tmp/a\" ! fakesink"})"), HasSubstr("not allowed"));
    EXPECT_THAT(call("descrambler.1.play", R"({"uri":"udp://239.1.1.1"})"), HasSubstr("host:port"));
    // Ports that are no port: a clear refusal, not an internal error; "80x" is not port 80.
    for (const char* port : {"abc", "99999999999", "80x", "0", "65536", "-5", ""})
        EXPECT_THAT(call("descrambler.1.play", std::string(R"({"uri":"rtp://239.1.1.1:)") + port + R"("})"),
                    HasSubstr("is not a number in 1..65535"))
            << port;
    EXPECT_THAT(call("descrambler.1.status"), HasSubstr(R"("state":"stopped")"));
}
