// GstHarness tests of the tsdescrambler element (registered statically from the
// element's own code), and one check that the built plugin file loads.

#include "../mpegts/TestData.h"
#include "LateTicketKeys.h"
#include "SyntheticStream.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/mpegts/Descrambler.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/mpegts/PayloadCipher.h>
#include <boxoffice/testing/ChildProcess.h>

#include "TsDescrambler.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <utility>


using namespace boxoffice;
using namespace boxoffice::mpegts;

namespace {

class GstEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        gst_init(nullptr, nullptr);
        ASSERT_TRUE(GST_ELEMENT_REGISTER(tsdescrambler, nullptr));
    }
    void TearDown() override { gst_deinit(); }
};
const auto* const environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

const char* const caps = "video/mpegts,systemstream=(boolean)true,packetsize=(int)188";

struct Harness {
    // A single-element launch line gives the element itself (not a bin), so its
    // properties are reachable through h->element.
    explicit Harness(const char* launch = "tsdescrambler")
        : h(nullptr) {
        GstElement* element = gst_parse_launch(launch, nullptr);
        h = gst_harness_new_with_element(element, "sink", "src");
        gst_object_unref(element);
        gst_harness_set_src_caps_str(h, caps);
        bus = gst_bus_new();
        gst_element_set_bus(h->element, bus);
    }
    ~Harness() {
        gst_harness_teardown(h);
        gst_object_unref(bus);
    }
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    GstElement* element() const { return h->element; }

    void push(ByteView bytes) {
        GstBuffer* b = gst_buffer_new_memdup(bytes.data(), bytes.size());
        ASSERT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
    }
    // Everything the element has output so far.
    Bytes pullAll() {
        Bytes out;
        while (GstBuffer* b = gst_harness_try_pull(h)) {
            GstMapInfo map;
            gst_buffer_map(b, &map, GST_MAP_READ);
            out.insert(out.end(), map.data, map.data + map.size);
            gst_buffer_unmap(b, &map);
            gst_buffer_unref(b);
        }
        return out;
    }
    void eos() { ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos())); }
    std::uint64_t stat(const char* name) const {
        guint64 v = 0;
        g_object_get(h->element, name, &v, nullptr);
        return v;
    }
    // Element messages of the given structure name, with their "kind" if any.
    std::vector<std::string> messages(const char* structureName) {
        std::vector<std::string> out;
        while (GstMessage* m = gst_bus_pop(bus)) {
            const GstStructure* s = gst_message_get_structure(m);
            if (s && gst_structure_has_name(s, structureName)) {
                const char* kind = gst_structure_get_string(s, "kind");
                out.emplace_back(kind ? kind : structureName);
            }
            gst_message_unref(m);
        }
        return out;
    }

    GstHarness* h;
    GstBus* bus;
};

Bytes annexBScrambled() {
    Bytes s;
    for (const auto& c : testdata::readCases("dvb-cissa-etsi-annexb.txt")) {
        auto p = testdata::hexOf(c, "scrambled");
        s.insert(s.end(), p.begin(), p.end());
    }
    return s;
}
Bytes annexBClear() {
    Bytes s;
    for (const auto& c : testdata::readCases("dvb-cissa-etsi-annexb.txt")) {
        auto p = testdata::hexOf(c, "clear");
        s.insert(s.end(), p.begin(), p.end());
    }
    return s;
}

const char* const annexBLaunch = "tsdescrambler algorithm=dvb-cissa even-key=00112233445566778899aabbccddeeff";

} // namespace

TEST(Element, FixedKeyCissaAnnexB) {
    Harness h(annexBLaunch);
    h.push(annexBScrambled());
    EXPECT_EQ(h.pullAll(), annexBClear());
    EXPECT_EQ(h.stat("descrambled"), 4u);
    EXPECT_EQ(h.stat("errors"), 0u);
}

