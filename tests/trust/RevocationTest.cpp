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

wire::RevocationList tickets(std::uint64_t sequence, std::vector<std::string> ids, const SigningKey& signer)
{
    auto l = list(sequence, {}, signer);
    l.revokedTicketIds = std::move(ids);
    sign(l, signer);
    return l;
}
}

TEST(Revocation, NewerListReplacesOlderOnlyFromTheRoot)
{
    const SigningKey root = makeRoot();
    RevocationState state;
    EXPECT_EQ(state.rootSequence(), 0u);
    EXPECT_EQ(state.serverSequence(), 0u);
    EXPECT_EQ(state.rootList(t0).nextUpdate, 0);
    EXPECT_EQ(state.rootList(t0 + 10 * 86400).overdueFor, std::nullopt) << "no list is not an overdue list";
    state.apply(list(2, {"k1"}, root), anchorOf(root));
    EXPECT_TRUE(state.isKeyRevoked("k1"));
    const auto held = state.rootList(t0 + 86400 - 1);
    EXPECT_EQ(held.sequence, 2u);
    EXPECT_EQ(held.nextUpdate, t0 + 86400);
    EXPECT_EQ(held.overdueFor, std::nullopt);
    EXPECT_EQ(state.rootList(t0 + 86400).overdueFor, 0);
    EXPECT_EQ(state.rootList(t0 + 86400 + 90).overdueFor, 90);
    EXPECT_EQ(errorOf([&] { state.apply(list(2, {}, root), anchorOf(root)); }).code(), ErrorCode::Replayed);
    EXPECT_EQ(errorOf([&] { state.apply(list(1, {}, root), anchorOf(root)); }).code(), ErrorCode::Replayed);
    EXPECT_EQ(errorOf([&] { state.apply(list(3, {}, makeRoot()), anchorOf(root)); }).code(), ErrorCode::BadSignature);
    EXPECT_EQ(errorOf([&] { state.apply(list(3, {}, makeRoot("root-x")), anchorOf(root)); }).code(), ErrorCode::NotFound);
    EXPECT_TRUE(state.isKeyRevoked("k1"));
    EXPECT_EQ(state.rootList(t0).nextUpdate, t0 + 86400) << "refused lists change nothing";
    auto later = list(3, {"k2"}, root);
    later.nextUpdate = t0 + 2 * 86400;
    sign(later, root);
    state.apply(later, anchorOf(root));
    EXPECT_EQ(state.rootList(t0).nextUpdate, t0 + 2 * 86400);
    EXPECT_FALSE(state.isKeyRevoked("k1"));
    EXPECT_TRUE(state.isKeyRevoked("k2"));
    EXPECT_EQ(state.rootSequence(), 3u);
    EXPECT_EQ(state.serverSequence(), 0u);
}

// Lists the server signs under its root-certified key, which may be P-256 (the STB's
// ppv and sync plugins verify them with that key).
TEST(Revocation, ListSignedByAP256ServerKey)
{
    const SigningKey server("server-p256", crypto::P256PrivateKey::generate());
    RevocationState state;
    state.apply(tickets(1, {"t1"}, server), server.verifyingKey());
    EXPECT_TRUE(state.isTicketRevoked("t1"));
    const SigningKey other("server-p256", crypto::P256PrivateKey::generate());
    EXPECT_EQ(errorOf([&] { state.apply(tickets(2, {}, other), server.verifyingKey()); }).code(), ErrorCode::BadSignature);
    const SigningKey ed("server-p256", crypto::Ed25519PrivateKey::generate());
    EXPECT_EQ(errorOf([&] { state.apply(tickets(2, {}, ed), server.verifyingKey()); }).code(), ErrorCode::Conflict);
    EXPECT_TRUE(state.isTicketRevoked("t1")) << "nothing changes on error";
    EXPECT_EQ(state.serverSequence(), 1u);
}

