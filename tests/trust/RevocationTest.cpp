#include "Fixture.h"

#include <boxoffice/trust/Revocation.h>
#include <boxoffice/trust/SeenTickets.h>

using namespace boxoffice;
using namespace boxoffice::trust;
using namespace boxoffice::trust::testing;

namespace {
wire::RevocationList list(std::uint64_t sequence, std::vector<std::string> keys, const SigningKey& signer)
{
    wire::RevocationList l;
    l.sequence = sequence;
    l.issuedAt = t0;
    l.nextUpdate = t0 + 86400;
    l.revokedKeyIds = std::move(keys);
    sign(l, signer);
    return l;
}
}

TEST(Revocation, NewerListReplacesOlderOnlyFromTheRoot)
{
    const SigningKey root = makeRoot();
    RevocationState state;
    EXPECT_EQ(state.sequence(), 0u);
    state.apply(list(2, {"k1"}, root), anchorOf(root));
    EXPECT_TRUE(state.isKeyRevoked("k1"));
    EXPECT_EQ(errorOf([&] { state.apply(list(2, {}, root), anchorOf(root)); }).code(), ErrorCode::Replayed);
    EXPECT_EQ(errorOf([&] { state.apply(list(1, {}, root), anchorOf(root)); }).code(), ErrorCode::Replayed);
    EXPECT_EQ(errorOf([&] { state.apply(list(3, {}, makeRoot()), anchorOf(root)); }).code(), ErrorCode::BadSignature);
    EXPECT_EQ(errorOf([&] { state.apply(list(3, {}, makeRoot("root-x")), anchorOf(root)); }).code(), ErrorCode::NotFound);
    EXPECT_TRUE(state.isKeyRevoked("k1"));
    state.apply(list(3, {"k2"}, root), anchorOf(root));
    EXPECT_FALSE(state.isKeyRevoked("k1"));
    EXPECT_TRUE(state.isKeyRevoked("k2"));
}

// Lists the server signs under its root-certified key, which may be P-256 (the STB's
// ppv and sync plugins verify them with that key).
TEST(Revocation, ListSignedByAP256ServerKey)
{
    const SigningKey server("server-p256", crypto::P256PrivateKey::generate());
    RevocationState state;
    state.apply(list(1, {"k1"}, server), server.verifyingKey());
    EXPECT_TRUE(state.isKeyRevoked("k1"));
    const SigningKey other("server-p256", crypto::P256PrivateKey::generate());
    EXPECT_EQ(errorOf([&] { state.apply(list(2, {}, other), server.verifyingKey()); }).code(), ErrorCode::BadSignature);
    const SigningKey ed("server-p256", crypto::Ed25519PrivateKey::generate());
    EXPECT_EQ(errorOf([&] { state.apply(list(2, {}, ed), server.verifyingKey()); }).code(), ErrorCode::Conflict);
    EXPECT_TRUE(state.isKeyRevoked("k1")) << "nothing changes on error";
    EXPECT_EQ(state.sequence(), 1u);
}

TEST(Certificates, VerifyChecksRootRoleTimeAndRevocation)
{
    const SigningKey root = makeRoot();
    const DeviceIdentity device = makeDevice(root);
    const VerifyingKey key =
        verifyCertificate(device.certificate, anchorOf(root), wire::CertificateRole::Device, t0, nullptr);
    EXPECT_EQ(key.keyId(), "stb-1");
    EXPECT_EQ(errorOf([&] { verifyCertificate(device.certificate, anchorOf(root), wire::CertificateRole::Issuer, t0); })
                  .code(),
              ErrorCode::PermissionDenied);
    EXPECT_EQ(errorOf([&] {
                  verifyCertificate(device.certificate, anchorOf(root), wire::CertificateRole::Device, t0 - 2 * 86400);
              }).code(),
              ErrorCode::NotYetValid);
    RevocationState revoked;
    wire::RevocationList l;
    l.issuedAt = t0;
    l.nextUpdate = t0;
    l.revokedDeviceIds = {"stb-1"};
    sign(l, root);
    revoked.apply(l, anchorOf(root));
    EXPECT_EQ(errorOf([&] {
                  verifyCertificate(device.certificate, anchorOf(root), wire::CertificateRole::Device, t0, &revoked);
              }).code(),
              ErrorCode::Revoked);
}

TEST(SeenTickets, FileVersionSurvivesRestart)
{
    ScratchDir dir;
    {
        FileSeenTickets seen(dir.path / "seen");
        EXPECT_FALSE(seen.contains("t-1"));
        seen.add("t-1");
        seen.add("t-2");
    }
    FileSeenTickets again(dir.path / "seen");
    EXPECT_TRUE(again.contains("t-1"));
    EXPECT_TRUE(again.contains("t-2"));
    EXPECT_FALSE(again.contains("t-3"));
}

// keyInForce: for a certificate whose root signature was checked when it was stored; it
// checks role, time and revocation each time the key is used, not the signature again.
TEST(Certificates, KeyInForceChecksRoleTimeAndRevocationNotTheSignature)
{
    const SigningKey root = makeRoot();
    auto certificate = makeDevice(root).certificate;
    EXPECT_EQ(keyInForce(certificate, wire::CertificateRole::Device, t0, nullptr).keyId(), "stb-1");
    EXPECT_EQ(errorOf([&] { keyInForce(certificate, wire::CertificateRole::Phone, t0, nullptr); }).code(),
              ErrorCode::PermissionDenied);
    EXPECT_EQ(errorOf([&] { keyInForce(certificate, wire::CertificateRole::Device, certificate.notAfter, nullptr); })
                  .code(),
              ErrorCode::Expired);
    EXPECT_EQ(errorOf([&] { keyInForce(certificate, wire::CertificateRole::Device, certificate.notBefore - 1, nullptr); })
                  .code(),
              ErrorCode::NotYetValid);
    RevocationState revocations;
    revocations.apply(list(1, {certificate.keyId}, root), anchorOf(root));
    EXPECT_EQ(errorOf([&] { keyInForce(certificate, wire::CertificateRole::Device, t0, &revocations); }).code(),
              ErrorCode::Revoked);
    // The stored signature is not checked again (verifyCertificate does that).
    certificate.signature.back() ^= 0x01;
    EXPECT_NO_THROW(keyInForce(certificate, wire::CertificateRole::Device, t0, nullptr));
    EXPECT_EQ(errorOf([&] { verifyCertificate(certificate, anchorOf(root), wire::CertificateRole::Device, t0); }).code(),
              ErrorCode::PermissionDenied);
}
