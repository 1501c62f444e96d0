// Damaged streams through the ECM-mode engine: errors are counted, nothing
// crashes (ASan/UBSan), every byte keeps flowing, and good data after the damage
// is still descrambled.

#include "SyntheticStream.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/mpegts/StreamDescrambler.h>

#include <gtest/gtest.h>

#include <random>

using namespace boxoffice;
using namespace boxoffice::mpegts;

namespace {

const Bytes eventKey = fromHex("0f0e0d0c0b0a09080706050403020100");

Bytes scrambledStream(std::size_t packets = 1200) {
    headend::HeadendConfig c;
    c.algorithm = Algorithm::DvbCissa;
    c.packetsPerCryptoPeriod = 300;
    c.ecmIntervalPackets = 30;
    c.eventKey = crypto::SecretBytes(eventKey);
    headend::Headend h(c);
    return h.process(testutil::makeStream(testutil::StreamOptions{.packets = packets}));
}

struct Outcome {
    Bytes out;
    DescramblerStatistics stats;
    std::vector<DescramblerNotice> notices;
};

Outcome run(Bytes stream, std::size_t chunk = 17) {
    EventKeyService keys;
    keys.setDefaultKey(eventKey);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    Outcome r;
    for (std::size_t at = 0; at < stream.size(); at += chunk * packetSize) {
        const std::size_t n = std::min(chunk * packetSize, stream.size() - at);
        auto result = engine.process(MutableByteView(stream.data() + at, n));
        r.out.insert(r.out.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                     stream.begin() + static_cast<std::ptrdiff_t>(at + result.inPlace));
        r.out.insert(r.out.end(), result.tail.begin(), result.tail.end());
    }
    const Bytes rest = engine.drain();
    r.out.insert(r.out.end(), rest.begin(), rest.end());
    r.stats = engine.statistics();
    r.notices = engine.takeNotices();
    return r;
}

// Applies `damage` to the first packet of `pid` at or after index `from`.
template <class Fn> void damageFirst(Bytes& stream, std::uint16_t pid, std::size_t from, Fn damage) {
    for (std::size_t at = from * packetSize; at < stream.size(); at += packetSize)
        if (PacketView(stream.data() + at).pid() == pid && PacketView(stream.data() + at).payloadUnitStart()) {
            damage(stream.data() + at);
            return;
        }
}

std::size_t clearEsPackets(ByteView out) {
    std::size_t n = 0;
    for (std::size_t at = 0; at < out.size(); at += packetSize) {
        const PacketView v(out.data() + at);
        n += (v.pid() == 0x100 || v.pid() == 0x101) && v.scrambling() == Scrambling::Clear;
    }
    return n;
}

} // namespace

TEST(BadInput, BadSectionCrcIsCountedAndIgnored) {
    Bytes s = scrambledStream();
    damageFirst(s, 0x1000, 0, [](std::uint8_t* p) { p[5 + 12] ^= 0xFF; });  // inside the first PMT
    damageFirst(s, 0x1FF0, 400, [](std::uint8_t* p) { p[5 + 30] ^= 0xFF; });  // inside an ECM
    const Outcome r = run(s);
    EXPECT_GE(r.stats.errors, 2u);
    EXPECT_EQ(r.out.size(), s.size());
    EXPECT_GT(clearEsPackets(r.out), 1000u) << "the next PMT and ECM repetitions are used";
}

TEST(BadInput, AbsurdSectionLengths) {
    Bytes s = scrambledStream();
    // section_length 0xFFF in a PAT and in a PMT, and an impossible adaptation field.
    damageFirst(s, patPid, 0, [](std::uint8_t* p) { p[6] = 0xBF; p[7] = 0xFF; });
    damageFirst(s, 0x1000, 200, [](std::uint8_t* p) { p[6] = 0xBF; p[7] = 0xFF; });
    damageFirst(s, 0x100, 500, [](std::uint8_t* p) { p[3] |= 0x20; p[4] = 250; });
    const Outcome r = run(s);
    EXPECT_GE(r.stats.errors, 1u);
    EXPECT_EQ(r.out.size(), s.size());
    EXPECT_GT(clearEsPackets(r.out), 1000u);
}

TEST(BadInput, ContinuityErrorsOnPsiAndEcmPids) {
    Bytes s = scrambledStream();
    // Remove one ECM packet and one PMT packet: the decoders resynchronise.
    for (std::uint16_t pid : {std::uint16_t{0x1FF0}, std::uint16_t{0x1000}}) {
        for (std::size_t at = 300 * packetSize; at < s.size(); at += packetSize)
            if (PacketView(s.data() + at).pid() == pid) {
                s.erase(s.begin() + static_cast<std::ptrdiff_t>(at),
                        s.begin() + static_cast<std::ptrdiff_t>(at + packetSize));
                break;
            }
    }
    const Outcome r = run(s);
    EXPECT_GE(r.stats.errors, 1u);
    bool psiError = false;
    for (const auto& n : r.notices)
        psiError |= n.kind == DescramblerNotice::Kind::PsiError;
    EXPECT_TRUE(psiError);
    EXPECT_EQ(r.out.size(), s.size());
    EXPECT_EQ(r.stats.withoutKey, 0u);
}

TEST(BadInput, ReservedScramblingControlIsAnError) {
    Bytes s = scrambledStream(400);
    std::size_t marked = 0;
    for (std::size_t at = 0; at < s.size() && marked < 5; at += packetSize)
        if (PacketView(s.data() + at).pid() == 0x101) {
            s[at + 3] = static_cast<std::uint8_t>((s[at + 3] & 0x3F) | 0x40);  // 01
            ++marked;
        }
    const Outcome r = run(s);
    EXPECT_GE(r.stats.errors, 5u);
    EXPECT_EQ(r.out.size(), s.size());
}

TEST(BadInput, RandomCorruptionNeverCrashes) {
    std::mt19937 rng(7);
    const Bytes good = scrambledStream(800);
    for (int round = 0; round < 20; ++round) {
        Bytes s = good;
        for (int k = 0; k < 60; ++k)
            s[rng() % s.size()] = static_cast<std::uint8_t>(rng());
        const Outcome r = run(s, 1 + round % 13);
        EXPECT_EQ(r.out.size(), s.size());
    }
}