// Scenario A of the review: the root revokes issuer key K (sequence 3); after three refunds
// the server's ticket-only list has sequence 4. K must stay revoked.
TEST(Revocation, ServerListDoesNotReplaceTheRootList)
{
    const SigningKey root = makeRoot();
    const SigningKey server("server-1", crypto::Ed25519PrivateKey::generate());
    RevocationState state;
    auto rootList = list(3, {"issuer-K"}, root);
    rootList.revokedTicketIds = {"t-root"};
    sign(rootList, root);
    state.apply(rootList, anchorOf(root));
    auto serverList = tickets(4, {"t1", "t2", "t3"}, server);
    serverList.nextUpdate = t0 + 3600;
    sign(serverList, server);
    state.apply(serverList, server.verifyingKey());
    EXPECT_TRUE(state.isKeyRevoked("issuer-K"));
    EXPECT_TRUE(state.isTicketRevoked("t-root"));
    EXPECT_TRUE(state.isTicketRevoked("t2"));
    EXPECT_EQ(state.rootSequence(), 3u);
    EXPECT_EQ(state.serverSequence(), 4u);
    EXPECT_EQ(state.rootList(t0).nextUpdate, t0 + 86400) << "the server's list says nothing about the root's";
    // And a newer root list leaves the server's tickets alone.
    state.apply(list(4, {}, root), anchorOf(root));
    EXPECT_FALSE(state.isKeyRevoked("issuer-K"));
    EXPECT_TRUE(state.isTicketRevoked("t3"));
}

// Scenario B: a root list with a high sequence must not hold back the server's lists.
TEST(Revocation, HighRootSequenceDoesNotHoldBackServerLists)
{
    const SigningKey root = makeRoot();
    const SigningKey server("server-1", crypto::Ed25519PrivateKey::generate());
    RevocationState state;
    state.apply(list(50, {"issuer-K"}, root), anchorOf(root));
    state.apply(tickets(2, {"refunded"}, server), server.verifyingKey());
    EXPECT_TRUE(state.isTicketRevoked("refunded"));
    EXPECT_EQ(errorOf([&] { state.apply(tickets(2, {}, server), server.verifyingKey()); }).code(), ErrorCode::Replayed)
        << "replay is judged per signer";
    EXPECT_EQ(errorOf([&] { state.apply(list(50, {}, root), anchorOf(root)); }).code(), ErrorCode::Replayed);
    EXPECT_TRUE(state.isKeyRevoked("issuer-K"));
}

