// Vectors: FIPS 197 appendix C.1/C.3 (AES-128/256 single block) and
// NIST SP 800-38A F.1.1, F.2.1, F.2.5 (ECB-AES128, CBC-AES128, CBC-AES256).
#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/BlockCipher.h>

#include <gtest/gtest.h>

#include <random>
#include <span>
#include <utility>
#include <vector>

using namespace boxoffice;
using crypto::Direction;

namespace {
const std::string sp800Plain = "6bc1bee22e409f96e93d7e117393172a"
                               "ae2d8a571e03ac9c9eb76fac45af8e51"
                               "30c81c46a35ce411e5fbc1191a0a52ef"
                               "f69f2445df4f9b17ad2b417be66c3710";
const Bytes sp800Key128 = fromHex("2b7e151628aed2a6abf7158809cf4f3c");
const Bytes sp800Iv = fromHex("000102030405060708090a0b0c0d0e0f");
}

TEST(AesEcb, Fips197SingleBlocks)
{
    Bytes block = fromHex("00112233445566778899aabbccddeeff");
    crypto::AesEcb aes128(fromHex("000102030405060708090a0b0c0d0e0f"), Direction::Encrypt);
    aes128.process(block);
    EXPECT_EQ(toHex(block), "69c4e0d86a7b0430d8cdb78070b4c55a");

    block = fromHex("00112233445566778899aabbccddeeff");
    crypto::AesEcb aes256(fromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                          Direction::Encrypt);
    aes256.process(block);
    EXPECT_EQ(toHex(block), "8ea2b7ca516745bfeafc49904b496089");
    crypto::AesEcb back(fromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                        Direction::Decrypt);
    back.process(block);
    EXPECT_EQ(toHex(block), "00112233445566778899aabbccddeeff");
}

TEST(AesEcb, Sp800_38aManyBlocksInPlaceAndRepeatedly)
{
    const std::string cipher = "3ad77bb40d7a3660a89ecaf32466ef97"
                               "f5d3d58503b9699de785895a96fdbaaf"
                               "43b1cd7f598ece23881b00e3ed030688"
                               "7b0c785e27e8ad3f8223207104725dd4";
    crypto::AesEcb enc(sp800Key128, Direction::Encrypt);
    crypto::AesEcb dec(sp800Key128, Direction::Decrypt);
    // The same object is used many times: every call must start clean.
    for (int round = 0; round < 3; ++round) {
        Bytes data = fromHex(sp800Plain);
        enc.process(data);
        EXPECT_EQ(toHex(data), cipher);
        dec.process(data);
        EXPECT_EQ(toHex(data), sp800Plain);
    }
}

TEST(AesCbc, Sp800_38aAes128)
{
    const std::string cipher = "7649abac8119b246cee98e9b12e9197d"
                               "5086cb9b507219ee95db113a917678b2"
                               "73bed6b8e3c1743b7116e69e22229516"
                               "3ff1caa1681fac09120eca307586e1a7";
    crypto::AesCbc enc(sp800Key128, Direction::Encrypt);
    crypto::AesCbc dec(sp800Key128, Direction::Decrypt);
    for (int round = 0; round < 3; ++round) {
        Bytes data = fromHex(sp800Plain);
        enc.process(sp800Iv, data);
        EXPECT_EQ(toHex(data), cipher);
        dec.process(sp800Iv, data);
        EXPECT_EQ(toHex(data), sp800Plain);
    }
    // Decrypting only the last 16 bytes with the previous block as IV: chains restart.
    Bytes tail = fromHex(cipher.substr(96));
    dec.process(fromHex(cipher.substr(64, 32)), tail);
    EXPECT_EQ(toHex(tail), sp800Plain.substr(96));
}

TEST(AesCbcSameIvDecryptor, EachMessageStartsFromTheIv)
{
    const std::string cipher = "7649abac8119b246cee98e9b12e9197d"
                               "5086cb9b507219ee95db113a917678b2"
                               "73bed6b8e3c1743b7116e69e22229516"
                               "3ff1caa1681fac09120eca307586e1a7";
    crypto::AesCbcSameIvDecryptor dec(sp800Key128, sp800Iv);
    // Messages of four, one, none, two and four blocks, each chained from the IV
    // (SP 800-38A F.2.2 prefixes), whatever the previous message left behind.
    for (const std::size_t blocks : {4, 1, 0, 2, 4}) {
        Bytes data = fromHex(cipher.substr(0, blocks * 32));
        dec.decrypt(data);
        EXPECT_EQ(toHex(data), sp800Plain.substr(0, blocks * 32)) << blocks << " blocks";
    }
    // A new key starts over from the IV too.
    const Bytes key256 = fromHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    dec.setKey(key256);
    Bytes data = fromHex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
    dec.decrypt(data);
    EXPECT_EQ(toHex(data), sp800Plain.substr(0, 64));
    Bytes odd(24);
    EXPECT_THROW(dec.decrypt(odd), Error);
    EXPECT_THROW(crypto::AesCbcSameIvDecryptor(sp800Key128, Bytes(15)), Error);
}

