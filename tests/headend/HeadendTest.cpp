// The headend library and the boxoffice-headend tool: what it signals (PMT CA
// and scrambling descriptors, EIT PPV events) and headend -> descrambler round
// trips on real captures and on a generated video, decoded frame by frame.

#include "../descrambler/SyntheticStream.h"
#include "../mpegts/TestData.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/mpegts/CaTracker.h>
#include <boxoffice/mpegts/DvbTime.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/Section.h>
#include <boxoffice/mpegts/StreamDescrambler.h>
#include <boxoffice/testing/ChildProcess.h>

#include "TsDescrambler.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <stdbool.h>
#include <stdint.h>
extern "C" {
#include <dvbpsi/dvbpsi.h>
#include <dvbpsi/demux.h>
#include <dvbpsi/descriptor.h>
#include <dvbpsi/eit.h>
#include <dvbpsi/pat.h>
#include <dvbpsi/pmt.h>
#include <dvbpsi/psi.h>
}

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace boxoffice;
using namespace boxoffice::mpegts;

namespace {

class GstEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        gst_init(nullptr, nullptr);
        ASSERT_TRUE(GST_ELEMENT_REGISTER(tsdescrambler, nullptr));
    }
};
const auto* const environment = ::testing::AddGlobalTestEnvironment(new GstEnvironment);

const char* const eventKeyHex = "8899aabbccddeeff0011223344556677";

std::string buildDir() {
    const char* b = std::getenv("BOXOFFICE_BUILD_DIR");
    return b ? b : BOXOFFICE_TEST_BUILD_DIR;
}

Bytes readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

void writeAll(const std::string& path, ByteView bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::set<std::uint16_t> pidsOf(ByteView stream) {
    std::set<std::uint16_t> pids;
    for (std::size_t at = 0; at + packetSize <= stream.size(); at += packetSize)
        pids.insert(PacketView(stream.data() + at).pid());
    return pids;
}

// Records what the CaTracker sees in a stream. When `holding`, it keeps the last ECM
// section as applied, as the descrambler does once a key service opened it.
struct CaRecorder : CaTracker::Listener {
    void onCaInfo(const std::optional<CaInfo>& i) override { info = i; }
    void onEcmSection(ByteView s) override {
        ecms.emplace_back(s.begin(), s.end());
        if (holding)
            held = ecms.back();
    }
    void onPsiError(std::string_view) override { ++errors; }
    bool holdsEcm(ByteView s) const override { return held && std::ranges::equal(s, *held); }
    bool holding = false;
    std::optional<Bytes> held;
    std::optional<CaInfo> info;
    std::vector<Bytes> ecms;
    int errors = 0;
    std::uint64_t repeatsSkipped = 0;
};

CaRecorder trackCa(ByteView stream, bool holding = false) {
    CaRecorder r;
    r.holding = holding;
    CaTracker tracker(boxofficeCaSystemId, 0, r);
    for (std::size_t at = 0; at + packetSize <= stream.size(); at += packetSize)
        if (tracker.wants(PacketView(stream.data() + at).pid()))
            tracker.push(stream.data() + at);
    r.repeatsSkipped = tracker.repeatsSkipped();
    return r;
}

// Runs a GStreamer pipeline ending in an appsink named "sink" and returns every buffer.
std::vector<Bytes> runPipeline(const std::string& description) {
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
    EXPECT_NE(pipeline, nullptr) << (error ? error->message : "");
    if (!pipeline)
        return {};
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    std::vector<Bytes> frames;
    while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
        GstBuffer* b = gst_sample_get_buffer(sample);
        GstMapInfo map;
        gst_buffer_map(b, &map, GST_MAP_READ);
        frames.emplace_back(map.data, map.data + map.size);
        gst_buffer_unmap(b, &map);
        gst_sample_unref(sample);
    }
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (err) {
        GError* e = nullptr;
        gst_message_parse_error(err, &e, nullptr);
        ADD_FAILURE() << "pipeline error: " << e->message;
        g_error_free(e);
        gst_message_unref(err);
    }
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    return frames;
}

