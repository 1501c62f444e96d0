// The ticket checks of issue 3: each rejection has its own error, and nothing is
// recorded (seen ticket ids, clock mark) when a ticket is refused.
#include "Fixture.h"

#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/trust/TicketVerifier.h>

using namespace boxoffice;
using namespace boxoffice::trust;
using namespace boxoffice::trust::testing;

namespace {

class TicketVerifierTest : public ::testing::Test {
protected:
    ScratchDir dir;
    SigningKey root = makeRoot();
    Credentials issuer = makeIssuer(root);
    DeviceIdentity device = makeDevice(root);
    Bytes eventKey = crypto::randomBytes(16);
    wire::UnixTime systemTime = t0 + 3600;
    TrustedClock clock{dir.path / "clock", [this] { return systemTime; }};
    RevocationState revocations;
    InMemorySeenTickets seen;
    TicketVerifier verifier{anchorOf(root), device.deviceId, device.agreementKey, clock, revocations, seen};

    Bytes issue(const wire::Ticket& draft) const
    {
        return issueTicket(draft, eventKey, device.agreementKey.publicKey(), issuer).encode();
    }

    // Expects `code` and that nothing was recorded.
    void expectRejected(ByteView encoded, ErrorCode code, const std::string& ticketId = "t-1")
    {
        const auto markBefore = clock.highWaterMark();
        const Error e = errorOf([&] { verifier.accept(encoded); });
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_FALSE(seen.contains(ticketId));
        EXPECT_EQ(clock.highWaterMark(), markBefore);
    }
};

} // namespace

TEST_F(TicketVerifierTest, AcceptsValidTicketAndUnwrapsTheEventKey)
{
    const VerifiedTicket v = verifier.accept(issue(draftTicket("t-1")));
    EXPECT_EQ(v.ticket.ticketId, "t-1");
    EXPECT_EQ(v.ticket.issuerId, "issuer-a");
    EXPECT_TRUE(crypto::constantTimeEqual(v.eventKey, eventKey));
    EXPECT_TRUE(seen.contains("t-1"));
    EXPECT_EQ(clock.highWaterMark(), systemTime);
}

TEST_F(TicketVerifierTest, Aes256EventKeyAndVerifyWithoutRecording)
{
    eventKey = crypto::randomBytes(32);
    const Bytes encoded = issue(draftTicket("t-1"));
    EXPECT_TRUE(crypto::constantTimeEqual(verifier.verify(encoded).eventKey, eventKey));
    EXPECT_FALSE(seen.contains("t-1"));
    verifier.accept(encoded);
    // A stored ticket can still be re-verified (no replay check) before playback.
    EXPECT_NO_THROW(verifier.verify(encoded));
}

TEST_F(TicketVerifierTest, EverySingleByteChangeIsRejected)
{
    const Bytes good = issue(draftTicket("t-1"));
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (std::uint8_t flip : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
            Bytes bad = good;
            bad[i] ^= flip;
            try {
                verifier.accept(bad);
                ADD_FAILURE() << "accepted with byte " << i << " ^ " << int(flip);
            } catch (const Error&) {
            }
        }
    }
    EXPECT_FALSE(seen.contains("t-1"));
    EXPECT_EQ(clock.highWaterMark(), 0);
    EXPECT_NO_THROW(verifier.accept(good));
}

TEST_F(TicketVerifierTest, TruncationAtEveryLengthIsMalformed)
{
    const Bytes good = issue(draftTicket("t-1"));
    for (std::size_t length = 0; length < good.size(); ++length) {
        const Error e = errorOf([&] { verifier.accept(ByteView(good).first(length)); });
        EXPECT_EQ(e.code(), ErrorCode::Malformed) << length;
    }
    EXPECT_FALSE(seen.contains("t-1"));
}

TEST_F(TicketVerifierTest, UnknownVersion)
{
    Bytes encoded = issue(draftTicket("t-1"));
    encoded[1] = 2;
    expectRejected(encoded, ErrorCode::UnsupportedVersion);
}

TEST_F(TicketVerifierTest, WrongKeyId)
{
    // Properly signed by the issuer's key, but under a key id the certificate does not name.
    Credentials renamed{SigningKey("issuer-a/other", crypto::Ed25519PrivateKey::generate()), issuer.certificate};
    wire::Ticket t = issueTicket(draftTicket("t-1"), eventKey, device.agreementKey.publicKey(), issuer);
    sign(t, renamed.key);
    expectRejected(t.encode(), ErrorCode::NotFound);
}

