// Vectors: RFC 7748 section 6.1 (Alice and Bob).
#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/crypto/SealedBox.h>
#include <boxoffice/crypto/X25519.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using crypto::X25519PrivateKey;
using crypto::X25519PublicKey;

TEST(X25519, Rfc7748AliceAndBob)
{
    const auto alice = X25519PrivateKey::fromRaw(fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    const auto bob = X25519PrivateKey::fromRaw(fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    EXPECT_EQ(toHex(alice.publicKey().raw()), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    EXPECT_EQ(toHex(bob.publicKey().raw()), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    EXPECT_EQ(toHex(alice.agree(bob.publicKey())), shared);
    EXPECT_EQ(toHex(bob.agree(alice.publicKey())), shared);
}

TEST(X25519, RejectsLowOrderPoint)
{
    const auto key = X25519PrivateKey::generate();
    EXPECT_THROW(key.agree(X25519PublicKey::fromRaw(Bytes(32, 0))), Error);
}

TEST(X25519, PemRoundTripAndWrongAlgorithm)
{
    const auto key = X25519PrivateKey::generate();
    EXPECT_EQ(X25519PrivateKey::fromPem(key.toPem()).publicKey(), key.publicKey());
    EXPECT_EQ(X25519PublicKey::fromPem(key.publicKey().toPem()), key.publicKey());
    try {
        X25519PrivateKey::fromPem(crypto::Ed25519PrivateKey::generate().toPem());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    }
}

TEST(SealedBox, OpensOnlyForRecipientAndContext)
{
    const auto device = X25519PrivateKey::generate();
    const Bytes eventKey(16, 0x42);
    const Bytes context{'t', '1'};
    const Bytes box = crypto::sealTo(device.publicKey(), eventKey, context);
    EXPECT_EQ(box.size(), eventKey.size() + crypto::sealedBoxOverhead);
    const auto opened = crypto::openSealed(device, box, context);
    EXPECT_EQ(Bytes(opened.view().begin(), opened.view().end()), eventKey);

    auto expectCode = [](auto&& fn, ErrorCode code) {
        try {
            fn();
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), code) << e.what();
        }
    };
    expectCode([&] { crypto::openSealed(device, box, Bytes{'t', '2'}); }, ErrorCode::BadSignature);
    expectCode([&] { crypto::openSealed(X25519PrivateKey::generate(), box, context); }, ErrorCode::BadSignature);
    expectCode([&] { crypto::openSealed(device, Bytes(box.begin(), box.begin() + 40), context); }, ErrorCode::Malformed);
    for (std::size_t i = 0; i < box.size(); ++i) {
        Bytes bad = box;
        bad[i] ^= 0x10;
        EXPECT_THROW(crypto::openSealed(device, bad, context), Error) << i;
    }
    // Two seals of the same key differ (fresh ephemeral key each time).
    EXPECT_NE(crypto::sealTo(device.publicKey(), eventKey, context), box);
}