TEST(Element, Csa2EntropyReductionOfFixedKeys) {
    // A head-end that reduces the CW (TSDuck's default) while the operator knows the full one.
    Bytes stream = testutil::makeStream(testutil::StreamOptions{.packets = 40});
    const Bytes clear = stream;
    Bytes reduced = fromHex("0123456789abcdef");
    reduceCsa2Entropy(reduced);
    Scrambler s(Algorithm::DvbCsa2);
    s.setKey(Scrambling::Even, reduced);
    for (std::size_t at = 0; at < stream.size(); at += packetSize)
        if (PacketView(stream.data() + at).pid() == 0x100)
            s.scramble(stream.data() + at, Scrambling::Even);
    {
        Harness h("tsdescrambler algorithm=dvb-csa2 even-key=0123456789abcdef");
        h.push(stream);
        EXPECT_NE(h.pullAll(), clear) << "the full CW does not open a reduced-CW stream";
    }
    Harness h("tsdescrambler algorithm=dvb-csa2 csa2-entropy-reduction=true even-key=0123456789abcdef");
    h.push(stream);
    EXPECT_EQ(h.pullAll(), clear);
}

TEST(Element, NonWritableBufferIsNotModified) {
    Harness h(annexBLaunch);
    const Bytes scrambled = annexBScrambled();
    GstBuffer* b = gst_buffer_new_memdup(scrambled.data(), scrambled.size());
    gst_buffer_ref(b);  // a second reference makes it non-writable
    ASSERT_EQ(gst_harness_push(h.h, b), GST_FLOW_OK);
    EXPECT_EQ(h.pullAll(), annexBClear());
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    EXPECT_EQ(Bytes(map.data, map.data + map.size), scrambled);
    gst_buffer_unmap(b, &map);
    gst_buffer_unref(b);
}

// A writable buffer from upstream (as filesrc gives) is descrambled where it
// lies: the output shares its memory. Only the packet split across two buffers
// is assembled on a copy.
TEST(Element, WritableInputIsDescrambledInPlaceWithoutACopy) {
    Harness h(annexBLaunch);
    const Bytes scrambled = annexBScrambled(), clear = annexBClear();
    Bytes first = scrambled;
    first.insert(first.end(), scrambled.begin(), scrambled.begin() + 100);
    GstBuffer* in = gst_buffer_new_memdup(first.data(), first.size());
    GstMapInfo map;
    ASSERT_TRUE(gst_buffer_map(in, &map, GST_MAP_READ));
    const auto* inputBytes = map.data;
    gst_buffer_unmap(in, &map);
    ASSERT_EQ(gst_harness_push(h.h, in), GST_FLOW_OK);

    GstBuffer* out = gst_harness_pull(h.h);
    ASSERT_NE(out, nullptr);
    ASSERT_TRUE(gst_buffer_map(out, &map, GST_MAP_READ));
    EXPECT_EQ(map.data, inputBytes) << "the whole packets were copied";
    EXPECT_EQ(Bytes(map.data, map.data + map.size), clear);
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
    EXPECT_EQ(gst_harness_try_pull(h.h), nullptr) << "the partial packet waits for the next buffer";

    h.push(ByteView(scrambled.data() + 100, scrambled.size() - 100));
    h.eos();
    EXPECT_EQ(h.pullAll(), clear) << "the split packet, then the three whole ones";
    EXPECT_EQ(h.stat("descrambled"), 8u);
}

// A source marks its first buffer DISCONT. When that buffer is shorter than a
// packet nothing goes out for it, and the base class's "DISCONT still to mark"
// carries over to the next input: that is not a gap, the packet is joined.
TEST(Element, AShortFirstBufferIsNotTakenForAGap) {
    Harness h(annexBLaunch);
    const Bytes scrambled = annexBScrambled();
    GstBuffer* first = gst_buffer_new_memdup(scrambled.data(), 100);
    GST_BUFFER_FLAG_SET(first, GST_BUFFER_FLAG_DISCONT);
    ASSERT_EQ(gst_harness_push(h.h, first), GST_FLOW_OK);
    h.push(ByteView(scrambled.data() + 100, scrambled.size() - 100));
    h.eos();
    EXPECT_EQ(h.pullAll(), annexBClear());
    EXPECT_EQ(h.stat("errors"), 0u);
}

