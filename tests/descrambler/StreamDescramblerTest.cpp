// The descrambling engine in ECM mode against the headend, without GStreamer.

#include "../mpegts/TestData.h"
#include "LateTicketKeys.h"
#include "SyntheticStream.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/Guide.h>
#include <boxoffice/mpegts/StreamDescrambler.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>

using namespace boxoffice;
using namespace boxoffice::mpegts;
using boxoffice::testutil::makeStream;
using boxoffice::testutil::packetsOf;
using boxoffice::testutil::StreamOptions;

namespace {

const Bytes eventKey = fromHex("000102030405060708090a0b0c0d0e0f");

headend::HeadendConfig headendConfig(Algorithm a, std::uint64_t packetsPerPeriod) {
    headend::HeadendConfig c;
    c.algorithm = a;
    c.packetsPerCryptoPeriod = packetsPerPeriod;
    c.ecmIntervalPackets = 40;
    c.eventId = 7;
    c.eventKey = crypto::SecretBytes(eventKey);
    return c;
}

// Runs a stream through the engine in buffers of `chunk` packets, concatenating the output.
Bytes descramble(StreamDescrambler& engine, Bytes stream, std::size_t chunk) {
    Bytes out;
    for (std::size_t at = 0; at < stream.size(); at += chunk * packetSize) {
        const std::size_t n = std::min(chunk * packetSize, stream.size() - at);
        auto result = engine.process(MutableByteView(stream.data() + at, n));
        out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                   stream.begin() + static_cast<std::ptrdiff_t>(at + result.inPlace));
        out.insert(out.end(), result.tail.begin(), result.tail.end());
    }
    Bytes rest = engine.drain();
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

const std::vector<std::uint16_t> esPids{0x100, 0x101};

// Drops every ECM section of one crypto-period from a headend output.
Bytes withoutEcmOf(ByteView stream, std::uint16_t ecmPid, std::uint32_t period) {
    Bytes out;
    for (std::size_t at = 0; at < stream.size(); at += packetSize) {
        const PacketView v(stream.data() + at);
        if (v.pid() == ecmPid) {
            const std::uint8_t* s = stream.data() + at + 5;  // after the pointer_field
            const std::uint32_t cp = (std::uint32_t{s[14]} << 24) | (s[15] << 16) | (s[16] << 8) | s[17];
            if (cp == period)
                continue;
        }
        out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                   stream.begin() + static_cast<std::ptrdiff_t>(at + packetSize));
    }
    return out;
}

// Two headend outputs back to back: a PMT of version 1 with ECMs on 0x1FF0, then one of
// version 2 with ECMs on 0x1FE0 (ATIS-IDSA, periods of 150 packets). `edit` may change the
// first part before the second is appended.
struct EcmPidChange {
    Bytes clear, scrambled;
};
EcmPidChange ecmPidChange(const std::function<void(Bytes&)>& edit = {}) {
    const Bytes clearA = makeStream(StreamOptions{.packets = 700, .pmtVersion = 1});
    const Bytes clearB = makeStream(StreamOptions{.packets = 700, .pmtVersion = 2, .seed = 2, .firstPcr = 700 * 27000});
    auto configB = headendConfig(Algorithm::AtisIdsa, 150);
    configB.ecmPid = 0x1FE0;
    EcmPidChange c{clearA, headend::Headend(headendConfig(Algorithm::AtisIdsa, 150)).process(clearA)};
    if (edit)
        edit(c.scrambled);
    const Bytes b = headend::Headend(configB).process(clearB);
    c.scrambled.insert(c.scrambled.end(), b.begin(), b.end());
    c.clear.insert(c.clear.end(), clearB.begin(), clearB.end());
    return c;
}

// The crypto-periods of the ECMs a headend put on air.
std::set<std::uint32_t> ecmPeriodsOf(ByteView stream, std::uint16_t ecmPid = 0x1FF0) {
    std::set<std::uint32_t> periods;
    for (std::size_t at = 0; at < stream.size(); at += packetSize) {
        if (PacketView(stream.data() + at).pid() != ecmPid)
            continue;
        const std::uint8_t* s = stream.data() + at + 5;
        periods.insert((std::uint32_t{s[14]} << 24) | (s[15] << 16) | (s[16] << 8) | s[17]);
    }
    return periods;
}

