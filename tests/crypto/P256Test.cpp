#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/P256.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using crypto::P256PrivateKey;
using crypto::P256PublicKey;

// Vector: RFC 6979 appendix A.2.5 (P-256, SHA-256, message "sample"): the public key
// and the deterministic signature; ECDSA verification does not depend on how k was chosen.
TEST(P256, VerifiesRfc6979Signature)
{
    const auto pub = P256PublicKey::fromRaw(
        fromHex("0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"));
    const Bytes message{'s', 'a', 'm', 'p', 'l', 'e'};
    const Bytes sig = fromHex("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                              "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
    EXPECT_TRUE(pub.verify(message, sig));
    Bytes bad = sig;
    bad[10] ^= 1;
    EXPECT_FALSE(pub.verify(message, bad));
    EXPECT_FALSE(pub.verify(Bytes{'S'}, sig));
}

TEST(P256, SignVerifyAndPem)
{
    const auto key = P256PrivateKey::generate();
    const Bytes message{9, 8, 7};
    const Bytes sig = key.sign(message);
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_TRUE(key.publicKey().verify(message, sig));
    const auto pub = P256PublicKey::fromRaw(key.publicKey().raw());
    EXPECT_TRUE(pub.verify(message, sig));
    EXPECT_TRUE(P256PublicKey::fromPem(pub.toPem()).verify(message, sig));
    const auto back = P256PrivateKey::fromPem(key.toPem());
    EXPECT_EQ(back.publicKey(), key.publicKey());
    EXPECT_TRUE(pub.verify(message, back.sign(message)));
    EXPECT_FALSE(P256PrivateKey::generate().publicKey().verify(message, sig));
}

TEST(P256, RejectsPointOffTheCurve)
{
    Bytes raw(65, 0x01);
    raw[0] = 0x04;
    try {
        P256PublicKey::fromRaw(raw);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
    }
    EXPECT_THROW(P256PublicKey::fromRaw(Bytes(33, 2)), Error);
}