// Data lost upstream (a DISCONT buffer): the start of a packet carried from before
// the gap is passed on as it is, not joined to bytes from after it, and only the
// first output after the gap is marked DISCONT.
TEST(Element, APacketCutByADiscontinuityIsNotJoinedAcrossIt) {
    Harness h(annexBLaunch);
    const Bytes scrambled = annexBScrambled(), clear = annexBClear();
    const auto packet = [](const Bytes& s, std::size_t i) { return Bytes(s.begin() + i * 188, s.begin() + (i + 1) * 188); };
    // Packet 0 whole and the first 100 bytes of packet 1; then, after a gap, the
    // last 50 bytes of a lost packet and packets 2 and 3.
    Bytes before = packet(scrambled, 0);
    before.insert(before.end(), scrambled.begin() + 188, scrambled.begin() + 288);
    Bytes after(scrambled.begin() + 138 + 188, scrambled.begin() + 2 * 188);  // 50 bytes, no sync
    const Bytes tail(scrambled.begin() + 2 * 188, scrambled.end());
    after.insert(after.end(), tail.begin(), tail.end());
    h.push(before);
    GstBuffer* gap = gst_buffer_new_memdup(after.data(), after.size());
    GST_BUFFER_FLAG_SET(gap, GST_BUFFER_FLAG_DISCONT);
    ASSERT_EQ(gst_harness_push(h.h, gap), GST_FLOW_OK);

    Bytes out;
    std::vector<bool> discont;
    while (GstBuffer* b = gst_harness_try_pull(h.h)) {
        GstMapInfo map;
        gst_buffer_map(b, &map, GST_MAP_READ);
        out.insert(out.end(), map.data, map.data + map.size);
        gst_buffer_unmap(b, &map);
        discont.push_back(GST_BUFFER_IS_DISCONT(b));
        gst_buffer_unref(b);
    }
    Bytes expected = packet(clear, 0);
    expected.insert(expected.end(), scrambled.begin() + 188, scrambled.begin() + 288);  // cut: untouched
    expected.insert(expected.end(), after.begin(), after.begin() + 50);                 // no sync: untouched
    expected.insert(expected.end(), clear.begin() + 2 * 188, clear.end());
    EXPECT_EQ(out, expected);
    EXPECT_EQ(h.stat("descrambled"), 3u);
    EXPECT_GE(h.stat("errors"), 2u);  // the cut packet and the resync
    ASSERT_GE(discont.size(), 3u);
    EXPECT_EQ(std::count(discont.begin(), discont.end(), true), 1) << "one DISCONT";
    EXPECT_FALSE(discont[0]) << "the packet before the gap";
    EXPECT_TRUE(discont[1]) << "the first output once the gap is known: the cut packet";
}

TEST(Element, UnalignedBuffersAreReassembled) {
    Harness h(annexBLaunch);
    Bytes scrambled;
    for (int i = 0; i < 25; ++i) {
        auto p = annexBScrambled();
        scrambled.insert(scrambled.end(), p.begin(), p.end());
    }
    // Odd chunk sizes as from filesrc without tsparse.
    for (std::size_t at = 0, n = 1; at < scrambled.size(); at += n, n = n * 7 % 401 + 1)
        h.push(ByteView(scrambled.data() + at, std::min(n, scrambled.size() - at)));
    h.eos();
    Bytes expected;
    for (int i = 0; i < 25; ++i) {
        auto p = annexBClear();
        expected.insert(expected.end(), p.begin(), p.end());
    }
    EXPECT_EQ(h.pullAll(), expected);
    EXPECT_EQ(h.stat("descrambled"), 100u);
}

TEST(Element, KeysCanBeSetAfterStart) {
    Harness h("tsdescrambler algorithm=dvb-cissa");
    h.push(annexBScrambled());
    EXPECT_EQ(h.pullAll(), annexBScrambled()) << "no key yet: passed on scrambled";
    EXPECT_EQ(h.stat("without-key"), 4u);
    g_object_set(h.element(), "even-key", "00112233445566778899aabbccddeeff", nullptr);
    h.push(annexBScrambled());
    EXPECT_EQ(h.pullAll(), annexBClear());
    // An empty key clears that parity: its packets pass on scrambled again.
    g_object_set(h.element(), "even-key", "", nullptr);
    h.push(annexBScrambled());
    EXPECT_EQ(h.pullAll(), annexBScrambled());
    EXPECT_EQ(h.stat("without-key"), 8u);
}

TEST(Element, BadKeyIsAWarningNotACrash) {
    Harness h("tsdescrambler algorithm=dvb-cissa");
    g_object_set(h.element(), "even-key", "not hex", nullptr);
    g_object_set(h.element(), "odd-key", "0011", nullptr);  // wrong length for AES
    h.push(annexBScrambled());
    EXPECT_EQ(h.pullAll(), annexBScrambled());
}