headend::HeadendConfig config(Algorithm a) {
    headend::HeadendConfig c;
    c.algorithm = a;
    c.eventKey = crypto::SecretBytes(fromHex(eventKeyHex));
    c.eventId = 0x0102;
    return c;
}

} // namespace

TEST(Headend, SignalsCaDescriptorScramblingModeAndEcms) {
    const Bytes clear = testutil::makeStream(testutil::StreamOptions{.packets = 3000});
    for (auto a : {Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa}) {
        auto c = config(a);
        c.cryptoPeriodSeconds = 1.0;  // 1000 packets of 1 ms
        headend::Headend h(c);
        const Bytes out = h.process(clear);
        const CaRecorder r = trackCa(out);
        ASSERT_TRUE(r.info) << toString(a);
        EXPECT_EQ(r.info->ecmPid, 0x1FF0);
        EXPECT_EQ(r.info->programNumber, 1);
        if (a == Algorithm::DvbCsa2)
            EXPECT_FALSE(r.info->algorithm) << "CSA2 is the default without a scrambling_descriptor";
        else
            EXPECT_EQ(r.info->algorithm, a);
        ASSERT_FALSE(r.ecms.empty());
        const EcmHeader e = peekEcm(r.ecms.back());
        EXPECT_EQ(e.algorithm, a);
        EXPECT_EQ(e.eventId, 0x0102);
        EXPECT_EQ(e.serviceId, 1);
        EXPECT_GE(e.cryptoPeriod, 2u);
        EXPECT_EQ(r.errors, 0);
        EXPECT_EQ(h.statistics().cryptoPeriods, 3u);
        // The control words in the last ECM are the ones the headend used.
        const ControlWords words = openEcm(r.ecms.back(), fromHex(eventKeyHex));
        const Bytes current = h.controlWord(e.cryptoPeriod);
        const auto& slot = (e.cryptoPeriod & 1) ? words.odd : words.even;
        EXPECT_EQ(toHex(slot.view()), toHex(current));
        EXPECT_THROW(openEcm(r.ecms.back(), fromHex("00000000000000000000000000000000")), Error);
    }
}

// A listener that throws from every callback: libdvbpsi calls them from C, where
// nothing may unwind (it frees the section twice then). Each throw becomes a PSI
// error, and the tracker goes on with the stream.
TEST(CaTracker, AListenerThatThrowsBecomesPsiErrorsNotACrash) {
    struct Throwing : CaTracker::Listener {
        void onCaInfo(const std::optional<CaInfo>&) override {
            ++infos;
            throw Error(ErrorCode::Internal, "listener refuses the PMT");
        }
        void onEcmSection(ByteView) override {
            ++ecms;
            throw std::runtime_error("listener refuses the ECM");
        }
        void onPsiError(std::string_view message) override { errors.emplace_back(message); }
        bool holdsEcm(ByteView) const override { return false; }
        int infos = 0, ecms = 0;
        std::vector<std::string> errors;
    } listener;
    headend::Headend h(config(Algorithm::DvbCissa));
    const Bytes out = h.process(testutil::makeStream(testutil::StreamOptions{.packets = 2000}));
    CaTracker tracker(boxofficeCaSystemId, 0, listener);
    for (std::size_t at = 0; at + packetSize <= out.size(); at += packetSize) {
        if (tracker.wants(PacketView(out.data() + at).pid())) {
            ASSERT_NO_THROW(tracker.push(out.data() + at));
        }
    }
    EXPECT_GE(listener.infos, 1);
    EXPECT_GE(listener.ecms, 2) << "ECMs keep coming after the first throw";
    int pmtErrors = 0, ecmErrors = 0;
    for (const auto& e : listener.errors) {
        pmtErrors += e == "PMT: listener refuses the PMT";
        ecmErrors += e == "ECM: listener refuses the ECM";
    }
    EXPECT_EQ(pmtErrors, listener.infos);
    EXPECT_EQ(ecmErrors, listener.ecms);
}

