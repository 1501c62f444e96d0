#include <boxoffice/mpegts/Packet.h>

#include <gtest/gtest.h>

#include <array>

using namespace boxoffice::mpegts;

namespace {

std::array<std::uint8_t, packetSize> packet(std::uint8_t afc, std::uint8_t afLength = 0) {
    std::array<std::uint8_t, packetSize> p{};
    p.fill(0xAB);
    p[0] = syncByte;
    p[1] = 0x41;  // PUSI, PID 0x100
    p[2] = 0x00;
    p[3] = static_cast<std::uint8_t>(0x80 | (afc << 4) | 0x07);
    p[4] = afLength;
    return p;
}

} // namespace

TEST(PacketView, HeaderFields) {
    auto p = packet(1);
    PacketView v(p.data());
    EXPECT_TRUE(v.hasSync());
    EXPECT_TRUE(v.payloadUnitStart());
    EXPECT_FALSE(v.transportError());
    EXPECT_EQ(v.pid(), 0x100);
    EXPECT_EQ(v.scrambling(), Scrambling::Even);
    EXPECT_EQ(v.continuityCounter(), 7);
    EXPECT_EQ(v.payloadOffset(), 4u);
    EXPECT_EQ(v.payload().size(), 184u);
}

TEST(PacketView, AdaptationFieldAndPayload) {
    for (std::uint8_t len = 0; len <= 182; ++len) {
        auto p = packet(3, len);
        EXPECT_EQ(PacketView(p.data()).payloadOffset(), 5u + len) << int(len);
        EXPECT_EQ(PacketView(p.data()).payload().size(), 183u - len);
    }
}

TEST(PacketView, AdaptationLength183WithPayloadFlagMeansNoPayload) {
    auto p = packet(3, 183);
    EXPECT_EQ(PacketView(p.data()).payloadOffset(), packetSize);
    EXPECT_TRUE(PacketView(p.data()).payload().empty());
}

TEST(PacketView, AdaptationOnlyPacketHasNoPayload) {
    auto p = packet(2, 183);
    EXPECT_EQ(PacketView(p.data()).payloadOffset(), packetSize);
    EXPECT_TRUE(mutablePayload(p.data()).empty());
}

TEST(PacketView, InvalidAdaptationLengthsAreRejected) {
    for (int len : {184, 200, 255}) {
        auto p = packet(3, static_cast<std::uint8_t>(len));
        EXPECT_FALSE(PacketView(p.data()).payloadOffset()) << len;
        EXPECT_TRUE(PacketView(p.data()).payload().empty());
    }
    // Adaptation-only packets must fill the packet exactly.
    for (int len : {0, 100, 182, 184}) {
        auto p = packet(2, static_cast<std::uint8_t>(len));
        EXPECT_FALSE(PacketView(p.data()).payloadOffset()) << len;
    }
}

TEST(PacketView, ReservedAdaptationControlCarriesNoPayload) {
    auto p = packet(0);
    EXPECT_EQ(PacketView(p.data()).payloadOffset(), packetSize);
}

TEST(PacketView, ScramblingControlRewrite) {
    auto p = packet(1);
    setScrambling(p.data(), Scrambling::Odd);
    EXPECT_EQ(PacketView(p.data()).scrambling(), Scrambling::Odd);
    setScrambling(p.data(), Scrambling::Clear);
    EXPECT_EQ(PacketView(p.data()).scrambling(), Scrambling::Clear);
    // Other bits of byte 3 are kept.
    EXPECT_EQ(p[3], 0x17);
}

TEST(PacketView, Pcr) {
    auto p = packet(3, 7);
    p[5] = 0x10;  // PCR flag
    // base = 1, extension = 2 -> 302
    p[6] = 0;
    p[7] = 0;
    p[8] = 0;
    p[9] = 0;
    p[10] = 0x80 | 0x7E;
    p[11] = 0x02;
    EXPECT_EQ(PacketView(p.data()).pcr(), 302u);
    p[5] = 0;
    EXPECT_FALSE(PacketView(p.data()).pcr());
}