TEST(Element, LostSyncAndTruncatedPacketsPassThroughCounted) {
    Harness h(annexBLaunch);
    Bytes input = annexBScrambled();
    const Bytes garbage(77, 0x12);
    input.insert(input.begin() + 2 * packetSize, garbage.begin(), garbage.end());
    const Bytes tail = annexBScrambled();
    input.insert(input.end(), tail.begin(), tail.begin() + 100);  // truncated last packet
    h.push(input);
    h.eos();
    const Bytes out = h.pullAll();
    EXPECT_EQ(out.size(), input.size()) << "nothing dropped";
    // The four packets around the garbage are still descrambled.
    const Bytes clear = annexBClear();
    EXPECT_TRUE(std::equal(clear.begin(), clear.begin() + 2 * packetSize, out.begin()));
    EXPECT_TRUE(std::equal(clear.begin() + 2 * packetSize, clear.end(), out.begin() + 2 * packetSize + 77));
    EXPECT_EQ(h.stat("descrambled"), 4u);
    EXPECT_GE(h.stat("errors"), 2u);  // one resync, one truncated packet
}

TEST(Element, FlushDropsPartialData) {
    Harness h(annexBLaunch);
    const Bytes s = annexBScrambled();
    h.push(ByteView(s.data(), 100));  // a partial packet waits for the next buffer
    ASSERT_TRUE(gst_harness_push_event(h.h, gst_event_new_flush_start()));
    ASSERT_TRUE(gst_harness_push_event(h.h, gst_event_new_flush_stop(TRUE)));
    gst_harness_set_src_caps_str(h.h, caps);
    h.push(s);
    EXPECT_EQ(h.pullAll(), annexBClear());
}

TEST(Element, RandomBytesNeverCrash) {
    Harness h("tsdescrambler event-key=000102030405060708090a0b0c0d0e0f");
    std::mt19937 rng(42);
    Bytes noise(188 * 300);
    for (auto& b : noise)
        b = static_cast<std::uint8_t>(rng());
    // Sprinkle sync bytes so that some of it looks like packets.
    for (std::size_t at = 0; at < noise.size(); at += 188)
        if (rng() % 3)
            noise[at] = 0x47;
    for (std::size_t at = 0; at < noise.size(); at += 1000)
        h.push(ByteView(noise.data() + at, std::min<std::size_t>(1000, noise.size() - at)));
    h.eos();
    EXPECT_EQ(h.pullAll().size(), noise.size());
    EXPECT_GT(h.stat("errors"), 0u);
}

TEST(Element, EcmModeWithEventKeyProperty) {
    const Bytes clear = testutil::makeStream(testutil::StreamOptions{.packets = 1000});
    headend::HeadendConfig config;
    config.algorithm = Algorithm::DvbCsa2;
    config.packetsPerCryptoPeriod = 150;
    config.eventKey = crypto::SecretBytes(fromHex("000102030405060708090a0b0c0d0e0f"));
    headend::Headend headend(config);
    const Bytes scrambled = headend.process(clear);

    Harness h("tsdescrambler event-key=000102030405060708090a0b0c0d0e0f statistics-interval=0");
    for (std::size_t at = 0; at < scrambled.size(); at += 188 * 20)
        h.push(ByteView(scrambled.data() + at, std::min<std::size_t>(188 * 20, scrambled.size() - at)));
    h.eos();
    const Bytes out = h.pullAll();
    const std::vector<std::uint16_t> es{0x100, 0x101};
    EXPECT_EQ(testutil::firstDifference(testutil::packetsOf(out, es), testutil::packetsOf(clear, es)), -1);
    EXPECT_GT(h.stat("descrambled"), 800u);
    EXPECT_EQ(h.stat("without-key"), 0u);
    EXPECT_FALSE(h.messages("boxoffice-descrambler-statistics").empty());
}

namespace {

const Bytes lateTicketEventKey = fromHex("000102030405060708090a0b0c0d0e0f");

// A synthetic service of `packets` packets, clear and as the headend scrambles it
// with lateTicketEventKey (crypto-periods of 300 packets).
std::pair<Bytes, Bytes> lateTicketStream(std::size_t packets) {
    Bytes clear = testutil::makeStream(testutil::StreamOptions{.packets = packets});
    headend::HeadendConfig config;
    config.packetsPerCryptoPeriod = 300;
    config.eventKey = crypto::SecretBytes(lateTicketEventKey);
    headend::Headend headend(config);
    Bytes scrambled = headend.process(clear);
    return {std::move(clear), std::move(scrambled)};
}

} // namespace

