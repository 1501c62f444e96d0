#include <boxoffice/base/Error.h>
#include <boxoffice/mpegts/Descrambler.h>

#include <gtest/gtest.h>

#include <random>

using namespace boxoffice;
using namespace boxoffice::mpegts;

namespace {

Bytes randomPackets(std::size_t count, std::uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes out(count * packetSize);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(rng());
    for (std::size_t i = 0; i < count; ++i) {
        std::uint8_t* p = out.data() + i * packetSize;
        p[0] = syncByte;
        p[1] = static_cast<std::uint8_t>(0x01 + (i % 3));  // PIDs 0x100..0x300
        p[2] = 0x00;
        // Vary the layout: payload only, adaptation field of every length, adaptation only.
        const std::size_t kind = i % 5;
        if (kind == 0) {
            p[3] = 0x10;
        } else if (kind == 4) {
            p[3] = 0x20;
            p[4] = 183;
        } else {
            p[3] = 0x30;
            p[4] = static_cast<std::uint8_t>(rng() % 184);
        }
    }
    return out;
}

} // namespace

class RoundTrip : public ::testing::TestWithParam<Algorithm> {};

TEST_P(RoundTrip, EvenAndOddKeysPerPacket) {
    const Algorithm a = GetParam();
    const Bytes clear = randomPackets(600, 7);
    Bytes even(controlWordSize(a), 0x11), odd(controlWordSize(a), 0x22);
    Scrambler s(a);
    s.setKey(Scrambling::Even, even);
    s.setKey(Scrambling::Odd, odd);
    Bytes stream = clear;
    std::size_t scrambled = 0;
    for (std::size_t i = 0; i < 600; ++i)
        scrambled += s.scramble(stream.data() + i * packetSize, (i / 7) % 2 ? Scrambling::Odd : Scrambling::Even);
    EXPECT_GT(scrambled, 400u);
    EXPECT_NE(stream, clear);

    Descrambler d(a);
    d.setKey(Scrambling::Even, even);
    d.setKey(Scrambling::Odd, odd);
    EXPECT_EQ(d.descramble(stream), scrambled);
    EXPECT_EQ(stream, clear);
}

TEST_P(RoundTrip, MissingKeyLeavesPacketsScrambled) {
    const Algorithm a = GetParam();
    const Bytes clear = randomPackets(20, 9);
    Scrambler s(a);
    s.setKey(Scrambling::Odd, Bytes(controlWordSize(a), 0x33));
    Bytes stream = clear;
    for (std::size_t i = 0; i < 20; ++i)
        s.scramble(stream.data() + i * packetSize, Scrambling::Odd);
    const Bytes scrambledCopy = stream;
    Descrambler d(a);
    d.setKey(Scrambling::Even, Bytes(controlWordSize(a), 0x33));
    for (std::size_t i = 0; i < 20; ++i) {
        auto outcome = d.add(stream.data() + i * packetSize);
        EXPECT_TRUE(outcome == Descrambler::Outcome::NoKey || outcome == Descrambler::Outcome::Clear);
    }
    d.flush();
    EXPECT_EQ(stream, scrambledCopy);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, RoundTrip,
                         ::testing::Values(Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa),
                         [](const auto& param) {
                             std::string n(toString(param.param));
                             std::erase(n, '-');
                             return n;
                         });

TEST(Descrambler, ReservedScramblingAndBadAdaptationAreInvalid) {
    Descrambler d(Algorithm::DvbCsa2);
    d.setKey(Scrambling::Even, Bytes(8, 1));
    Bytes p(packetSize, 0xAA);
    p[0] = syncByte;
    p[3] = 0x50;  // scrambling 01, payload only
    EXPECT_EQ(d.add(p.data()), Descrambler::Outcome::Invalid);
    p[3] = 0xB0;  // even, AF + payload
    p[4] = 190;   // impossible length
    const Bytes before = p;
    EXPECT_EQ(d.add(p.data()), Descrambler::Outcome::Invalid);
    d.flush();
    EXPECT_EQ(p, before);
}

TEST(Descrambler, KeyChangeAppliesOnlyToLaterPackets) {
    const Algorithm a = Algorithm::DvbCissa;
    const Bytes clear = randomPackets(4, 3);
    Bytes k1(16, 1), k2(16, 2);
    Bytes stream = clear;
    Scrambler s1(a), s2(a);
    s1.setKey(Scrambling::Even, k1);
    s2.setKey(Scrambling::Even, k2);
    s1.scramble(stream.data(), Scrambling::Even);
    s2.scramble(stream.data() + packetSize, Scrambling::Even);
    Descrambler d(a);
    d.setKey(Scrambling::Even, k1);
    d.add(stream.data());                 // queued under k1
    d.setKey(Scrambling::Even, k2);       // must flush the queued packet first
    d.add(stream.data() + packetSize);
    d.flush();
    EXPECT_TRUE(std::equal(stream.begin(), stream.begin() + 2 * packetSize, clear.begin()));
}

TEST(Descrambler, RejectsPartialPacketsAndBadParity) {
    Descrambler d(Algorithm::DvbCsa2);
    Bytes partial(100);
    EXPECT_THROW(d.descramble(partial), Error);
    EXPECT_THROW(d.setKey(Scrambling::Clear, Bytes(8)), Error);
    EXPECT_THROW(d.setKey(Scrambling::Even, Bytes(16)), Error);
}