// Descrambles a headend's output with an event key (by default the headend's); what the
// engine counted and noticed.
struct RoundTrip {
    Bytes out;
    DescramblerStatistics stats;
    std::vector<DescramblerNotice> notices;
};
RoundTrip roundTrip(const Bytes& scrambled, std::size_t chunk = 10, ByteView key = eventKey) {
    EventKeyService keys;
    keys.setDefaultKey(key);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    RoundTrip r;
    r.out = descramble(engine, scrambled, chunk);
    r.stats = engine.statistics();
    r.notices = engine.takeNotices();
    return r;
}

} // namespace

class EcmRoundTrip : public ::testing::TestWithParam<Algorithm> {};

TEST_P(EcmRoundTrip, ControlWordChangeAtEveryPacketPosition) {
    // Crypto-periods of 37..48 packets against buffers of 1..12 packets: the parity
    // flip (different for the two PIDs: each flips at its next PES start) lands at
    // every position of a buffer, and across buffer boundaries.
    const Bytes clear = makeStream(StreamOptions{.packets = 1000});
    for (std::size_t period = 37, chunk = 1; period <= 48; ++period, ++chunk) {
        headend::Headend h(headendConfig(GetParam(), period));
        const Bytes scrambled = h.process(clear);
        ASSERT_GT(h.statistics().cryptoPeriods, 18u);
        ASSERT_GT(testutil::scrambledCount(scrambled), 800u);

        EventKeyService keys;
        keys.setDefaultKey(eventKey);
        StreamDescrambler engine(StreamDescramblerConfig{});
        engine.setKeyService(&keys);
        const Bytes out = descramble(engine, scrambled, chunk);
        ASSERT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1) << "period " << period << " chunk " << chunk;
        EXPECT_EQ(engine.statistics().withoutKey, 0u);
        EXPECT_EQ(engine.statistics().errors, 0u);
        EXPECT_EQ(engine.statistics().held, 0u) << "keys were installed before each flip";
        EXPECT_EQ(testutil::scrambledCount(out), 0u);
    }
}

TEST_P(EcmRoundTrip, AudioAndVideoFlipAtDifferentPackets) {
    const Bytes clear = makeStream(StreamOptions{.packets = 600, .es = {{0x100, 0x02, 13}, {0x101, 0x04, 3}}});
    headend::Headend h(headendConfig(GetParam(), 100));
    const Bytes scrambled = h.process(clear);
    // Find, for each PID, the index of its first packet with odd parity.
    std::map<std::uint16_t, std::size_t> firstOdd;
    for (std::size_t at = 0, i = 0; at < scrambled.size(); at += packetSize, ++i) {
        const PacketView v(scrambled.data() + at);
        if (v.scrambling() == Scrambling::Odd)
            firstOdd.try_emplace(v.pid(), i);
    }
    ASSERT_EQ(firstOdd.size(), 2u);
    EXPECT_NE(firstOdd[0x100], firstOdd[0x101]);

    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    EXPECT_EQ(testutil::firstDifference(packetsOf(descramble(engine, scrambled, 10), esPids), packetsOf(clear, esPids)), -1);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, EcmRoundTrip,
                         ::testing::Values(Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa),
                         [](const auto& param) {
                             std::string n(toString(param.param));
                             std::erase(n, '-');
                             return n;
                         });