TEST(AesCbcSameIvDecryptor, ManyMessagesInOneCallLeaveTheirResiduesAlone)
{
    const std::string cipher = "7649abac8119b246cee98e9b12e9197d"
                               "5086cb9b507219ee95db113a917678b2"
                               "73bed6b8e3c1743b7116e69e22229516"
                               "3ff1caa1681fac09120eca307586e1a7";
    crypto::AesCbcSameIvDecryptor dec(sp800Key128, sp800Iv);
    // Whole blocks of SP 800-38A F.2.2 prefixes, each followed by residue bytes
    // (0xEE) that must stay as they are: 4 blocks + 8, 1 + 0, residue only (5),
    // nothing, 3 + 15.
    const std::vector<std::pair<std::size_t, std::size_t>> shapes = {{4, 8}, {1, 0}, {0, 5}, {0, 0}, {3, 15}};
    std::vector<Bytes> messages;
    for (const auto& [blocks, residue] : shapes) {
        Bytes m = fromHex(cipher.substr(0, blocks * 32));
        m.insert(m.end(), residue, 0xEE);
        messages.push_back(m);
    }
    std::vector<MutableByteView> views(messages.begin(), messages.end());
    for (int round = 0; round < 2; ++round) {
        dec.decryptWholeBlocks(views);
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            const auto [blocks, residue] = shapes[i];
            EXPECT_EQ(toHex(ByteView(messages[i]).first(blocks * 16)), sp800Plain.substr(0, blocks * 32))
                << "round " << round << ", message " << i;
            EXPECT_EQ(Bytes(messages[i].begin() + static_cast<std::ptrdiff_t>(blocks * 16), messages[i].end()),
                      Bytes(residue, 0xEE))
                << "round " << round << ", message " << i;
        }
        // Encrypted again for the second round; the one-message form then continues
        // the same chain and must still start from the IV.
        crypto::AesCbc enc(sp800Key128, Direction::Encrypt);
        for (std::size_t i = 0; i < shapes.size(); ++i)
            if (shapes[i].first > 0) enc.process(sp800Iv, MutableByteView(messages[i]).first(shapes[i].first * 16));
    }
    Bytes one = fromHex(cipher.substr(0, 64));
    dec.decrypt(one);
    EXPECT_EQ(toHex(one), sp800Plain.substr(0, 64));
}

TEST(AesCbcSameIvDecryptor, BatchesOfAnySizeMatchOneChainPerMessage)
{
    // Enough messages to need several of the decryptor's internal batches (it
    // copies up to 8 KiB at a time into one call), TS-payload sizes mixed with
    // odd ones, and messages far larger than a batch, first, in the middle and last.
    // The reference is AesCbc, one fresh chain from the IV per message.
    std::mt19937 random(20261207);
    std::vector<std::size_t> sizes = {20000};
    for (int i = 0; i < 400; ++i) sizes.push_back(i % 3 == 0 ? random() % 400 : 184);
    sizes.push_back(8192);
    sizes.push_back(8193);
    sizes.push_back(16);
    for (int i = 0; i < 100; ++i) sizes.push_back(184);
    sizes.push_back(12345);
    std::vector<Bytes> plain, messages;
    crypto::AesCbc enc(sp800Key128, Direction::Encrypt);
    for (std::size_t size : sizes) {
        Bytes p(size);
        for (auto& b : p) b = static_cast<std::uint8_t>(random());
        Bytes m = p;
        const std::size_t whole = size - size % 16;
        enc.process(sp800Iv, MutableByteView(m).first(whole));
        plain.push_back(std::move(p));
        messages.push_back(std::move(m));
    }
    crypto::AesCbcSameIvDecryptor dec(sp800Key128, sp800Iv);
    std::vector<MutableByteView> views(messages.begin(), messages.end());
    // Split into two calls at an arbitrary point.
    const auto all = std::span<const MutableByteView>(views);
    dec.decryptWholeBlocks(all.first(137));
    dec.decryptWholeBlocks(all.subspan(137));
    for (std::size_t i = 0; i < sizes.size(); ++i)
        ASSERT_EQ(messages[i], plain[i]) << "message " << i << " of " << sizes[i] << " bytes";
}

TEST(AesCbc, Sp800_38aAes256AndRekey)
{
    const Bytes key256 = fromHex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
    const std::string cipher = "f58c4c04d6e5f1ba779eabfb5f7bfbd6"
                               "9cfc4e967edb808d679f777bc6702c7d"
                               "39f23369a9d9bacfa530e26304231461"
                               "b2eb05e2c39be9fcda6c19078c6a9d1b";
    crypto::AesCbc enc(sp800Key128, Direction::Encrypt);
    enc.setKey(key256);
    Bytes data = fromHex(sp800Plain);
    enc.process(sp800Iv, data);
    EXPECT_EQ(toHex(data), cipher);
    enc.setKey(sp800Key128);
    data = fromHex(sp800Plain);
    enc.process(sp800Iv, data);
    EXPECT_EQ(toHex(data).substr(0, 32), "7649abac8119b246cee98e9b12e9197d");
}

TEST(BlockCipher, RejectsBadSizes)
{
    EXPECT_THROW(crypto::AesEcb(Bytes(15), Direction::Encrypt), Error);
    crypto::AesCbc cbc(Bytes(16), Direction::Decrypt);
    Bytes odd(17);
    try {
        cbc.process(Bytes(16), odd);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    }
    Bytes block(16);
    EXPECT_THROW(cbc.process(Bytes(8), block), Error);
    Bytes empty;
    EXPECT_NO_THROW(cbc.process(Bytes(16), empty));
}
