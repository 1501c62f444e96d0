// Vectors: the GCM specification's test cases 2, 4 and 16 (McGrew & Viega, as
// used in NIST's GCM validation: AES-128 without/with AAD, AES-256 with AAD).
#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Aead.h>

#include <gtest/gtest.h>

using namespace boxoffice;

namespace {
const std::string plain4 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                           "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const Bytes aad4 = fromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
const Bytes iv4 = fromHex("cafebabefacedbaddecaf888");

void expectVector(const std::string& key, const std::string& iv, const std::string& plain, const Bytes& aad,
                  const std::string& cipherAndTag)
{
    crypto::AesGcm gcm(fromHex(key));
    const Bytes sealed = gcm.seal(fromHex(iv), fromHex(plain), aad);
    EXPECT_EQ(toHex(sealed), cipherAndTag);
    EXPECT_EQ(toHex(gcm.open(fromHex(iv), sealed, aad)), plain);
}
}

TEST(AesGcm, SpecTestCase2)
{
    expectVector("00000000000000000000000000000000", "000000000000000000000000", "00000000000000000000000000000000",
                 {}, "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
}

TEST(AesGcm, SpecTestCase1EmptyPlaintext)
{
    expectVector("00000000000000000000000000000000", "000000000000000000000000", "", {},
                 "58e2fccefa7e3061367f1d57a4e7455a");
}

TEST(AesGcm, SpecTestCase4WithAad)
{
    expectVector("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", plain4, aad4,
                 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
                 "5bc94fbc3221a5db94fae95ae7121a47");
}

TEST(AesGcm, SpecTestCase16Aes256WithAad)
{
    expectVector("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
                 plain4, aad4,
                 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                 "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                 "76fc6ece0f4e1768cddf8853bb2d551b");
}

TEST(AesGcm, RejectsAnyChangeWithBadSignature)
{
    crypto::AesGcm gcm(fromHex("feffe9928665731c6d6a8f9467308308"));
    const Bytes sealed = gcm.seal(iv4, fromHex(plain4), aad4);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        Bytes bad = sealed;
        bad[i] ^= 0x01;
        try {
            gcm.open(iv4, bad, aad4);
            ADD_FAILURE() << "byte " << i;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::BadSignature);
        }
    }
    Bytes otherAad = aad4;
    otherAad[0] ^= 1;
    EXPECT_THROW(gcm.open(iv4, sealed, otherAad), Error);
    try {
        gcm.open(iv4, Bytes(5), aad4);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
    }
}

TEST(AesGcm, BoxRoundTripUsesFreshNonces)
{
    crypto::AesGcm gcm(Bytes(32, 7));
    const Bytes msg{1, 2, 3};
    const Bytes a = gcm.sealBox(msg, aad4);
    const Bytes b = gcm.sealBox(msg, aad4);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.size(), 12u + 3u + 16u);
    const crypto::SecretBytes opened = gcm.openBox(a, aad4);
    EXPECT_EQ(Bytes(opened.view().begin(), opened.view().end()), msg);
    EXPECT_THROW(gcm.openBox(a, {}), Error);
    EXPECT_THROW(crypto::AesGcm(Bytes(24)), Error);
}