TEST(Element, EcmModeWithKeyServicePointerAndLateKeyWarning) {
    testutil::LateTicketKeys keys(lateTicketEventKey);
    const auto [clear, scrambled] = lateTicketStream(800);

    Harness h;
    g_object_set(h.element(), "key-service", static_cast<KeyService*>(&keys), nullptr);
    gst_harness_play(h.h);
    // The ticket comes while the first crypto-period's ECM is still repeated.
    const std::size_t half = 200 * 188;
    h.push(ByteView(scrambled.data(), half));
    EXPECT_GT(h.stat("held"), 0u);
    const auto notices = h.messages("boxoffice-descrambler-notice");
    EXPECT_NE(std::find(notices.begin(), notices.end(), "key-late"), notices.end());
    keys.open = true;
    h.push(ByteView(scrambled.data() + half, scrambled.size() - half));
    h.eos();
    const std::vector<std::uint16_t> es{0x100, 0x101};
    EXPECT_EQ(testutil::firstDifference(testutil::packetsOf(h.pullAll(), es), testutil::packetsOf(clear, es)), -1);
    EXPECT_EQ(h.stat("without-key"), 0u);
}

// Buffers cut inside packets while the engine holds packets for a late key: the
// packets assembled across buffers wait in the engine's queue with the others,
// and everything comes out in order.
TEST(Element, UnalignedBuffersWithALateKeyComeOutInOrder) {
    testutil::LateTicketKeys keys(lateTicketEventKey);
    const auto [clear, scrambled] = lateTicketStream(900);

    Harness h;
    g_object_set(h.element(), "key-service", static_cast<KeyService*>(&keys), nullptr);
    gst_harness_play(h.h);
    // The first buffer ends inside the first scrambled packet: that packet, joined
    // across two buffers, is the first to wait for the key.
    std::size_t firstScrambled = 0;
    while (PacketView(scrambled.data() + firstScrambled * 188).scrambling() == Scrambling::Clear)
        ++firstScrambled;
    std::size_t at = firstScrambled * 188 + 100;
    h.push(ByteView(scrambled.data(), at));
    EXPECT_EQ(h.stat("held"), 0u);
    for (std::size_t n = 1000; at < scrambled.size(); at += n, n = n * 7 % 1999 + 500) {
        if (at > 150 * 188)
            keys.open = true;  // while the first crypto-period's ECM is still repeated
        h.push(ByteView(scrambled.data() + at, std::min(n, scrambled.size() - at)));
    }
    h.eos();
    const Bytes out = h.pullAll();
    EXPECT_EQ(out.size(), scrambled.size());
    const std::vector<std::uint16_t> es{0x100, 0x101};
    EXPECT_EQ(testutil::firstDifference(testutil::packetsOf(out, es), testutil::packetsOf(clear, es)), -1);
    EXPECT_GT(h.stat("held"), 0u);
    EXPECT_EQ(h.stat("without-key"), 0u);
    EXPECT_EQ(h.stat("errors"), 0u);
}

TEST(Element, PostsGuideEventsAndBroadcastTime) {
    Harness h("tsdescrambler");
    h.push(testdata::readFile("tsduck/test-030.ts"));
    h.push(testdata::readFile("tsduck/test-018.ts"));
    std::size_t events = 0, scrambledEvents = 0;
    std::optional<gint64> utc;
    std::string firstName;
    while (GstMessage* m = gst_bus_pop(h.bus)) {
        if (const GstStructure* s = gst_message_get_structure(m)) {
            if (gst_structure_has_name(s, "boxoffice-guide-event")) {
                ++events;
                gboolean scrambled = FALSE;
                gst_structure_get_boolean(s, "scrambled", &scrambled);
                scrambledEvents += scrambled ? 1 : 0;
                guint id = 0;
                gst_structure_get_uint(s, "event-id", &id);
                if (id == 36479)
                    firstName = gst_structure_get_string(s, "name");
            } else if (gst_structure_has_name(s, "boxoffice-broadcast-time")) {
                gint64 t = 0;
                gst_structure_get_int64(s, "utc", &t);
                utc = t;
            }
        }
        gst_message_unref(m);
    }
    EXPECT_GE(events, 20u);
    EXPECT_GT(scrambledEvents, 0u);
    EXPECT_EQ(firstName, "PETER ET ELLIOTT LE DRAGON");
    ASSERT_TRUE(utc);
    EXPECT_EQ(*utc, 1518525308);
}