TEST(StreamDescrambler, LateKeyHoldsPacketsThenReleasesThem) {
    // A key service without the ticket at first: packets are held, not dropped.
    testutil::LateTicketKeys keys(eventKey);

    const Bytes clear = makeStream(StreamOptions{.packets = 1200});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 300));
    Bytes scrambled = h.process(clear);

    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    Bytes out;
    // The ticket arrives within the first crypto-period (ECM(0) is still repeated).
    const std::size_t half = 200 * packetSize;
    auto first = engine.process(MutableByteView(scrambled.data(), half));
    out.insert(out.end(), scrambled.begin(), scrambled.begin() + static_cast<std::ptrdiff_t>(first.inPlace));
    out.insert(out.end(), first.tail.begin(), first.tail.end());
    EXPECT_GT(engine.heldPackets(), 100u);
    EXPECT_EQ(first.inPlace + first.tail.size(), 200 * packetSize - engine.heldPackets() * packetSize);
    bool lateNoticed = false;
    for (const auto& n : engine.takeNotices())
        lateNoticed |= n.kind == DescramblerNotice::Kind::KeyLate;
    EXPECT_TRUE(lateNoticed);

    keys.open = true;  // the ticket arrives; the next ECM repetition is accepted
    auto second = engine.process(MutableByteView(scrambled.data() + half, scrambled.size() - half));
    out.insert(out.end(), scrambled.begin() + static_cast<std::ptrdiff_t>(half),
               scrambled.begin() + static_cast<std::ptrdiff_t>(half + second.inPlace));
    out.insert(out.end(), second.tail.begin(), second.tail.end());
    EXPECT_EQ(engine.heldPackets(), 0u);
    EXPECT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1);
    EXPECT_GT(engine.statistics().held, 100u);
    EXPECT_EQ(engine.statistics().withoutKey, 0u);
}

TEST(StreamDescrambler, LostEcmMakesTheFlipWaitForTheNextOne) {
    const Bytes clear = makeStream(StreamOptions{.packets = 2000});
    headend::Headend h(headendConfig(Algorithm::DvbCsa2, 400));
    const Bytes scrambled = withoutEcmOf(h.process(clear), 0x1FF0, 2);
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    const Bytes out = descramble(engine, scrambled, 16);
    // The flip to period 3 found a stale key (period 1): held until ECM(3) came.
    EXPECT_GT(engine.statistics().held, 0u);
    EXPECT_EQ(engine.statistics().withoutKey, 0u);
    EXPECT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1);
}

TEST(StreamDescrambler, HoldIsBoundedAndWarns) {
    const Bytes clear = makeStream(StreamOptions{.packets = 800});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 200));
    const Bytes scrambled = h.process(clear);
    EventKeyService noKeys;  // no key at all
    StreamDescramblerConfig config;
    config.maxHeldPackets = 50;
    StreamDescrambler engine(config);
    engine.setKeyService(&noKeys);
    const Bytes out = descramble(engine, scrambled, 20);
    EXPECT_EQ(out.size(), scrambled.size()) << "nothing dropped";
    EXPECT_GT(engine.statistics().withoutKey, 500u);
    bool overflow = false, rejected = false;
    for (const auto& n : engine.takeNotices()) {
        overflow |= n.kind == DescramblerNotice::Kind::HoldOverflow;
        rejected |= n.kind == DescramblerNotice::Kind::EcmRejected;
    }
    EXPECT_TRUE(overflow);
    EXPECT_TRUE(rejected);
}

TEST(StreamDescrambler, PmtChangeMidStreamFollowsTheNewEcmPid) {
    const auto [clear, scrambled] = ecmPidChange();
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    const Bytes out = descramble(engine, scrambled, 9);
    EXPECT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1);
    ASSERT_TRUE(engine.caInfo());
    EXPECT_EQ(engine.caInfo()->ecmPid, 0x1FE0);
    EXPECT_EQ(engine.caInfo()->pmtVersion, 2);
    int changes = 0;
    for (const auto& n : engine.takeNotices())
        changes += n.kind == DescramblerNotice::Kind::CaChanged;
    EXPECT_EQ(changes, 2);
    EXPECT_EQ(engine.statistics().withoutKey, 0u);
}

