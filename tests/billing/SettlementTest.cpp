// Settlement results: only a server-signed result under the operator root, for
// this device, newer than what is settled and matching our chain, settles.
// Every refusal has its own error and changes nothing.

#include "Fixture.h"

#include <boxoffice/billing/HistoryBatch.h>
#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/trust/TrustedClock.h>
#include <boxoffice/wire/RevocationList.h>

#include <gmock/gmock.h>

using ::testing::HasSubstr;

namespace boxoffice::billing::test {
namespace {

class SettlementTest : public HistoryFixture {
protected:
    void SetUp() override
    {
        h = open(defaultOptions(1000));
        for (int i = 1; i <= 4; ++i) appended.push_back(h->append(purchase(100 * i, i != 2)));
        // deferred: 100, 300, 400 (outstanding 800); record 2 paid online
    }

    // Expects a refusal with `code` and nothing changed.
    void expectRefused(const Bytes& result, ErrorCode code, const Bytes& certificate = {})
    {
        const auto before = h->status();
        const auto creditBefore = h->credit();
        std::string message;
        EXPECT_EQ(codeOf([&] { h->applySettlement(result, certificate); }, &message), code) << message;
        const auto after = h->status();
        EXPECT_EQ(after.settledThrough, before.settledThrough);
        EXPECT_EQ(after.acknowledgedThrough, before.acknowledgedThrough);
        EXPECT_EQ(after.lastSettlementId, before.lastSettlementId);
        EXPECT_EQ(h->credit().outstanding, creditBefore.outstanding);
    }

    std::unique_ptr<HistoryStore> h;
    std::vector<Record> appended;
};

TEST_F(SettlementTest, VerifiedResultSettlesThroughItsSequenceAndFreesCredit)
{
    EXPECT_EQ(h->credit().outstanding, 800);
    const auto result = settlementFor(appended[2], "settle-1");
    const auto s = h->applySettlement(result.encode());
    EXPECT_EQ(s.settlementId, "settle-1");
    EXPECT_EQ(s.settledThrough, 3u);
    EXPECT_EQ(s.recordsSettled, 3u);
    EXPECT_EQ(s.creditFreed, 400);   // 100 + 300; record 2 was paid online

    const auto c = h->credit();
    EXPECT_EQ(c.outstanding, 400);
    EXPECT_EQ(c.available, 600);
    EXPECT_EQ(c.unsettledRecords, 1u);
    const auto st = h->status();
    EXPECT_EQ(st.settledThrough, 3u);
    EXPECT_EQ(st.acknowledgedThrough, 3u);   // the server has them
    EXPECT_EQ(st.lastSettlementId, "settle-1");
    const auto records = h->records(0, 10);
    ASSERT_EQ(records.size(), 4u);
    EXPECT_TRUE(records[2].settled);
    EXPECT_FALSE(records[3].settled);

    // The next export starts after the settled records; a later result settles the rest.
    const auto batch = h->exportUnsettled(16 * 1024);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->firstSequence, 4u);
    EXPECT_EQ(batch->lastSequence, 4u);
    h->applySettlement(settlementFor(appended[3], "settle-2").encode());
    EXPECT_EQ(h->credit().outstanding, 0);
    EXPECT_FALSE(h->exportUnsettled(16 * 1024).has_value());