TEST_F(TicketVerifierTest, AlgorithmKeyMismatch)
{
    // The certified key id, signed with P-256 although the key id is Ed25519.
    wire::Ticket t = issueTicket(draftTicket("t-1"), eventKey, device.agreementKey.publicKey(), issuer);
    sign(t, SigningKey(issuer.certificate.keyId, crypto::P256PrivateKey::generate()));
    expectRejected(t.encode(), ErrorCode::Conflict);
}

TEST_F(TicketVerifierTest, ForgedSignature)
{
    wire::Ticket t = issueTicket(draftTicket("t-1"), eventKey, device.agreementKey.publicKey(), issuer);
    sign(t, SigningKey(issuer.certificate.keyId, crypto::Ed25519PrivateKey::generate()));
    expectRejected(t.encode(), ErrorCode::BadSignature);
}

TEST_F(TicketVerifierTest, WrongHolderDevice)
{
    const DeviceIdentity other = makeDevice(root, "stb-2");
    const Bytes encoded =
        issueTicket(draftTicket("t-1", "stb-2"), eventKey, other.agreementKey.publicKey(), issuer).encode();
    expectRejected(encoded, ErrorCode::WrongAudience);
}

TEST_F(TicketVerifierTest, ExpiredAndNotYetValid)
{
    const Bytes encoded = issue(draftTicket("t-1"));
    systemTime = t0 - 10;
    expectRejected(encoded, ErrorCode::NotYetValid);
    systemTime = t0 + 86400;   // not_after is exclusive
    expectRejected(encoded, ErrorCode::Expired);
}

TEST_F(TicketVerifierTest, ExpiredIssuerCertificate)
{
    issuer = makeIssuer(root, "issuer-a/short", t0 + 60);
    expectRejected(issue(draftTicket("t-1")), ErrorCode::Expired);
}

TEST_F(TicketVerifierTest, RevokedIssuerTicketAndDevice)
{
    const Bytes encoded = issue(draftTicket("t-1"));
    wire::RevocationList list;
    list.sequence = 1;
    list.issuedAt = t0;
    list.nextUpdate = t0 + 86400;
    list.revokedKeyIds = {issuer.certificate.keyId};
    sign(list, root);
    revocations.apply(list, anchorOf(root));
    expectRejected(encoded, ErrorCode::Revoked);

    list.sequence = 2;
    list.revokedKeyIds.clear();
    list.revokedTicketIds = {"t-1"};
    sign(list, root);
    revocations.apply(list, anchorOf(root));
    expectRejected(encoded, ErrorCode::Revoked);

    list.sequence = 3;
    list.revokedTicketIds.clear();
    list.revokedDeviceIds = {"stb-1"};
    sign(list, root);
    revocations.apply(list, anchorOf(root));
    expectRejected(encoded, ErrorCode::Revoked);

    list.sequence = 4;
    list.revokedDeviceIds.clear();
    sign(list, root);
    revocations.apply(list, anchorOf(root));
    EXPECT_NO_THROW(verifier.accept(encoded));
}

TEST_F(TicketVerifierTest, SealedKeyMovedFromAnotherTicket)
{
    // The issuer signs ticket B carrying the sealed key of ticket A: the key is bound
    // to ticket A's id and does not open inside B.
    const wire::Ticket a = issueTicket(draftTicket("t-a"), eventKey, device.agreementKey.publicKey(), issuer);
    wire::Ticket b = issueTicket(draftTicket("t-1"), crypto::randomBytes(16), device.agreementKey.publicKey(), issuer);
    b.sealedEventKey = a.sealedEventKey;
    sign(b, issuer.key);
    expectRejected(b.encode(), ErrorCode::Crypto);

    // Without re-signing, the move breaks the issuer signature instead.
    wire::Ticket c = issueTicket(draftTicket("t-1"), eventKey, device.agreementKey.publicKey(), issuer);
    c.sealedEventKey = a.sealedEventKey;
    expectRejected(c.encode(), ErrorCode::BadSignature);
}

TEST_F(TicketVerifierTest, ReplayedTicketId)
{
    verifier.accept(issue(draftTicket("t-1")));
    EXPECT_EQ(errorOf([&] { verifier.accept(issue(draftTicket("t-1"))); }).code(), ErrorCode::Replayed);
}