// ECMs lost near the end of the first ECM stream leave packets held for a key when the PMT
// moves to another ECM PID: the new stream's words are not theirs, so they pass on as they
// are (counted without key), never "descrambled" into garbage marked clear.
TEST(StreamDescrambler, PacketsHeldAtAnEcmPidChangeAreNotOpenedWithTheNewWords) {
    const auto [clear, scrambled] = ecmPidChange([](Bytes& first) {
        for (std::uint32_t period = 3; period < 8; ++period)
            first = withoutEcmOf(first, 0x1FF0, period);
    });
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    const Bytes out = descramble(engine, scrambled, 9);
    const auto got = packetsOf(out, esPids), want = packetsOf(clear, esPids);
    ASSERT_EQ(got.size(), want.size()) << "nothing lost";
    std::size_t garbage = 0, passedScrambled = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (isScrambled(PacketView(got[i].data()).scrambling()))
            ++passedScrambled;
        else if (got[i] != want[i])
            ++garbage;
    }
    EXPECT_EQ(garbage, 0u) << "no packet of the old ECM stream opened with the new one's words";
    EXPECT_GT(passedScrambled, 0u) << "the held packets were passed on";
    EXPECT_EQ(engine.statistics().withoutKey, passedScrambled);
    ASSERT_TRUE(engine.caInfo());
    EXPECT_EQ(engine.caInfo()->ecmPid, 0x1FE0);
    EXPECT_EQ(engine.heldPackets(), 0u);
}

// A multi-program stream: a second program's PID, scrambled by another CA system with its
// own control words (flipping parity on its own schedule), is none of ours. Its packets
// pass on untouched and hold nothing up; our program is descrambled as usual.
TEST(StreamDescrambler, ScrambledPacketsOfAnotherCaSystemPassUntouched) {
    const Bytes clear = makeStream(StreamOptions{.packets = 1200});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 200));
    const Bytes ours = h.process(clear);
    Scrambler foreign(Algorithm::DvbCissa);
    foreign.setKey(Scrambling::Even, fromHex("ffeeddccbbaa99887766554433221100"));
    foreign.setKey(Scrambling::Odd, fromHex("ffeeddccbbaa99887766554433221101"));
    Bytes mixed;
    std::uint8_t cc = 0;
    for (std::size_t at = 0, i = 0; at < ours.size(); at += packetSize, ++i) {
        mixed.insert(mixed.end(), ours.begin() + static_cast<std::ptrdiff_t>(at),
                     ours.begin() + static_cast<std::ptrdiff_t>(at + packetSize));
        if (i % 10 == 5) {
            std::uint8_t p[packetSize];
            testutil::putPacketHeader(p, 0x300, false, cc);
            for (std::size_t k = 4; k < packetSize; ++k)
                p[k] = static_cast<std::uint8_t>(k * 7 + i);
            foreign.scramble(p, (i / 150) % 2 ? Scrambling::Odd : Scrambling::Even);
            mixed.insert(mixed.end(), p, p + packetSize);
        }
    }
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    const Bytes out = descramble(engine, mixed, 16);
    const auto foreignIn = packetsOf(mixed, {0x300}), foreignOut = packetsOf(out, {0x300});
    ASSERT_GT(foreignIn.size(), 100u);
    ASSERT_EQ(foreignOut.size(), foreignIn.size());
    std::size_t altered = 0;
    for (std::size_t i = 0; i < foreignIn.size(); ++i)
        altered += foreignOut[i] != foreignIn[i];
    EXPECT_EQ(altered, 0u);
    EXPECT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1);
    EXPECT_EQ(engine.statistics().withoutKey, foreignIn.size());
    ASSERT_TRUE(engine.caInfo());
    EXPECT_EQ(engine.caInfo()->esPids, esPids) << "the program-level CA descriptor covers both streams";
}