// Table packets repeated unchanged bypass libdvbpsi (CaTracker::Handle::consumeRepeat);
// libdvbpsi must still count them in its continuity check, and still see a lost
// or a duplicated repeat, which it reports.
TEST(CaTracker, RepeatedTablesKeepTheContinuityCheck) {
    const Bytes out = headend::Headend(config(Algorithm::DvbCissa))
                          .process(testutil::makeStream(testutil::StreamOptions{.packets = 3000}));
    const CaRecorder clean = trackCa(out);
    ASSERT_TRUE(clean.info);
    EXPECT_EQ(clean.errors, 0) << "skipped repeats advance the decoders' continuity counters";
    std::vector<std::size_t> pmtAt;  // offsets of the PMT's packets
    for (std::size_t at = 0; at + packetSize <= out.size(); at += packetSize)
        if (PacketView(out.data() + at).pid() == clean.info->pmtPid)
            pmtAt.push_back(at);
    ASSERT_GE(pmtAt.size(), 6u);
    EXPECT_GE(clean.repeatsSkipped, pmtAt.size() - 1) << "every PMT repeat (and the PAT's) bypassed libdvbpsi";
    const std::size_t middle = pmtAt[pmtAt.size() / 2];
    ASSERT_TRUE(std::equal(out.begin() + static_cast<std::ptrdiff_t>(middle) + 4,
                           out.begin() + static_cast<std::ptrdiff_t>(middle + packetSize),
                           out.begin() + static_cast<std::ptrdiff_t>(pmtAt[1]) + 4))
        << "the headend repeats its PMT unchanged";

    Bytes lost = out;
    lost.erase(lost.begin() + static_cast<std::ptrdiff_t>(middle),
               lost.begin() + static_cast<std::ptrdiff_t>(middle + packetSize));
    const CaRecorder afterLoss = trackCa(lost);
    EXPECT_EQ(afterLoss.errors, 1) << "one discontinuity on the PMT PID";
    ASSERT_TRUE(afterLoss.info);
    EXPECT_EQ(afterLoss.info->ecmPid, clean.info->ecmPid);

    Bytes duplicated = out;
    duplicated.insert(duplicated.begin() + static_cast<std::ptrdiff_t>(middle + packetSize),
                      out.begin() + static_cast<std::ptrdiff_t>(middle),
                      out.begin() + static_cast<std::ptrdiff_t>(middle + packetSize));
    EXPECT_EQ(trackCa(duplicated).errors, 1) << "one duplicate on the PMT PID";

    // A table that breaks after it was decoded is reported at each repeat, as libdvbpsi
    // reports each one.
    Bytes broken = out;
    int brokenPackets = 0;
    for (std::size_t at : pmtAt) {
        if (at < middle)
            continue;
        ++brokenPackets;
        std::uint8_t* p = broken.data() + at;
        ASSERT_EQ(p[3] & 0x20, 0) << "no adaptation field in the headend's PMT packets";
        const std::size_t section = 5u + p[4];
        const std::size_t length = ((p[section + 1] & 0x0F) << 8) | p[section + 2];
        p[section + 3 + length - 1] ^= 0xFF;  // the CRC_32's last byte
    }
    const CaRecorder afterBreak = trackCa(broken);
    ASSERT_TRUE(afterBreak.info) << "followed from the intact PMTs before";
    ASSERT_GE(brokenPackets, 3);
    EXPECT_EQ(afterBreak.errors, brokenPackets);

    // A changed table after many repeats is decoded: a second stream with a new PMT
    // version and ECM PID follows, its table packets' counters continuing the first's.
    auto secondConfig = config(Algorithm::DvbCissa);
    secondConfig.ecmPid = 0x1FE0;
    Bytes changed = out;
    const Bytes second = headend::Headend(secondConfig)
                             .process(testutil::makeStream(testutil::StreamOptions{
                                 .packets = 1000, .pmtVersion = 2, .seed = 2, .firstPcr = 3000 * 27000}));
    changed.insert(changed.end(), second.begin(), second.end());
    std::map<std::uint16_t, std::uint8_t> counter;
    for (std::size_t at = 0; at + packetSize <= changed.size(); at += packetSize) {
        std::uint8_t* p = changed.data() + at;
        const std::uint16_t pid = PacketView(p).pid();
        if (pid != patPid && pid != clean.info->pmtPid)
            continue;
        if (at >= out.size())
            p[3] = static_cast<std::uint8_t>((p[3] & 0xF0) | ((counter[pid] + 1) & 0x0F));
        counter[pid] = p[3] & 0x0F;
    }
    const CaRecorder afterChange = trackCa(changed);
    ASSERT_TRUE(afterChange.info);
    EXPECT_EQ(afterChange.info->ecmPid, 0x1FE0);
    EXPECT_EQ(afterChange.info->pmtVersion, 2);
    EXPECT_EQ(afterChange.errors, 0);
}