TEST_F(TicketVerifierTest, ClockRolledBackBehindHighWaterMark)
{
    verifier.accept(issue(draftTicket("t-0")));
    const auto mark = clock.highWaterMark();
    systemTime = t0 + 600;   // an hour back: within the ticket window, behind the mark
    expectRejected(issue(draftTicket("t-1")), ErrorCode::ClockRollback);
    // The mark survives a restart.
    TrustedClock reloaded(dir.path / "clock", [this] { return systemTime; });
    EXPECT_EQ(reloaded.highWaterMark(), mark);
    EXPECT_EQ(errorOf([&] { reloaded.now(); }).code(), ErrorCode::ClockRollback);
}

TEST_F(TicketVerifierTest, CertificateNotFromTheRoot)
{
    const SigningKey otherRoot = makeRoot("root-1");   // same key id, different key
    issuer = makeIssuer(otherRoot);
    expectRejected(issue(draftTicket("t-1")), ErrorCode::PermissionDenied);

    // A device certificate from the right root cannot act as an issuer.
    const DeviceIdentity rogue = makeDevice(root, "issuer-a");
    issuer = Credentials{rogue.signer(), rogue.certificate};
    expectRejected(issue(draftTicket("t-1")), ErrorCode::PermissionDenied);
}

TEST_F(TicketVerifierTest, IssuerIdMustBeTheCertifiedSubject)
{
    wire::Ticket t = issueTicket(draftTicket("t-1"), eventKey, device.agreementKey.publicKey(), issuer);
    t.issuerId = "issuer-b";
    sign(t, issuer.key);
    expectRejected(t.encode(), ErrorCode::PermissionDenied);
}

TEST_F(TicketVerifierTest, SuspendedTicket)
{
    wire::Ticket draft = draftTicket("t-1");
    draft.status = wire::TicketStatus::Suspended;
    expectRejected(issue(draft), ErrorCode::PermissionDenied);
}

TEST_F(TicketVerifierTest, DormantTicketPassesOnlyWhenAllowedAndOnlyIfPrepaid)
{
    wire::Ticket draft = draftTicket("t-1");
    draft.kind = wire::TicketKind::Prepaid;
    draft.status = wire::TicketStatus::Suspended;
    const Bytes dormant = issue(draft);
    expectRejected(dormant, ErrorCode::PermissionDenied);   // not asked for
    EXPECT_EQ(errorOf([&] { verifier.verify(dormant); }).code(), ErrorCode::PermissionDenied);
    const auto verified = verifier.accept(dormant, trust::Dormant::Allow);
    EXPECT_TRUE(trust::isDormant(verified.ticket));
    EXPECT_FALSE(verified.eventKey.empty());
    EXPECT_TRUE(seen.contains("t-1"));
    EXPECT_NO_THROW(verifier.verify(dormant, trust::Dormant::Allow));

    // A suspended ticket of another kind is not dormant: refused even when dormant ones are allowed.
    draft = draftTicket("t-2");
    draft.status = wire::TicketStatus::Suspended;
    const Bytes suspended = issue(draft);
    EXPECT_EQ(errorOf([&] { verifier.accept(suspended, trust::Dormant::Allow); }).code(), ErrorCode::PermissionDenied);
    EXPECT_FALSE(seen.contains("t-2"));
    // Allowing dormant tickets relaxes nothing else: another device's is still refused.
    draft = draftTicket("t-3");
    draft.kind = wire::TicketKind::Prepaid;
    draft.status = wire::TicketStatus::Suspended;
    draft.holderDeviceId = "stb-other";
    EXPECT_EQ(errorOf([&] { verifier.accept(issue(draft), trust::Dormant::Allow); }).code(), ErrorCode::WrongAudience);
}

TEST_F(TicketVerifierTest, RotatedIssuerKeepsOldTicketsValid)
{
    const Bytes oldTicket = issue(draftTicket("t-old"));
    issuer = makeIssuer(root, "issuer-a/2");
    const Bytes newTicket = issue(draftTicket("t-new"));
    EXPECT_NO_THROW(verifier.accept(oldTicket));
    EXPECT_NO_THROW(verifier.accept(newTicket));
}

TEST(PlaybackWindow, EndsAfterWindowButNeverAfterNotAfter)
{
    wire::Ticket t = draftTicket("t-1");
    t.playbackWindow = 3600;
    EXPECT_EQ(playbackEnds(t, t0 + 100), t0 + 3700);
    EXPECT_EQ(playbackEnds(t, t.notAfter - 10), t.notAfter);
    t.playbackWindow = 0;
    EXPECT_EQ(playbackEnds(t, t0 + 100), t.notAfter);
}