namespace {

// Scrambles `clear` with the headend and checks that every crypto-period (between `minPeriods`
// and `maxPeriods` of them) had its ECM on air, and that the engine gives every packet of
// `pids` back in clear, none left without a key.
void expectEcmsKeepUp(const Bytes& clear, const headend::HeadendConfig& c, const std::vector<std::uint16_t>& pids,
                      std::uint64_t minPeriods, std::uint64_t maxPeriods) {
    headend::Headend h(c);
    const Bytes scrambled = h.process(clear);
    EXPECT_GE(h.statistics().cryptoPeriods, minPeriods);
    EXPECT_LE(h.statistics().cryptoPeriods, maxPeriods);
    // The last period may have just started, before its ECM.
    EXPECT_GE(ecmPeriodsOf(scrambled).size() + 1, h.statistics().cryptoPeriods);
    const auto r = roundTrip(scrambled);
    EXPECT_EQ(testutil::firstDifference(packetsOf(r.out, pids), packetsOf(clear, pids)), -1);
    EXPECT_EQ(r.stats.withoutKey, 0u);
}

} // namespace

// A stream of the PMT that falls silent (sparse subtitles) must not hold the ECMs back:
// the others rotate on, and the silent one starts on the current word when it speaks.
TEST(StreamDescrambler, ASilentStreamDoesNotHoldTheHeadendsEcmsBack) {
    StreamOptions o{.packets = 3000, .es = {{0x100, 0x02, 7}, {0x101, 0x04, 5}, {0x102, 0x06, 1}}};
    Bytes clear = makeStream(o);
    // PID 0x102 speaks in packets 0..59, then not until packet 2000, then again.
    for (std::size_t at = 60 * packetSize; at < 2000 * packetSize; at += packetSize)
        if (PacketView(clear.data() + at).pid() == 0x102) {
            clear[at + 1] = 0x1F;  // a null packet instead
            clear[at + 2] = 0xFF;
        }
    expectEcmsKeepUp(clear, headendConfig(Algorithm::DvbCissa, 300), {0x100, 0x101, 0x102}, 9, 11);
}

// A PMT version that drops a stream: the dropped stream must not hold the ECMs back.
TEST(StreamDescrambler, AStreamThePmtDropsDoesNotHoldTheHeadendsEcmsBack) {
    StreamOptions first{.packets = 700, .pmtVersion = 1};
    StreamOptions second{.packets = 2000, .pmtVersion = 2, .es = {{0x100, 0x02, 7}, {0x102, 0x04, 5}},
                         .seed = 2, .firstPcr = 700 * 27000};
    Bytes clear = makeStream(first);
    const Bytes b = makeStream(second);
    clear.insert(clear.end(), b.begin(), b.end());
    expectEcmsKeepUp(clear, headendConfig(Algorithm::DvbCsa2, 250), {0x100, 0x101, 0x102}, 9, 12);
}

// A PCR that jumps an hour forward, or back to 0 (a looped file), is a discontinuity, not
// time that passed: the crypto-periods go on from where they were, and the ECMs keep up.
TEST(StreamDescrambler, PcrJumpsAreNotTimeThatPassed) {
    for (const std::uint64_t secondStart : {3000ull * 27000 + 3600ull * 27'000'000, 0ull}) {
        SCOPED_TRACE("second part from PCR " + std::to_string(secondStart));
        Bytes clear = makeStream(StreamOptions{.packets = 3000});
        const Bytes more = makeStream(StreamOptions{.packets = 3000, .seed = 2, .firstPcr = secondStart});
        clear.insert(clear.end(), more.begin(), more.end());
        auto c = headendConfig(Algorithm::DvbCissa, 0);
        c.cryptoPeriodSeconds = 1.0;  // 1,000 packets of the synthetic stream
        c.ecmIntervalSeconds = 0.05;
        expectEcmsKeepUp(clear, c, esPids, 5, 7);  // six seconds of stream
    }
}