    // Settled state survives a restart (and passes the open-time checks).
    h.reset();
    h = open(defaultOptions(1000));
    EXPECT_EQ(h->status().settledThrough, 4u);
    EXPECT_EQ(h->credit().available, 1000);
}

TEST_F(SettlementTest, ServerCertificateMayComeWithTheResult)
{
    auto options = defaultOptions(1000);
    options.serverCertificate.reset();
    h.reset();
    h = open(options);
    expectRefused(settlementFor(appended[0], "s").encode(), ErrorCode::Unavailable);
    const auto s = h->applySettlement(settlementFor(appended[0], "s").encode(), DevKeys::get().server->certificate.encode());
    EXPECT_EQ(s.settledThrough, 1u);
}

TEST_F(SettlementTest, AlteredResultIsRefused)
{
    auto result = settlementFor(appended[1], "settle-1");
    result.settledThrough = 4;   // the phone tries to settle more
    result.lastRecordHash = appended[3].hash;
    expectRefused(result.encode(), ErrorCode::BadSignature);

    Bytes flipped = settlementFor(appended[1], "settle-1").encode();
    flipped[flipped.size() - 5] ^= 0x40;   // inside the signature
    expectRefused(flipped, ErrorCode::BadSignature);

    Bytes truncated = settlementFor(appended[1], "settle-1").encode();
    truncated.pop_back();
    expectRefused(truncated, ErrorCode::Malformed);
}

TEST_F(SettlementTest, ReplayedResultIsRefused)
{
    const Bytes result = settlementFor(appended[1], "settle-1").encode();
    h->applySettlement(result);
    expectRefused(result, ErrorCode::Replayed);
}

TEST_F(SettlementTest, ResultForAnotherDeviceIsRefused)
{
    expectRefused(settlementFor(appended[1], "settle-1", "stb-2").encode(), ErrorCode::WrongAudience);
}

TEST_F(SettlementTest, ForgedSignatureIsRefused)
{
    // Signed under the server's key id with a key the attacker made.
    auto result = settlementFor(appended[3], "settle-forged");
    trust::sign(result, trust::SigningKey(DevKeys::get().server->key.keyId(), crypto::Ed25519PrivateKey::generate()));
    expectRefused(result.encode(), ErrorCode::BadSignature);
    // Signed under another key id (e.g. the device's own key).
    trust::sign(result, DevKeys::get().stb1->signer());
    expectRefused(result.encode(), ErrorCode::NotFound);
}

TEST_F(SettlementTest, OlderThanCurrentIsRefused)
{
    h->applySettlement(settlementFor(appended[2], "settle-3").encode());
    expectRefused(settlementFor(appended[1], "settle-older").encode(), ErrorCode::Conflict);
    expectRefused(settlementFor(appended[2], "settle-same-again").encode(), ErrorCode::Conflict);
}

TEST_F(SettlementTest, ServerCertificateNotFromTheRootIsRefused)
{
    // A complete forged hierarchy: another root, a "server" certificate under it, a result it signed.
    auto fakeRoot = trust::SigningKey("root/1", crypto::Ed25519PrivateKey::generate());
    const auto fakeServerKey = crypto::Ed25519PrivateKey::generate();
    wire::Certificate c = DevKeys::get().server->certificate;
    const auto& raw = fakeServerKey.publicKey().raw();
    c.publicKey.assign(raw.begin(), raw.end());
    const auto fakeCertificate = trust::issueCertificate(c, fakeRoot);
    auto result = settlementFor(appended[3], "settle-fake");
    trust::sign(result, trust::SigningKey(c.keyId, fakeServerKey));
    expectRefused(result.encode(), ErrorCode::PermissionDenied, fakeCertificate.encode());
    // A device certificate from the real root is not a server certificate either.
    auto byDevice = settlementFor(appended[3], "settle-device");
    trust::sign(byDevice, DevKeys::get().stb2->signer());
    expectRefused(byDevice.encode(), ErrorCode::PermissionDenied, DevKeys::get().stb2->certificate.encode());
}

// A server certificate (a result's signer, the one history is sealed to) is checked by the
// plugin's check (sync::ServerTrust) when it answers; without an answer (sync not running) the
// store checks under the root against the root's list sync keeps on disk. What either refuses
// settles nothing, and no history is sealed to it.
TEST_F(SettlementTest, ServerCertificatesAreCheckedByTheServiceOrAgainstTheKeptRootList)
{
    h.reset();
    auto options = defaultOptions(1000);
    const auto keyId = DevKeys::get().serverWithAgreement.keyId;
    const auto keptList = file().parent_path() / "root-revocations.bin";
    options.rootRevocationsFile = keptList;
    std::vector<std::string> checked;
    bool serviceRuns = true;
    options.verifyServer = [&](const wire::Certificate& c) -> std::optional<trust::VerifyingKey> {
        checked.push_back(c.keyId);
        if (!serviceRuns) return std::nullopt;
        throw Error(ErrorCode::Revoked, "certificate '" + c.keyId + "' is revoked");
    };
    h = open(options);
    const auto result = settlementFor(appended[3], "settle-checked").encode();
    expectRefused(result, ErrorCode::Revoked);
    EXPECT_EQ(codeOf([&] { h->exportUnsettled(16 * 1024); }), ErrorCode::Revoked);
    EXPECT_EQ(checked, (std::vector<std::string>{keyId, keyId}));

    serviceRuns = false;
    wire::RevocationList list;
    list.sequence = 3;
    list.issuedAt = trust::TrustedClock::systemNow();
    list.nextUpdate = list.issuedAt + 86400;
    list.revokedKeyIds = {keyId};
    trust::sign(list, *DevKeys::get().root);
    const auto encoded = list.encode();
    trust::writeKeyFile(keptList, std::string(encoded.begin(), encoded.end()), false, true);
    expectRefused(result, ErrorCode::Revoked);
    EXPECT_EQ(codeOf([&] { h->exportUnsettled(16 * 1024); }), ErrorCode::Revoked);
    // A damaged kept list refuses too: it is not taken for "nothing revoked".
    trust::writeKeyFile(keptList, std::string(encoded.begin(), encoded.begin() + encoded.size() / 2), false, true);
    expectRefused(result, ErrorCode::Malformed);

    // No list kept: the root and the clock alone.
    std::filesystem::remove(keptList);
    EXPECT_TRUE(h->exportUnsettled(16 * 1024).has_value());
    EXPECT_EQ(h->applySettlement(result).settledThrough, 4u);
    EXPECT_EQ(checked.size(), 7u);
}

// After a server key rotation the phone must carry history the new key can open, and bring back
// results it signs (without their certificate): the store prefers the certificate the server
// presented last (sync::ServerTrust::presentedServer, or while sync is not running the one sync
// keeps on disk) while it passes the checks, and falls back to the configured one.
TEST_F(SettlementTest, AfterARotationTheCertificateTheServerPresentedIsUsedWhileItChecks)
{
    auto& k = DevKeys::get();
    wire::Certificate draft = k.serverWithAgreement;
    draft.keyId = "server/2";
    auto signing = crypto::Ed25519PrivateKey::generate();
    const auto& signingRaw = signing.publicKey().raw();
    draft.publicKey.assign(signingRaw.begin(), signingRaw.end());
    const auto agreement = crypto::X25519PrivateKey::generate();
    const auto& raw = agreement.publicKey().raw();
    draft.agreementKey.assign(raw.begin(), raw.end());
    const auto rotated = trust::issueCertificate(draft, *k.root);
    const trust::SigningKey rotatedKey(rotated.keyId, std::move(signing));
    const auto configured = k.serverWithAgreement.keyId;

    h.reset();
    auto options = defaultOptions(1000);
    const auto kept = file().parent_path() / "server-certificate.bin";
    const auto keptList = file().parent_path() / "root-revocations.bin";
    options.serverCertificateFile = kept;
    options.rootRevocationsFile = keptList;
    std::optional<wire::Certificate> fromService;
    options.presentedServer = [&] { return fromService; };
    h = open(options);
    const auto sealedTo = [&] { return peekBatch(h->exportUnsettled(16 * 1024).value().sealed).serverKeyId; };
    const auto keep = [&](ByteView bytes) {
        trust::writeKeyFile(kept, std::string(bytes.begin(), bytes.end()), false, true);
    };

    EXPECT_EQ(sealedTo(), configured) << "nothing presented yet";
    keep(rotated.encode());
    EXPECT_EQ(sealedTo(), rotated.keyId);
    fromService = k.serverWithoutAgreement;
    EXPECT_EQ(sealedTo(), configured) << "the service answers first; a certificate without an agreement key is passed over";
    fromService = rotated;
    std::filesystem::remove(kept);
    EXPECT_EQ(sealedTo(), rotated.keyId);

    // A result the new key signs settles without its certificate; one the old key signs still does.
    auto result = settlementFor(appended[0], "settle-rotated");
    trust::sign(result, rotatedKey);
    EXPECT_EQ(h->applySettlement(result.encode()).settledThrough, 1u);
    EXPECT_EQ(h->applySettlement(settlementFor(appended[1], "settle-old").encode()).settledThrough, 2u);
    fromService.reset();

    // A damaged file, or a certificate not from the operator root, is passed over.
    const auto encoded = rotated.encode();
    keep(ByteView(encoded.data(), encoded.size() / 2));
    EXPECT_EQ(sealedTo(), configured);
    wire::Certificate forged = rotated;
    forged.notAfter += 1;   // (the root's signature no longer covers it)
    keep(forged.encode());
    EXPECT_EQ(sealedTo(), configured);
    auto forgedResult = settlementFor(appended[2], "settle-forged");
    trust::sign(forgedResult, rotatedKey);
    expectRefused(forgedResult.encode(), ErrorCode::PermissionDenied);

    // The presented one revoked by the root: back to the configured one; both revoked: refused,
    // with the preferred one's reason.
    keep(rotated.encode());
    const auto revoke = [&](std::uint64_t sequence, std::vector<std::string> keyIds) {
        wire::RevocationList list;
        list.sequence = sequence;
        list.issuedAt = trust::TrustedClock::systemNow();
        list.nextUpdate = list.issuedAt + 86400;
        list.revokedKeyIds = std::move(keyIds);
        trust::sign(list, *k.root);
        const auto bytes = list.encode();
        trust::writeKeyFile(keptList, std::string(bytes.begin(), bytes.end()), false, true);
    };
    revoke(4, {rotated.keyId});
    EXPECT_EQ(sealedTo(), configured);
    auto revokedResult = settlementFor(appended[2], "settle-revoked");
    trust::sign(revokedResult, rotatedKey);
    expectRefused(revokedResult.encode(), ErrorCode::Revoked);
    revoke(5, {rotated.keyId, configured});
    std::string message;
    EXPECT_EQ(codeOf([&] { h->exportUnsettled(16 * 1024); }, &message), ErrorCode::Revoked);
    EXPECT_THAT(message, ::testing::HasSubstr(rotated.keyId));
}

TEST_F(SettlementTest, ResultThatDoesNotMatchOurChainIsRefused)
{
    auto wrongHash = settlementFor(appended[2], "settle-hash");
    wrongHash.lastRecordHash = appended[1].hash;
    trust::sign(wrongHash, DevKeys::get().server->key);
    std::string message;
    expectRefused(wrongHash.encode(), ErrorCode::Conflict);

    auto beyond = settlementFor(appended[3], "settle-beyond");
    beyond.settledThrough = 9;
    trust::sign(beyond, DevKeys::get().server->key);
    expectRefused(beyond.encode(), ErrorCode::InvalidArgument);
}

TEST_F(SettlementTest, WithoutTrustAnchorNothingSettles)
{
    auto options = defaultOptions(1000);
    options.root.reset();
    h.reset();
    h = open(options);
    expectRefused(settlementFor(appended[3], "s").encode(), ErrorCode::Unavailable);
}

} // namespace
} // namespace boxoffice::billing::test
