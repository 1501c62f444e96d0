// trust/SealedApproval: the phone's approval relayed by the STB, sealed to the server.
// Generated keys; the hostile envelopes are built byte by byte where the API cannot
// produce them (a relaying STB can send anything).

#include "Fixture.h"

#include <boxoffice/crypto/SealedBox.h>
#include <boxoffice/testing/ErrorCodeOf.h>
#include <boxoffice/trust/SealedApproval.h>
#include <boxoffice/wire/Writer.h>

#include <gtest/gtest.h>

#include <algorithm>

namespace boxoffice::trust {
namespace {

using boxoffice::testing::codeOf;

using namespace testing;

struct Server {
    crypto::X25519PrivateKey agreement = crypto::X25519PrivateKey::generate();
    wire::Certificate certificate;
    Server(const SigningKey& root, const std::string& keyId)
    {
        wire::Certificate c;
        c.role = wire::CertificateRole::Server;
        c.subject = "boxoffice-server";
        c.keyId = keyId;
        const auto sign = crypto::Ed25519PrivateKey::generate();
        c.publicKey.assign(sign.publicKey().raw().begin(), sign.publicKey().raw().end());
        c.agreementKey.assign(agreement.publicKey().raw().begin(), agreement.publicKey().raw().end());
        c.notBefore = t0 - 86400;
        c.notAfter = t0 + 86400;
        certificate = issueCertificate(c, root);
    }
};

class SealedApprovalTest : public ::testing::Test {
protected:
    SigningKey root = makeRoot();
    Server server{root, "server-1"};
    SigningKey phone{"phone-1", crypto::P256PrivateKey::generate()};

    wire::Approval approval(const std::string& transaction = "TX12345678AB")
    {
        wire::Approval a;
        a.transactionNumber = transaction;
        a.orderId = "o-1";
        a.accountId = "acct-alice";
        a.phoneId = "phone-1";
        a.payee = "studio";
        a.amount = 450;
        a.decidedAt = t0;
        sign(a, phone);
        return a;
    }
    wire::Approval open(const Bytes& envelope)
    {
        return openSealedApproval(envelope, server.agreement, server.certificate.keyId);
    }
};

TEST_F(SealedApprovalTest, OpensToTheSignedApprovalOnTheServerItIsSealedTo)
{
    const auto a = approval();
    const auto envelope = sealApproval(a, server.certificate);
    const auto header = peekSealedApproval(envelope);
    EXPECT_EQ(header.serverKeyId, "server-1");
    EXPECT_EQ(header.transactionNumber, "TX12345678AB");
    const auto opened = open(envelope);
    EXPECT_EQ(opened.encode(), a.encode());
    // The relaying STB sees no decision, amount or phone signature in clear.
    const auto encoded = a.encode();
    EXPECT_EQ(std::search(envelope.begin(), envelope.end(), encoded.end() - 32, encoded.end()), envelope.end());
    // Sealing is randomised: two relays of one approval differ on the wire.
    EXPECT_NE(sealApproval(a, server.certificate), envelope);
}

TEST_F(SealedApprovalTest, AnotherServerOrAnAlteredEnvelopeIsRefused)
{
    const auto envelope = sealApproval(approval(), server.certificate);
    // Presented to a server with another key id: wrong audience, before any decryption.
    EXPECT_EQ(codeOf([&] { openSealedApproval(envelope, server.agreement, "server-2"); }), ErrorCode::WrongAudience);
    // Same key id claimed, another private key: does not open.
    Server other(root, "server-1");
    EXPECT_EQ(codeOf([&] { openSealedApproval(envelope, other.agreement, "server-1"); }), ErrorCode::BadSignature);
    // Any flipped byte of the sealed part, or of the clear header it authenticates.
    for (const std::size_t at : {envelope.size() - 1, envelope.size() - 40, std::size_t(20)}) {
        auto bad = envelope;
        bad[at] ^= 0x01;
        const auto code = codeOf([&] { open(bad); });
        EXPECT_TRUE(code == ErrorCode::BadSignature || code == ErrorCode::Malformed || code == ErrorCode::WrongAudience)
            << at << ": " << toString(code);
    }
}

TEST_F(SealedApprovalTest, MalformedEnvelopesGiveAClearError)
{
    const auto envelope = sealApproval(approval(), server.certificate);
    EXPECT_EQ(codeOf([&] { open({}); }), ErrorCode::Malformed);
    for (const std::size_t cut : {std::size_t(3), std::size_t(5), std::size_t(20), envelope.size() - 1})
        EXPECT_EQ(codeOf([&] { open(Bytes(envelope.begin(), envelope.begin() + static_cast<long>(cut))); }),
                  ErrorCode::Malformed)
            << cut;
    auto trailing = envelope;
    trailing.push_back(0);
    EXPECT_EQ(codeOf([&] { open(trailing); }), ErrorCode::Malformed);
    auto magic = envelope;
    magic[0] = 'X';
    EXPECT_EQ(codeOf([&] { peekSealedApproval(magic); }), ErrorCode::Malformed);
    auto version = envelope;
    version[4] = 2;
    EXPECT_EQ(codeOf([&] { peekSealedApproval(version); }), ErrorCode::UnsupportedVersion);
    // An encoded approval in clear, as an older STB would relay it, is not an envelope.
    EXPECT_EQ(codeOf([&] { open(approval().encode()); }), ErrorCode::Malformed);
}

TEST_F(SealedApprovalTest, AClearTransactionNumberThatDiffersFromTheSealedOneIsRefused)
{
    // A relaying STB cannot re-label an approval for another transaction: the clear header is
    // the AEAD's associated data, and a sealer who labels it wrongly is caught after opening.
    wire::Writer w("sealed_approval");
    const std::uint8_t magic[4] = {'B', 'O', 'S', 'A'};
    w.fixed(ByteView(magic, 4));
    w.u8(1);
    w.id("server_key_id", "server-1");
    w.id("transaction_number", "TXOTHER00000");
    const Bytes aad = w.data();
    w.bytes("sealed",
            crypto::sealTo(crypto::X25519PublicKey::fromRaw(server.certificate.agreementKey), approval().encode(), aad), 1,
            4096);
    EXPECT_EQ(codeOf([&] { open(w.data()); }), ErrorCode::BadSignature);
}

TEST_F(SealedApprovalTest, AServerCertificateWithoutAnAgreementKeyCannotBeSealedTo)
{
    auto certificate = server.certificate;
    certificate.agreementKey.clear();
    EXPECT_EQ(codeOf([&] { sealApproval(approval(), certificate); }), ErrorCode::Unavailable);
}

} // namespace
} // namespace boxoffice::trust