// Tuning in mid-stream: scrambled packets before the first PMT are held, and released
// with the first ECM's words, not passed on scrambled when the PMT arrives.
TEST(StreamDescrambler, TuningInMidStreamHoldsWhatComesBeforeThePmt) {
    const Bytes clear = makeStream(StreamOptions{.packets = 2000});
    const Bytes scrambled = headend::Headend(headendConfig(Algorithm::DvbCissa, 300)).process(clear);
    const Bytes tuned(scrambled.begin() + 417 * packetSize, scrambled.end());
    std::size_t beforePmt = 0;
    for (std::size_t at = 0; at < tuned.size() && PacketView(tuned.data() + at).pid() != 0x1000; at += packetSize)
        beforePmt += isScrambled(PacketView(tuned.data() + at).scrambling());
    ASSERT_GT(beforePmt, 10u) << "scrambled packets come before the first PMT";
    const auto r = roundTrip(tuned);
    EXPECT_EQ(r.stats.withoutKey, 0u);
    EXPECT_GE(r.stats.held, beforePmt);
    const auto got = packetsOf(r.out, esPids), all = packetsOf(clear, esPids);
    ASSERT_LE(got.size(), all.size());
    const std::vector<Bytes> want(all.end() - static_cast<std::ptrdiff_t>(got.size()), all.end());
    EXPECT_EQ(testutil::firstDifference(got, want), -1);
}

// Back in fixed-key mode (key service removed), the PMT followed in ECM mode no longer
// decides which PIDs are descrambled; and a control word set while in ECM mode does not
// stop the next ECM repeat from putting the ECM's words back.
TEST(StreamDescrambler, SwitchingModesForgetsWhatTheOtherModeKnew) {
    const Bytes clear = makeStream(StreamOptions{.packets = 1200});
    const Bytes ours = headend::Headend(headendConfig(Algorithm::DvbCissa, 200)).process(clear);
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    const std::size_t half = ours.size() / packetSize / 2 * packetSize;
    Bytes out = descramble(engine, Bytes(ours.begin(), ours.begin() + static_cast<std::ptrdiff_t>(half)), 16);
    ASSERT_TRUE(engine.caInfo());
    engine.setFixedKey(Scrambling::Even, {});  // in ECM mode
    const auto heldBefore = engine.statistics().held;
    const Bytes rest = descramble(engine, Bytes(ours.begin() + static_cast<std::ptrdiff_t>(half), ours.end()), 16);
    out.insert(out.end(), rest.begin(), rest.end());
    // Until the next ECM repeat (every 40 packets) at most, not until the ECM changes.
    EXPECT_LE(engine.statistics().held - heldBefore, 50u);
    EXPECT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1);

    engine.setKeyService(nullptr);
    const Bytes word = fromHex("ffeeddccbbaa99887766554433221100");
    Scrambler other(Algorithm::DvbCissa);
    other.setKey(Scrambling::Even, word);
    engine.setFixedKey(Scrambling::Even, word);
    Bytes plain, scrambled;
    std::uint8_t cc = 0;
    for (int i = 0; i < 20; ++i) {
        std::uint8_t p[packetSize];
        testutil::putPacketHeader(p, 0x300, false, cc);
        for (std::size_t k = 4; k < packetSize; ++k)
            p[k] = static_cast<std::uint8_t>(k * 3 + static_cast<std::size_t>(i));
        plain.insert(plain.end(), p, p + packetSize);
        other.scramble(p, Scrambling::Even);
        scrambled.insert(scrambled.end(), p, p + packetSize);
    }
    EXPECT_EQ(descramble(engine, scrambled, 4), plain) << "PID 0x300 was foreign to the PMT of ECM mode only";
}

TEST(StreamDescrambler, WrongEventKeyIsRejectedNotUsed) {
    const Bytes clear = makeStream(StreamOptions{.packets = 300});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 100));
    const Bytes scrambled = h.process(clear);
    const auto r = roundTrip(scrambled, 50, fromHex("ffffffffffffffffffffffffffffffff"));
    EXPECT_EQ(r.stats.descrambled, 0u);
    EXPECT_EQ(r.out, scrambled) << "released at end of stream exactly as received";
}