namespace {

// A PAT and a PMT for program 1 on PID 0x1000, as libdvbpsi generates them, in packets.
struct PmtStream {
    struct Es {
        std::uint16_t pid;
        std::optional<std::pair<std::uint16_t, std::uint16_t>> ca;  // CA system, ECM PID
    };
    static Bytes caDescriptor(std::uint16_t system, std::uint16_t ecmPid) {
        return {static_cast<std::uint8_t>(system >> 8), static_cast<std::uint8_t>(system),
                static_cast<std::uint8_t>(0xE0 | (ecmPid >> 8)), static_cast<std::uint8_t>(ecmPid)};
    }
    static Bytes sectionsToPackets(dvbpsi_psi_section_t* sections, std::uint16_t pid, std::uint8_t& cc) {
        Bytes out;
        for (auto* s = sections; s; s = s->p_next) {
            const Bytes packets = packetizeSection(ByteView(s->p_data, 3u + s->i_length), pid, cc);
            out.insert(out.end(), packets.begin(), packets.end());
        }
        dvbpsi_DeletePSISections(sections);
        return out;
    }
    static Bytes make(std::optional<std::pair<std::uint16_t, std::uint16_t>> programCa, const std::vector<Es>& es) {
        dvbpsi_t* h = dvbpsi_new(nullptr, DVBPSI_MSG_NONE);
        std::uint8_t patCc = 0, pmtCc = 0;
        dvbpsi_pat_t* pat = dvbpsi_pat_new(1, 0, true);
        dvbpsi_pat_program_add(pat, 1, 0x1000);
        Bytes out = sectionsToPackets(dvbpsi_pat_sections_generate(h, pat, 253), patPid, patCc);
        dvbpsi_pat_delete(pat);
        dvbpsi_pmt_t* pmt = dvbpsi_pmt_new(1, 0, true, es.front().pid);
        if (programCa) {
            auto d = caDescriptor(programCa->first, programCa->second);
            dvbpsi_pmt_descriptor_add(pmt, 0x09, static_cast<std::uint8_t>(d.size()), d.data());
        }
        for (const auto& e : es) {
            auto* added = dvbpsi_pmt_es_add(pmt, 0x02, e.pid);
            if (e.ca) {
                auto d = caDescriptor(e.ca->first, e.ca->second);
                dvbpsi_pmt_es_descriptor_add(added, 0x09, static_cast<std::uint8_t>(d.size()), d.data());
            }
        }
        const Bytes pmtPackets = sectionsToPackets(dvbpsi_pmt_sections_generate(h, pmt), 0x1000, pmtCc);
        out.insert(out.end(), pmtPackets.begin(), pmtPackets.end());
        dvbpsi_pmt_delete(pmt);
        dvbpsi_delete(h);
        return out;
    }
};

} // namespace

