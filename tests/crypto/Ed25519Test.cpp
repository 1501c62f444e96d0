// Vectors: RFC 8032 section 7.1, TEST 1, TEST 2 and TEST 3.
#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Ed25519.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using crypto::Ed25519PrivateKey;
using crypto::Ed25519PublicKey;

namespace {
struct Vector {
    const char* secret;
    const char* pub;
    const char* message;
    const char* signature;
};
const Vector rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};
}

TEST(Ed25519, Rfc8032Vectors)
{
    for (const Vector& v : rfc8032) {
        const auto key = Ed25519PrivateKey::fromSeed(fromHex(v.secret));
        EXPECT_EQ(toHex(key.publicKey().raw()), v.pub);
        const Bytes message = fromHex(v.message);
        EXPECT_EQ(toHex(key.sign(message)), v.signature);
        const auto pub = Ed25519PublicKey::fromRaw(fromHex(v.pub));
        EXPECT_TRUE(pub.verify(message, fromHex(v.signature)));
        EXPECT_TRUE(crypto::constantTimeEqual(key.seed(), fromHex(v.secret)));
    }
}

TEST(Ed25519, RejectsAlteredSignatureMessageOrKey)
{
    const auto key = Ed25519PrivateKey::generate();
    const Bytes message{1, 2, 3, 4, 5};
    const Bytes sig = key.sign(message);
    EXPECT_TRUE(key.publicKey().verify(message, sig));
    for (std::size_t i = 0; i < sig.size(); ++i) {
        Bytes bad = sig;
        bad[i] ^= 0x04;
        EXPECT_FALSE(key.publicKey().verify(message, bad)) << i;
    }
    Bytes otherMessage = message;
    otherMessage.push_back(0);
    EXPECT_FALSE(key.publicKey().verify(otherMessage, sig));
    EXPECT_FALSE(Ed25519PrivateKey::generate().publicKey().verify(message, sig));
    EXPECT_FALSE(key.publicKey().verify(message, Bytes(sig.begin(), sig.end() - 1)));
}

TEST(Ed25519, PemRoundTrip)
{
    const auto key = Ed25519PrivateKey::generate();
    const std::string pem = key.toPem();
    EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
    const auto back = Ed25519PrivateKey::fromPem(pem);
    EXPECT_EQ(back.publicKey(), key.publicKey());
    const auto pub = Ed25519PublicKey::fromPem(key.publicKey().toPem());
    EXPECT_EQ(pub, key.publicKey());
    EXPECT_TRUE(pub.verify(Bytes{7}, back.sign(Bytes{7})));
}

TEST(Ed25519, RejectsBadInput)
{
    try {
        Ed25519PublicKey::fromRaw(Bytes(31));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
    }
    try {
        Ed25519PrivateKey::fromPem("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
    }
}
