// Vectors: FIPS 180-2 (SHA-256 "abc"), RFC 4231 test case 2 (HMAC-SHA256),
// RFC 5869 appendix A.1 and A.3 (HKDF-SHA256).
#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Hash.h>

#include <gtest/gtest.h>

using namespace boxoffice;

namespace {
Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
}

TEST(Hash, Sha256Fips180)
{
    EXPECT_EQ(toHex(crypto::sha256(text("abc"))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(toHex(crypto::sha256(ByteView{})),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(crypto::sha256({text("a"), text("bc")}), crypto::sha256(text("abc")));
}

TEST(Hash, HmacSha256Rfc4231Case2)
{
    EXPECT_EQ(toHex(crypto::hmacSha256(text("Jefe"), text("what do ya want for nothing?"))),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hash, HkdfRfc5869Case1)
{
    const Bytes ikm = fromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    const Bytes salt = fromHex("000102030405060708090a0b0c");
    const Bytes info = fromHex("f0f1f2f3f4f5f6f7f8f9");
    EXPECT_EQ(toHex(crypto::hkdfSha256(ikm, salt, info, 42)),
              "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hash, HkdfRfc5869Case3EmptySaltAndInfo)
{
    const Bytes ikm = fromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    EXPECT_EQ(toHex(crypto::hkdfSha256(ikm, {}, {}, 42)),
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hash, HkdfRejectsBadLength)
{
    EXPECT_THROW(crypto::hkdfSha256(text("k"), {}, {}, 0), Error);
    EXPECT_THROW(crypto::hkdfSha256(text("k"), {}, {}, 255 * 32 + 1), Error);
}