// The same event on two services: each service's ECMs open with the event key, but the
// engine following program 1 takes none of program 2's.
TEST(StreamDescrambler, AnotherServicesEcmsAreRejected) {
    const Bytes clear = makeStream(StreamOptions{.packets = 400});
    const Bytes scrambled = headend::Headend(headendConfig(Algorithm::DvbCissa, 100)).process(clear);
    const Bytes other =
        headend::Headend(headendConfig(Algorithm::DvbCissa, 100)).process(makeStream(StreamOptions{.packets = 400, .program = 2}));
    ASSERT_EQ(other.size(), scrambled.size());
    // Program 1's stream with program 2's ECM packets in their places.
    Bytes spliced = scrambled;
    std::size_t swapped = 0;
    for (std::size_t at = 0; at < spliced.size(); at += packetSize) {
        if (PacketView(spliced.data() + at).pid() != 0x1FF0)
            continue;
        ASSERT_EQ(PacketView(other.data() + at).pid(), 0x1FF0) << "packet " << at / packetSize;
        std::copy_n(other.begin() + static_cast<std::ptrdiff_t>(at), packetSize,
                    spliced.begin() + static_cast<std::ptrdiff_t>(at));
        ++swapped;
    }
    ASSERT_GT(swapped, 0u);
    const auto r = roundTrip(spliced, 50);
    EXPECT_EQ(r.stats.descrambled, 0u);
    // Counted once per ECM, not at each of its repeats.
    EXPECT_EQ(r.stats.errors, ecmPeriodsOf(other).size());
    EXPECT_LT(ecmPeriodsOf(other).size(), swapped);
    bool noticed = false;
    for (const auto& n : r.notices)
        noticed |= n.kind == DescramblerNotice::Kind::EcmRejected && n.text.find("service 2") != std::string::npos;
    EXPECT_TRUE(noticed);
    EXPECT_EQ(r.out, spliced) << "released at end of stream exactly as received";
    // Program 1's own ECMs still open it.
    EXPECT_EQ(packetsOf(roundTrip(scrambled).out, esPids), packetsOf(clear, esPids));
}

// The PAT renumbers the program mid-stream (same PMT PID): the headend reseals the ECM on
// air for the new number, so the receiver, which refuses another service's ECMs, goes on.
TEST(StreamDescrambler, AProgramRenumberedMidStreamStaysOpen) {
    Bytes clear = makeStream(StreamOptions{.packets = 700, .pmtVersion = 1});
    const Bytes renumbered =
        makeStream(StreamOptions{.packets = 700, .program = 2, .pmtVersion = 2, .seed = 2, .firstPcr = 700 * 27000});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 150));
    Bytes scrambled = h.process(clear);
    const Bytes second = h.process(renumbered);
    scrambled.insert(scrambled.end(), second.begin(), second.end());
    clear.insert(clear.end(), renumbered.begin(), renumbered.end());
    const auto r = roundTrip(scrambled);
    EXPECT_EQ(packetsOf(r.out, esPids), packetsOf(clear, esPids));
    EXPECT_EQ(r.stats.withoutKey, 0u);
}

// A key service that answers an ECM with control words the algorithm cannot take
// (CSA2-sized for a CISSA stream) until the test sets `sane`, then the real ones.
class MisfittingKeys final : public KeyService {
public:
    std::optional<ControlWords> onEcm(ByteView section, std::string& reason) noexcept override {
        auto words = inner.onEcm(section, reason);
        if (words && !sane) {
            words->odd = crypto::SecretBytes(Bytes(8, 1));  // the even word fits, the odd one does not
            ++misfits;
        }
        return words;
    }
    EventKeyService inner;
    bool sane = false;
    int misfits = 0;
};