// Which elementary streams the followed ECMs key: all of the program for a CA descriptor in
// the program loop, except a stream whose own descriptor of our CA system names other ECMs;
// without one in the program loop, the streams whose own descriptor names the followed ECMs.
TEST(CaTracker, TheStreamsOurEcmsKeyFollowTheirCaDescriptors) {
    constexpr std::uint16_t other = 0x0100;  // another CA system
    const CaRecorder both = trackCa(PmtStream::make(
        std::pair{boxofficeCaSystemId, std::uint16_t{0x1FF0}},
        {{0x100, std::nullopt}, {0x101, std::pair{boxofficeCaSystemId, std::uint16_t{0x1FE0}}},
         {0x102, std::pair{other, std::uint16_t{0x1FD0}}}}));
    ASSERT_TRUE(both.info);
    EXPECT_EQ(both.info->ecmPid, 0x1FF0);
    EXPECT_EQ(both.info->esPids, (std::vector<std::uint16_t>{0x100, 0x102}));

    const CaRecorder streamLevel = trackCa(PmtStream::make(
        std::nullopt, {{0x100, std::pair{boxofficeCaSystemId, std::uint16_t{0x1FE0}}},
                       {0x101, std::nullopt},
                       {0x102, std::pair{other, std::uint16_t{0x1FD0}}}}));
    ASSERT_TRUE(streamLevel.info);
    EXPECT_EQ(streamLevel.info->ecmPid, 0x1FE0);
    EXPECT_EQ(streamLevel.info->esPids, (std::vector<std::uint16_t>{0x100}));
}

// An ECM packet repeated unchanged bypasses libdvbpsi only while the listener holds its
// section as applied: until a key opened it, and again after the listener forgot it,
// every repeat is offered.
TEST(CaTracker, RepeatedEcmsAreOfferedUntilTheListenerHoldsThem) {
    auto c = config(Algorithm::DvbCissa);
    c.packetsPerCryptoPeriod = 1500;
    c.ecmIntervalPackets = 50;
    const Bytes out = headend::Headend(c).process(testutil::makeStream(testutil::StreamOptions{.packets = 9000}));
    const CaRecorder offered = trackCa(out);
    ASSERT_TRUE(offered.info);
    std::vector<std::size_t> ecmAt;
    std::size_t changes = 0;
    for (std::size_t at = 0; at + packetSize <= out.size(); at += packetSize) {
        if (PacketView(out.data() + at).pid() != offered.info->ecmPid)
            continue;
        if (ecmAt.empty() || !std::equal(out.begin() + static_cast<std::ptrdiff_t>(at) + 4,
                                         out.begin() + static_cast<std::ptrdiff_t>(at + packetSize),
                                         out.begin() + static_cast<std::ptrdiff_t>(ecmAt.back()) + 4))
            ++changes;
        ecmAt.push_back(at);
    }
    ASSERT_GE(changes, 4u) << "several crypto periods";
    ASSERT_GE(ecmAt.size(), 3 * changes) << "each ECM is repeated";
    EXPECT_EQ(offered.errors, 0);
    EXPECT_EQ(offered.ecms.size(), ecmAt.size()) << "nothing held: every repeat is offered";

    const CaRecorder held = trackCa(out, true);
    EXPECT_EQ(held.errors, 0) << "skipped repeats advance the ECM decoder's continuity counter";
    EXPECT_EQ(held.ecms.size(), changes) << "each ECM offered once";
    EXPECT_EQ(held.repeatsSkipped - offered.repeatsSkipped, ecmAt.size() - changes);
    for (std::size_t i = 1; i < held.ecms.size(); ++i)
        EXPECT_NE(held.ecms[i], held.ecms[i - 1]);

    // Forgotten in the middle of a run of repeats (the descrambler clears its keys on a
    // PMT change): the next repeat is offered again, and held from then on.
    const std::size_t forgetAfter = ecmAt.size() / 2;
    ASSERT_TRUE(std::equal(out.begin() + static_cast<std::ptrdiff_t>(ecmAt[forgetAfter]) + 4,
                           out.begin() + static_cast<std::ptrdiff_t>(ecmAt[forgetAfter] + packetSize),
                           out.begin() + static_cast<std::ptrdiff_t>(ecmAt[forgetAfter + 1]) + 4))
        << "a repeat follows";
    CaRecorder forgetting;
    forgetting.holding = true;
    {
        CaTracker tracker(boxofficeCaSystemId, 0, forgetting);
        for (std::size_t at = 0; at + packetSize <= out.size(); at += packetSize) {
            if (tracker.wants(PacketView(out.data() + at).pid()))
                tracker.push(out.data() + at);
            if (at == ecmAt[forgetAfter])
                forgetting.held.reset();
        }
    }
    EXPECT_EQ(forgetting.ecms.size(), changes + 1);
    EXPECT_EQ(forgetting.errors, 0);

    // A lost repeat is still seen by libdvbpsi's continuity check.
    Bytes lost = out;
    lost.erase(lost.begin() + static_cast<std::ptrdiff_t>(ecmAt[forgetAfter]),
               lost.begin() + static_cast<std::ptrdiff_t>(ecmAt[forgetAfter] + packetSize));
    EXPECT_EQ(trackCa(lost, true).errors, 1) << "one discontinuity on the ECM PID";
}

