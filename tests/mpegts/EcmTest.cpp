#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/mpegts/DvbTime.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/Section.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::mpegts;

namespace {
const Bytes key = fromHex("00112233445566778899aabbccddeeff");
EcmHeader header(std::uint32_t period, Algorithm a = Algorithm::DvbCissa) {
    EcmHeader h;
    h.algorithm = a;
    h.serviceId = 0x0101;
    h.eventId = 0x2222;
    h.cryptoPeriod = period;
    return h;
}
} // namespace

TEST(Ecm, SealOpenRoundTripPlacesWordsByParity) {
    const Bytes cw5(16, 0x55), cw6(16, 0x66);
    const Bytes section = sealEcm(header(5), cw5, cw6, key);
    EXPECT_EQ(section[0], ecmTableOdd);
    const EcmHeader h = peekEcm(section);
    EXPECT_EQ(h.cryptoPeriod, 5u);
    EXPECT_EQ(h.eventId, 0x2222);
    EXPECT_EQ(h.serviceId, 0x0101);
    const ControlWords w = openEcm(section, key);
    EXPECT_EQ(Bytes(w.odd.view().begin(), w.odd.view().end()), cw5);
    EXPECT_EQ(Bytes(w.even.view().begin(), w.even.view().end()), cw6);

    const Bytes even = sealEcm(header(6, Algorithm::DvbCsa2), Bytes(8, 1), Bytes(8, 2), key);
    EXPECT_EQ(even[0], ecmTableEven);
    const ControlWords w2 = openEcm(even, key);
    EXPECT_EQ(w2.even.view()[0], 1);
    EXPECT_EQ(w2.odd.view()[0], 2);
}

TEST(Ecm, EverySealUsesAFreshNonce) {
    EXPECT_NE(sealEcm(header(1), Bytes(16), Bytes(16), key), sealEcm(header(1), Bytes(16), Bytes(16), key));
}

TEST(Ecm, WrongKeyAndEveryAlteredByteAreRejected) {
    const Bytes section = sealEcm(header(3), Bytes(16, 1), Bytes(16, 2), key);
    try {
        openEcm(section, fromHex("ffeeddccbbaa99887766554433221100"));
        FAIL() << "opened with the wrong key";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::BadSignature);
    }
    // Flip each byte after the section header (the CRC is left to the reassembler).
    for (std::size_t i = 8; i + 4 < section.size(); ++i) {
        Bytes altered = section;
        altered[i] ^= 0x01;
        EXPECT_THROW(openEcm(altered, key), Error) << "byte " << i;
    }
}

TEST(Ecm, MalformedSectionsAreRejected) {
    const Bytes good = sealEcm(header(2), Bytes(16), Bytes(16), key);
    EXPECT_THROW(peekEcm(Bytes{}), Error);
    EXPECT_THROW(peekEcm(ByteView(good).first(20)), Error);
    Bytes wrongTable = good;
    wrongTable[0] = 0x02;
    EXPECT_THROW(peekEcm(wrongTable), Error);
    Bytes wrongParity = good;
    wrongParity[0] = ecmTableOdd;  // period 2 is even
    EXPECT_THROW(peekEcm(wrongParity), Error);
    Bytes longer = good;
    longer.push_back(0);
    EXPECT_THROW(peekEcm(longer), Error);
    Bytes version = good;
    version[8] = 9;
    try {
        peekEcm(version);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::UnsupportedVersion);
    }
    Bytes mode = good;
    mode[9] = 0x42;
    EXPECT_THROW(peekEcm(mode), Error);
    // The clear section header disagreeing with the authenticated fields.
    Bytes extension = good;
    extension[4] ^= 0x01;
    EXPECT_THROW(peekEcm(extension), Error);
    Bytes period = good;
    period[5] ^= 0x02;  // version_number 3 instead of 2
    EXPECT_THROW(peekEcm(period), Error);
    EXPECT_NO_THROW(peekEcm(good));
    EXPECT_THROW(sealEcm(header(1), Bytes(8), Bytes(16), key), Error);
}

TEST(EventKeyService, KeysByEventAndDefault) {
    EventKeyService s;
    std::string reason;
    const Bytes section = sealEcm(header(1), Bytes(16, 7), Bytes(16, 8), key);
    EXPECT_FALSE(s.onEcm(section, reason));
    EXPECT_NE(reason.find("no key"), std::string::npos);
    s.addEventKey(0x2222, key);
    EXPECT_TRUE(s.onEcm(section, reason));
    s.removeEventKey(0x2222);
    s.setDefaultKey(fromHex("000102030405060708090a0b0c0d0e0f"));
    reason.clear();
    EXPECT_FALSE(s.onEcm(section, reason));
    EXPECT_FALSE(reason.empty());
    EXPECT_FALSE(s.onEcm(Bytes{1, 2, 3}, reason));
}

TEST(Section, BuildAndPacketize) {
    const Bytes payload(300, 0xAB);
    const Bytes section = buildSection(SectionHeader{.tableId = 0x80, .extension = 7, .version = 3}, payload);
    ASSERT_EQ(section.size(), 8 + 300 + 4u);
    EXPECT_EQ(section[0], 0x80);
    EXPECT_EQ(((section[1] & 0x0F) << 8) | section[2], static_cast<int>(section.size() - 3));
    std::uint8_t cc = 14;
    const Bytes packets = packetizeSection(section, 0x123, cc);
    ASSERT_EQ(packets.size(), 2 * packetSize);
    EXPECT_EQ(cc, 0);
    EXPECT_EQ(packets[1], 0x41);  // PUSI + PID high bits
    EXPECT_EQ(packets[3] & 0x0F, 14);
    EXPECT_EQ(packets[4], 0);     // pointer_field
    EXPECT_EQ(packets[packetSize + 1], 0x01);
    EXPECT_EQ(packets.back(), 0xFF);  // stuffing
    EXPECT_THROW(buildSection(SectionHeader{}, Bytes(5000)), Error);
}

TEST(DvbTime, EtsiAnnexCExample) {
    // EN 300 468 Annex C: 93/10/13 12:45:00 is MJD 0xC079 and BCD 12 45 00.
    const std::int64_t t = 750516300;  // 1993-10-13T12:45:00Z
    EXPECT_EQ(toDvbUtc(t), 0xC079124500u);
    EXPECT_EQ(fromDvbUtc(0xC079124500u), t);
    EXPECT_EQ(toDvbDuration(5400), 0x013000u);
    EXPECT_EQ(fromDvbDuration(0x013000u), 5400u);
    EXPECT_FALSE(fromDvbUtc(0xC0791A4500u)) << "invalid BCD";
    EXPECT_FALSE(fromDvbUtc(0xC079246000u)) << "hour 24";
    EXPECT_FALSE(fromDvbDuration(0x00FF00u));
    EXPECT_THROW(toDvbDuration(100 * 3600), Error);
}