// Unusable control words reject that ECM (counted, noticed); the stream goes on,
// its packets wait, and the first usable ECM opens them all.
TEST(StreamDescrambler, ControlWordsTheAlgorithmCannotTakeRejectTheEcmNotTheStream) {
    const Bytes clear = makeStream(StreamOptions{.packets = 400});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 1000));
    const Bytes scrambled = h.process(clear);
    MisfittingKeys keys;
    keys.inner.setDefaultKey(eventKey);
    StreamDescramblerConfig config;
    config.maxHeldPackets = 1000000;
    StreamDescrambler engine(config);
    engine.setKeyService(&keys);
    const std::size_t half = scrambled.size() / 2 / packetSize * packetSize;
    Bytes first(scrambled.begin(), scrambled.begin() + static_cast<std::ptrdiff_t>(half));
    Bytes out;
    ASSERT_NO_THROW({
        auto r = engine.process(first);
        out.insert(out.end(), first.begin(), first.begin() + static_cast<std::ptrdiff_t>(r.inPlace));
        out.insert(out.end(), r.tail.begin(), r.tail.end());
    });
    EXPECT_GT(keys.misfits, 0);
    EXPECT_GT(engine.statistics().errors, 0u);
    EXPECT_EQ(engine.statistics().descrambled, 0u);
    bool noticed = false;
    for (const auto& n : engine.takeNotices())
        noticed |= n.kind == DescramblerNotice::Kind::EcmRejected && n.text.find("ECM rejected") != std::string::npos;
    EXPECT_TRUE(noticed);
    keys.sane = true;
    Bytes second(scrambled.begin() + static_cast<std::ptrdiff_t>(half), scrambled.end());
    auto r = engine.process(second);
    out.insert(out.end(), second.begin(), second.begin() + static_cast<std::ptrdiff_t>(r.inPlace));
    out.insert(out.end(), r.tail.begin(), r.tail.end());
    const Bytes rest = engine.drain();
    out.insert(out.end(), rest.begin(), rest.end());
    EXPECT_EQ(packetsOf(out, esPids), packetsOf(clear, esPids));
}

TEST(StreamDescrambler, FixedKeyModeLeavesPacketsWithoutKeyScrambled) {
    StreamDescrambler engine(StreamDescramblerConfig{.algorithm = Algorithm::DvbCsa2});
    engine.setFixedKey(Scrambling::Even, fromHex("0102030609080706"));
    Bytes stream = makeStream(StreamOptions{.packets = 50});
    Scrambler s(Algorithm::DvbCsa2);
    s.setKey(Scrambling::Odd, fromHex("1111111111111111"));
    for (std::size_t at = 0; at < stream.size(); at += packetSize)
        if (PacketView(stream.data() + at).pid() == 0x100)
            s.scramble(stream.data() + at, Scrambling::Odd);
    const Bytes before = stream;
    auto result = engine.process(stream);
    EXPECT_EQ(result.inPlace, stream.size());
    EXPECT_EQ(stream, before);
    EXPECT_GT(engine.statistics().withoutKey, 10u);
    EXPECT_EQ(engine.statistics().held, 0u);
    EXPECT_THROW(engine.setFixedKey(Scrambling::Reserved, Bytes(8)), Error);
}

TEST(StreamDescrambler, HandsGuidePacketsToItsCollectorWhileDescrambling) {
    // A real capture (CAT, EIT p/f, TDT/TOT), cut into buffers of 7 packets.
    const Bytes capture = testdata::readFile("tsduck/test-030.ts");
    ASSERT_EQ(capture.size() % packetSize, 0u);
    GuideCollector guide;
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setGuideCollector(&guide);
    EXPECT_EQ(descramble(engine, capture, 7), capture) << "clear packets pass unchanged";
    EXPECT_EQ(guide.events().size(), 20u);
    EXPECT_EQ(guide.emmPids().size(), 12u);

    std::size_t later = 0;
    GuideCollector other({.onEvent = [&](const GuideEvent&) { ++later; }});
    engine.setGuideCollector(&other);
    engine.setGuideCollector(nullptr);
    descramble(engine, capture, 7);
    EXPECT_EQ(later, 0u) << "detached";
}

TEST(StreamDescrambler, ThousandCryptoPeriodChangesLoseNothing) {
    const Bytes clear = makeStream(StreamOptions{.packets = 60'500});
    headend::Headend h(headendConfig(Algorithm::DvbCissa, 60));
    const Bytes scrambled = h.process(clear);
    ASSERT_GE(h.statistics().cryptoPeriods, 1001u);
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    const Bytes out = descramble(engine, scrambled, 7);
    EXPECT_EQ(testutil::firstDifference(packetsOf(out, esPids), packetsOf(clear, esPids)), -1);
    EXPECT_EQ(engine.statistics().withoutKey, 0u);
    EXPECT_EQ(engine.statistics().errors, 0u);
}