// The server's authority is tickets: a list it signs naming a key or a device is refused whole.
TEST(Revocation, ServerListNamingKeysOrDevicesIsRefused)
{
    const SigningKey root = makeRoot();
    const SigningKey server("server-1", crypto::Ed25519PrivateKey::generate());
    RevocationState state;
    state.apply(list(1, {"issuer-K"}, root), anchorOf(root));
    state.apply(tickets(1, {"t1"}, server), server.verifyingKey());

    const auto withKey = list(2, {"other-key"}, server);
    const auto e = errorOf([&] { state.apply(withKey, server.verifyingKey()); });
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
    EXPECT_NE(std::string(e.what()).find("tickets only"), std::string::npos) << e.what();
    auto withDevice = tickets(3, {}, server);
    withDevice.revokedDeviceIds = {"stb-1"};
    sign(withDevice, server);
    EXPECT_EQ(errorOf([&] { state.apply(withDevice, server.verifyingKey()); }).code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(errorOf([&] { verifyServerRevocations(withDevice, server.verifyingKey()); }).code(),
              ErrorCode::PermissionDenied);

    EXPECT_FALSE(state.isKeyRevoked("other-key"));
    EXPECT_FALSE(state.isDeviceRevoked("stb-1"));
    EXPECT_TRUE(state.isKeyRevoked("issuer-K"));
    EXPECT_TRUE(state.isTicketRevoked("t1"));
    EXPECT_EQ(state.serverSequence(), 1u);
    EXPECT_EQ(state.rootSequence(), 1u);
    // A server list does not pass as the root's either.
    EXPECT_EQ(errorOf([&] { state.apply(tickets(5, {}, server), anchorOf(root)); }).code(), ErrorCode::NotFound);
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
// checkInForce makes the same checks without building the key: both must agree.
TEST(Certificates, KeyInForceChecksRoleTimeAndRevocationNotTheSignature)
{
    const SigningKey root = makeRoot();
    auto certificate = makeDevice(root).certificate;
    const auto code = [&](wire::CertificateRole role, wire::UnixTime at, const RevocationState* revocations) {
        const auto withKey = errorOf([&] { keyInForce(certificate, role, at, revocations); }).code();
        EXPECT_EQ(errorOf([&] { checkInForce(certificate, role, at, revocations); }).code(), withKey);
        return withKey;
    };
    EXPECT_EQ(keyInForce(certificate, wire::CertificateRole::Device, t0, nullptr).keyId(), "stb-1");
    EXPECT_NO_THROW(checkInForce(certificate, wire::CertificateRole::Device, t0, nullptr));
    EXPECT_EQ(code(wire::CertificateRole::Phone, t0, nullptr), ErrorCode::PermissionDenied);
    EXPECT_EQ(code(wire::CertificateRole::Device, certificate.notAfter, nullptr), ErrorCode::Expired);
    EXPECT_EQ(code(wire::CertificateRole::Device, certificate.notBefore - 1, nullptr), ErrorCode::NotYetValid);
    RevocationState revocations;
    revocations.apply(list(1, {certificate.keyId}, root), anchorOf(root));
    EXPECT_EQ(code(wire::CertificateRole::Device, t0, &revocations), ErrorCode::Revoked);
    // The stored signature is not checked again (verifyCertificate does that).
    certificate.signature.back() ^= 0x01;
    EXPECT_NO_THROW(keyInForce(certificate, wire::CertificateRole::Device, t0, nullptr));
    EXPECT_NO_THROW(checkInForce(certificate, wire::CertificateRole::Device, t0, nullptr));
    EXPECT_EQ(errorOf([&] { verifyCertificate(certificate, anchorOf(root), wire::CertificateRole::Device, t0); }).code(),
              ErrorCode::PermissionDenied);
}

// chooseServer: the certificate the server presented, while it checks; else the configured one.
// With neither good, the preferred one's reason; with none known, Unavailable. (Device
// certificates stand in for server ones: chooseServer leaves every check to `verify`.)
TEST(Certificates, ChooseServerPrefersThePresentedOneWhileItChecks)
{
    const SigningKey root = makeRoot();
    const auto presented = makeDevice(root, "server-2").certificate;
    const auto configured = makeDevice(root, "server-1").certificate;
    RevocationState revocations;
    const auto check = [&](const wire::Certificate& c) {
        return verifyCertificate(c, anchorOf(root), wire::CertificateRole::Device, t0, &revocations);
    };
    EXPECT_EQ(chooseServer({presented, configured}, check, "test").certificate.keyId, "server-2");
    EXPECT_EQ(chooseServer({presented, configured}, check, "test").key.keyId(), "server-2");
    EXPECT_EQ(chooseServer({std::nullopt, configured}, check, "test").certificate.keyId, "server-1");
    revocations.apply(list(1, {"server-2"}, root), anchorOf(root));
    EXPECT_EQ(chooseServer({presented, configured}, check, "test").certificate.keyId, "server-1");
    revocations.apply(list(2, {"server-2", "server-1"}, root), anchorOf(root));
    const auto error = errorOf([&] { chooseServer({presented, configured}, check, "test"); });
    EXPECT_EQ(error.code(), ErrorCode::Revoked);
    EXPECT_NE(std::string(error.what()).find("server-2"), std::string::npos) << error.what();
    const auto none = errorOf([&] { chooseServer({}, check, "check the time with"); });
    EXPECT_EQ(none.code(), ErrorCode::Unavailable);
    EXPECT_NE(std::string(none.what()).find("check the time with"), std::string::npos) << none.what();
}

TEST(Certificates, SigningWithKeepsTheCertificatesOfTheSignerWhenOneIs)
{
    const SigningKey root = makeRoot();
    const auto presented = makeDevice(root, "server-2").certificate;
    const auto configured = makeDevice(root, "server-1").certificate;
    const auto onlyConfigured = signingWith({presented, configured}, "server-1");
    EXPECT_FALSE(onlyConfigured.presented);
    ASSERT_TRUE(onlyConfigured.configured);
    EXPECT_EQ(onlyConfigured.configured->keyId, "server-1");
    const auto onlyPresented = signingWith({presented, configured}, "server-2");
    ASSERT_TRUE(onlyPresented.presented);
    EXPECT_FALSE(onlyPresented.configured);
    // Neither is the signer's: both stay, for their own checks (the key id refuses the object later).
    const auto neither = signingWith({presented, configured}, "server-3");
    EXPECT_TRUE(neither.presented && neither.configured);
    const auto both = signingWith({configured, configured}, "server-1");
    EXPECT_TRUE(both.presented && both.configured);
    EXPECT_FALSE(signingWith({}, "server-1").presented);
}
