// Known-answer tests of the three payload ciphers against published vectors
// (origins in tests/data/*.txt headers).

#include "TestData.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/mpegts/Descrambler.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/PayloadCipher.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::mpegts;

TEST(Cissa, EtsiAnnexBDescramble) {
    const auto cases = testdata::readCases("dvb-cissa-etsi-annexb.txt");
    ASSERT_EQ(cases.size(), 4u);
    for (const auto& c : cases) {
        Bytes packet = testdata::hexOf(c, "scrambled");
        ASSERT_EQ(packet.size(), packetSize);
        Descrambler d(Algorithm::DvbCissa);
        d.setKey(Scrambling::Even, testdata::hexOf(c, "key"));
        EXPECT_EQ(d.descramble(packet), 1u);
        EXPECT_EQ(packet, testdata::hexOf(c, "clear")) << c.at("case");
    }
}

TEST(Cissa, EtsiAnnexBScramble) {
    for (const auto& c : testdata::readCases("dvb-cissa-etsi-annexb.txt")) {
        Bytes packet = testdata::hexOf(c, "clear");
        Scrambler s(Algorithm::DvbCissa);
        s.setKey(Scrambling::Even, testdata::hexOf(c, "key"));
        EXPECT_TRUE(s.scramble(packet.data(), Scrambling::Even));
        EXPECT_EQ(packet, testdata::hexOf(c, "scrambled")) << c.at("case");
    }
}

TEST(Cissa, BatchOfAllAnnexBPacketsAtOnce) {
    const auto cases = testdata::readCases("dvb-cissa-etsi-annexb.txt");
    Bytes stream, expected;
    for (const auto& c : cases) {
        auto s = testdata::hexOf(c, "scrambled");
        auto e = testdata::hexOf(c, "clear");
        stream.insert(stream.end(), s.begin(), s.end());
        expected.insert(expected.end(), e.begin(), e.end());
    }
    Descrambler d(Algorithm::DvbCissa);
    d.setKey(Scrambling::Even, testdata::hexOf(cases[0], "key"));
    EXPECT_EQ(d.descramble(stream), 4u);
    EXPECT_EQ(stream, expected);
}

TEST(Csa2, LibdvbcsaVectorsSinglePacket) {
    const auto cases = testdata::readCases("dvb-csa2-libdvbcsa.txt");
    ASSERT_EQ(cases.size(), 2u);
    for (const auto& c : cases) {
        auto cipher = makePayloadCipher(Algorithm::DvbCsa2);
        cipher->setKey(testdata::hexOf(c, "key"));
        Bytes data = testdata::hexOf(c, "scrambled");
        cipher->decrypt(MutableByteView(data));
        EXPECT_EQ(data, testdata::hexOf(c, "clear")) << c.at("case");
        cipher->encrypt(MutableByteView(data));
        EXPECT_EQ(data, testdata::hexOf(c, "scrambled")) << c.at("case");
    }
}

TEST(Csa2, LibdvbcsaVectorsBitsliceBatch) {
    for (const auto& c : testdata::readCases("dvb-csa2-libdvbcsa.txt")) {
        auto cipher = makePayloadCipher(Algorithm::DvbCsa2);
        cipher->setKey(testdata::hexOf(c, "key"));
        // More copies than one bitslice batch holds, to cross a batch boundary.
        std::vector<Bytes> copies(300, testdata::hexOf(c, "scrambled"));
        std::vector<MutableByteView> views(copies.begin(), copies.end());
        cipher->decryptAll(std::span<const MutableByteView>(views));
        for (const auto& copy : copies)
            ASSERT_EQ(copy, testdata::hexOf(c, "clear"));
        cipher->encryptAll(std::span<const MutableByteView>(views));
        for (const auto& copy : copies)
            ASSERT_EQ(copy, testdata::hexOf(c, "scrambled"));
    }
}

TEST(Csa2, ShortPayloadsStayClear) {
    auto cipher = makePayloadCipher(Algorithm::DvbCsa2);
    cipher->setKey(Bytes{1, 2, 3, 6, 4, 5, 6, 15});
    Bytes data{1, 2, 3, 4, 5, 6, 7};
    const Bytes original = data;
    cipher->encrypt(MutableByteView(data));
    EXPECT_EQ(data, original);
    MutableByteView v(data);
    cipher->decryptAll(std::span<const MutableByteView>(&v, 1));
    EXPECT_EQ(data, original);
}

TEST(Csa2, EntropyReductionIsIdempotent) {
    Bytes cw = fromHex("0123456789ABCDEF");
    reduceCsa2Entropy(cw);
    EXPECT_EQ(toHex(cw), "0123456989abcd01");  // TSDuck's reduced CW of 0123456789ABCDEF
    Bytes again = cw;
    reduceCsa2Entropy(again);
    EXPECT_EQ(again, cw);
    Bytes bad(7);
    EXPECT_THROW(reduceCsa2Entropy(bad), Error);
}

TEST(Idsa, TsduckVectors) {
    const auto cases = testdata::readCases("atis-idsa-vectors.txt");
    ASSERT_EQ(cases.size(), 3u);
    for (const auto& c : cases) {
        auto cipher = makePayloadCipher(Algorithm::AtisIdsa);
        cipher->setKey(testdata::hexOf(c, "key"));
        Bytes data = testdata::hexOf(c, "clear");
        cipher->encrypt(MutableByteView(data));
        EXPECT_EQ(data, testdata::hexOf(c, "scrambled")) << c.at("case");
        cipher->decrypt(MutableByteView(data));
        EXPECT_EQ(data, testdata::hexOf(c, "clear")) << c.at("case");
    }
}

TEST(Idsa, BatchMixesShortResidueAndWholePayloads) {
    const auto cases = testdata::readCases("atis-idsa-vectors.txt");
    std::vector<Bytes> data;
    for (const auto& c : cases)
        data.push_back(testdata::hexOf(c, "scrambled"));
    std::vector<MutableByteView> views(data.begin(), data.end());
    auto cipher = makePayloadCipher(Algorithm::AtisIdsa);
    cipher->setKey(testdata::hexOf(cases[0], "key"));
    cipher->decryptAll(std::span<const MutableByteView>(views));
    for (std::size_t i = 0; i < cases.size(); ++i)
        EXPECT_EQ(data[i], testdata::hexOf(cases[i], "clear")) << i;
}

TEST(Ciphers, WrongKeySizeIsRejected) {
    for (auto a : {Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa}) {
        auto cipher = makePayloadCipher(a);
        EXPECT_THROW(cipher->setKey(Bytes(controlWordSize(a) + 1)), Error) << toString(a);
        Bytes payload(184);
        EXPECT_THROW(cipher->decrypt(MutableByteView(payload)), Error) << "unkeyed " << toString(a);
    }
}

TEST(Algorithm, Names) {
    for (auto a : {Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa})
        EXPECT_EQ(algorithmFromString(toString(a)), a);
    EXPECT_THROW(algorithmFromString("csa3"), Error);
    EXPECT_EQ(scramblingMode(Algorithm::DvbCissa), 0x10);
}