TEST(Element, GuideEventsComeAgainAfterAFlush) {
    // A flush starts a new guide collector: the engine must hand packets to it,
    // not to the one it replaced, and it announces the events afresh.
    Harness h("tsdescrambler");
    const Bytes capture = testdata::readFile("tsduck/test-030.ts");
    const auto guideEvents = [&] {
        std::size_t events = 0;
        while (GstMessage* m = gst_bus_pop(h.bus)) {
            if (const GstStructure* s = gst_message_get_structure(m))
                events += gst_structure_has_name(s, "boxoffice-guide-event") ? 1 : 0;
            gst_message_unref(m);
        }
        return events;
    };
    h.push(capture);
    EXPECT_GE(guideEvents(), 20u);
    ASSERT_TRUE(gst_harness_push_event(h.h, gst_event_new_flush_start()));
    ASSERT_TRUE(gst_harness_push_event(h.h, gst_event_new_flush_stop(TRUE)));
    gst_harness_set_src_caps_str(h.h, caps);
    h.push(capture);
    EXPECT_GE(guideEvents(), 20u);
}

// The built libgstboxoffice.so, loaded by gst-inspect-1.0 in its own process (the
// element type is already registered statically in this one).
TEST(Plugin, GstInspectFindsTheElement) {
    const char* build = std::getenv("BOXOFFICE_BUILD_DIR");
    if (!build)
        build = BOXOFFICE_TEST_BUILD_DIR;
    const boxoffice::testing::TempDir scratch("boxoffice-gst-inspect");
    const std::string dir = scratch.path().string();
    std::string env = "GST_PLUGIN_PATH=" + std::string(build) + "/lib/gstreamer-1.0 GST_REGISTRY=" + dir +
                      "/boxoffice-registry.bin ";
#ifdef BOXOFFICE_ASAN_RUNTIME
    // A sanitized plugin needs the sanitizer runtime loaded first in gst-inspect.
    env += "LD_PRELOAD=" BOXOFFICE_ASAN_RUNTIME " ASAN_OPTIONS=detect_leaks=0 ";
#endif
    const std::string out = dir + "/gst-inspect.txt";
    const int rc = std::system((env + "gst-inspect-1.0 tsdescrambler > " + out + " 2>&1").c_str());
    std::ifstream in(out);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("libgstboxoffice.so"), std::string::npos) << text;
    EXPECT_NE(text.find("even-key"), std::string::npos);
    EXPECT_NE(text.find("dvb-csa2"), std::string::npos);
}

// The command of issue 4, as a user runs it: gst-launch-1.0 filesrc ! tsdescrambler
// algorithm=... even-key=... ! filesink, on the ETSI Annex B packets.
TEST(Plugin, GstLaunchFixedKeyCommand) {
    const char* build = std::getenv("BOXOFFICE_BUILD_DIR");
    if (!build)
        build = BOXOFFICE_TEST_BUILD_DIR;
    const boxoffice::testing::TempDir scratch("boxoffice-gst-launch");
    const std::string dir = scratch.path().string();
    const Bytes scrambled = annexBScrambled();
    {
        std::ofstream out(dir + "/in.ts", std::ios::binary);
        out.write(reinterpret_cast<const char*>(scrambled.data()), static_cast<std::streamsize>(scrambled.size()));
    }
    std::string env = "GST_PLUGIN_PATH=" + std::string(build) + "/lib/gstreamer-1.0 GST_REGISTRY=" + dir +
                      "/registry.bin ";
#ifdef BOXOFFICE_ASAN_RUNTIME
    env += "LD_PRELOAD=" BOXOFFICE_ASAN_RUNTIME " ASAN_OPTIONS=detect_leaks=0 ";
#endif
    const std::string command = env + "gst-launch-1.0 -q filesrc location=" + dir +
                                "/in.ts ! tsdescrambler algorithm=dvb-cissa even-key=00112233445566778899aabbccddeeff"
                                " odd-key=ffeeddccbbaa99887766554433221100 ! filesink location=" + dir +
                                "/out.ts > " + dir + "/log.txt 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0);
    std::ifstream in(dir + "/out.ts", std::ios::binary);
    const Bytes out(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(out, annexBClear());
}