TEST(Headend, SignalsPpvEventsInTheEit) {
    auto c = config(Algorithm::DvbCissa);
    c.events = {{0x0102, 1'767'225'600, 5400, "Final"}, {0x0103, 1'767'231'000, 3600, "Replay"}};
    headend::Headend h(c);
    const Bytes out = h.process(testutil::makeStream(testutil::StreamOptions{.packets = 4000}));
    // Parse the EIT with libdvbpsi's demux + EIT decoder.
    struct Seen {
        std::vector<std::tuple<std::uint16_t, std::uint64_t, std::uint32_t, bool, std::string>> events;
    } seen;
    dvbpsi_t* d = dvbpsi_new(nullptr, DVBPSI_MSG_NONE);
    d->p_sys = &seen;
    ASSERT_TRUE(dvbpsi_AttachDemux(
        d,
        [](dvbpsi_t* handle, uint8_t tableId, uint16_t extension, void*) {
            if (tableId == 0x4E)
                dvbpsi_eit_attach(
                    handle, tableId, extension,
                    [](void* data, dvbpsi_eit_t* eit) {
                        auto* s = static_cast<Seen*>(data);
                        for (auto* e = eit->p_first_event; e; e = e->p_next) {
                            std::string name;
                            for (auto* desc = e->p_first_descriptor; desc; desc = desc->p_next)
                                if (desc->i_tag == 0x4D && desc->i_length > 5)
                                    name.assign(reinterpret_cast<const char*>(desc->p_data + 4), desc->p_data[3]);
                            s->events.emplace_back(e->i_event_id, e->i_start_time, e->i_duration, e->b_free_ca, name);
                        }
                        dvbpsi_eit_delete(eit);
                    },
                    handle->p_sys);
        },
        nullptr));
    for (std::size_t at = 0; at < out.size(); at += packetSize)
        if (PacketView(out.data() + at).pid() == eitPid)
            dvbpsi_packet_push(d, const_cast<std::uint8_t*>(out.data() + at));
    dvbpsi_DetachDemux(d);
    dvbpsi_delete(d);
    ASSERT_GE(seen.events.size(), 2u);
    std::map<std::uint16_t, std::tuple<std::uint16_t, std::uint64_t, std::uint32_t, bool, std::string>> byId;
    for (auto& e : seen.events)
        byId[std::get<0>(e)] = e;
    ASSERT_TRUE(byId.count(0x0102));
    ASSERT_TRUE(byId.count(0x0103));
    EXPECT_EQ(fromDvbUtc(std::get<1>(byId[0x0102])), 1'767'225'600);
    EXPECT_EQ(fromDvbDuration(std::get<2>(byId[0x0102])), 5400u);
    EXPECT_TRUE(std::get<3>(byId[0x0102])) << "free_CA_mode marks the PPV event as scrambled";
    EXPECT_EQ(std::get<4>(byId[0x0102]), "Final");
    EXPECT_EQ(std::get<4>(byId[0x0103]), "Replay");
}

TEST(Headend, RejectsBadConfiguration) {
    auto c = config(Algorithm::DvbCissa);
    c.eventKey = crypto::SecretBytes(Bytes(5));
    EXPECT_THROW(headend::Headend{c}, Error);
    c = config(Algorithm::DvbCissa);
    c.ecmPid = 0x1FFF;
    EXPECT_THROW(headend::Headend{c}, Error);
    headend::Headend h(config(Algorithm::DvbCissa));
    EXPECT_THROW(h.process(Bytes(100)), Error);
}

// Real broadcast captures: foreign CA descriptors are ignored, ours is followed,
// and every packet outside the rewritten PMT and the inserted ECMs comes back identical.
class RealCapture : public ::testing::TestWithParam<const char*> {};

TEST_P(RealCapture, HeadendThenDescramblerKeepsEveryPacket) {
    const Bytes clear = testdata::readFile(std::string("tsduck/") + GetParam());
    ASSERT_EQ(clear.size() % packetSize, 0u);
    // The clear capture carries other CA systems only: nothing for us.
    EXPECT_FALSE(trackCa(clear).info);

    auto c = config(Algorithm::DvbCsa2);
    headend::Headend h(c);
    const Bytes scrambled = h.process(clear);
    const CaRecorder r = trackCa(scrambled);
    if (std::string(GetParam()) == "test-030.ts") {
        // Its PAT lists programs whose PMTs the capture does not carry: nothing can
        // be scrambled or signalled, and the stream passes unchanged.
        EXPECT_FALSE(r.info);
        EXPECT_EQ(scrambled, clear);
        EXPECT_EQ(h.statistics().scrambled, 0u);
        return;
    }
    ASSERT_TRUE(r.info);

    EventKeyService keys;
    keys.setDefaultKey(fromHex(eventKeyHex));
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    Bytes work = scrambled;
    auto result = engine.process(work);
    Bytes out(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(result.inPlace));
    out.insert(out.end(), result.tail.begin(), result.tail.end());
    const Bytes rest = engine.drain();
    out.insert(out.end(), rest.begin(), rest.end());

    std::vector<std::uint16_t> kept;
    for (auto pid : pidsOf(clear))
        if (pid != r.info->pmtPid)
            kept.push_back(pid);
    EXPECT_EQ(testutil::firstDifference(testutil::packetsOf(out, kept), testutil::packetsOf(clear, kept)), -1);
    EXPECT_EQ(engine.statistics().withoutKey, 0u);
    EXPECT_EQ(testutil::scrambledCount(out), 0u);
}

INSTANTIATE_TEST_SUITE_P(Tsduck, RealCapture, ::testing::Values("test-018.ts", "test-030.ts"),
                         [](const auto& param) {
                             std::string n = param.param;
                             return n.substr(5, 3);
                         });

// A generated MPEG-2 video + MP2 audio service (ffmpeg), scrambled by the CLI,
// descrambled by tsdescrambler inside tsparse ! tsdescrambler ! tsdemux: the
// decoded frames equal those of the clear file.
class GeneratedVideo : public ::testing::TestWithParam<Algorithm> {};

TEST_P(GeneratedVideo, DecodedFramesEqualTheClearOnes) {
    const boxoffice::testing::TempDir scratch("boxoffice-headend-" + std::string(toString(GetParam())));
    const std::string dir = scratch.path().string();
    const std::string clearTs = dir + "/clear.ts", scrambledTs = dir + "/scrambled.ts";
    const std::string ffmpeg =
        "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=192x144:rate=25 -f lavfi "
        "-i sine=frequency=440:sample_rate=48000 -t 3 -c:v mpeg2video -b:v 400k -g 10 -c:a mp2 -b:a 96k "
        "-f mpegts " + clearTs;
    if (std::system(ffmpeg.c_str()) != 0)
        GTEST_SKIP() << "ffmpeg cannot generate the test video here";

    const std::string cli = buildDir() + "/bin/boxoffice-headend --in " + clearTs + " --out " + scrambledTs +
                            " --algorithm " + std::string(toString(GetParam())) + " --event-key " +
                            eventKeyHex + " --crypto-period 0.5 --event-id 258 > " + dir + "/cli.txt 2>&1";
    ASSERT_EQ(std::system(cli.c_str()), 0) << readAll(dir + "/cli.txt").size();
    const Bytes clear = readAll(clearTs), scrambled = readAll(scrambledTs);
    const CaRecorder r = trackCa(scrambled);
    ASSERT_TRUE(r.info);
    ASSERT_GT(testutil::scrambledCount(scrambled), clear.size() / packetSize / 2);
    ASSERT_GE(r.ecms.size(), 10u);
    EXPECT_GE(peekEcm(r.ecms.back()).cryptoPeriod, 5u) << "3 s of 0.5 s crypto-periods";

    // Bytes: descramble through the element and compare every elementary stream packet.
    const std::string descrambledTs = dir + "/descrambled.ts";
    const auto chunks = runPipeline("filesrc location=" + scrambledTs + " ! tsdescrambler event-key=" +
                                    eventKeyHex + " ! appsink name=sink sync=false");
    Bytes descrambled;
    for (const auto& c : chunks)
        descrambled.insert(descrambled.end(), c.begin(), c.end());
    writeAll(descrambledTs, descrambled);
    std::vector<std::uint16_t> es;
    for (auto pid : pidsOf(clear))
        if (pid != r.info->pmtPid && pid != patPid && pid != 0x11)
            es.push_back(pid);
    ASSERT_GE(es.size(), 2u);
    EXPECT_EQ(testutil::firstDifference(testutil::packetsOf(descrambled, es), testutil::packetsOf(clear, es)), -1);

    // Frames: decode the clear file, and the scrambled one through the element.
    // (GStreamer 1.22's tsparse drops packets whose scrambling bits are set, so
    // the element goes before it; it does its own packet alignment.)
    const std::string decode = " ! tsdemux ! mpegvideoparse ! avdec_mpeg2video ! video/x-raw ! appsink name=sink sync=false";
    const auto clearFrames = runPipeline("filesrc location=" + clearTs + " ! tsparse" + decode);
    ASSERT_GE(clearFrames.size(), 70u);
    for (const char* after : {" ! tsparse", ""}) {
        const auto frames = runPipeline("filesrc location=" + scrambledTs + " ! tsdescrambler event-key=" +
                                        eventKeyHex + after + decode);
        ASSERT_EQ(frames.size(), clearFrames.size()) << after;
        for (std::size_t i = 0; i < frames.size(); ++i)
            ASSERT_TRUE(frames[i] == clearFrames[i]) << "frame " << i << after;
    }

    // Without the key, the scrambled file does not decode to the same pictures.
    const auto wrong = runPipeline("filesrc location=" + scrambledTs +
                                   " ! tsdescrambler event-key=00000000000000000000000000000000" + decode);
    EXPECT_LT(wrong.size(), clearFrames.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, GeneratedVideo,
                         ::testing::Values(Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa),
                         [](const auto& param) {
                             std::string n(toString(param.param));
                             std::erase(n, '-');
                             return n;
                         });

TEST(HeadendCli, BadArgumentsFailWithAMessage) {
    const boxoffice::testing::TempDir scratch("boxoffice-headend-cli");
    const std::string dir = scratch.path().string();
    const std::string tool = buildDir() + "/bin/boxoffice-headend";
    EXPECT_NE(std::system((tool + " --in /nonexistent.ts --out " + dir + "/o.ts --event-key " + eventKeyHex +
                           " > " + dir + "/1.txt 2>&1").c_str()),
              0);
    const Bytes msg = readAll(dir + "/1.txt");
    EXPECT_NE(std::string(msg.begin(), msg.end()).find("cannot open"), std::string::npos);
    EXPECT_NE(std::system((tool + " --in a --out b --event-key 12 > " + dir + "/2.txt 2>&1").c_str()), 0);
    EXPECT_NE(std::system((tool + " --algorithm csa3 > " + dir + "/3.txt 2>&1").c_str()), 0);
    EXPECT_NE(std::system((tool + " > " + dir + "/4.txt 2>&1").c_str()), 0) << "usage without arguments";
}
