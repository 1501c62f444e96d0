// Pairing, session set-up and the record layer, end to end in memory.

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Codec.h>
#include <boxoffice/bluetooth/Handshake.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/bluetooth/SecureSession.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/testing/ErrorCodeOf.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::bluetooth;

namespace {

using boxoffice::testing::codeOf;

struct Paired {
    PairingResult phone;
    PairingResult stb;
};

Paired pair(const crypto::P256PrivateKey& key)
{
    PhonePairing phone(key, "Alice's phone");
    StbPairing stb("Living room");
    auto response = stb.onRequest(phone.request());
    auto reveal = phone.onResponse(response);
    stb.onReveal(reveal);
    EXPECT_EQ(phone.code(), stb.code());
    EXPECT_EQ(phone.code().size(), 6u);
    stb.onConfirm(phone.confirm());
    auto [done, stbResult] = stb.finish();
    auto phoneResult = phone.onDone(done);
    return {std::move(phoneResult), std::move(stbResult)};
}
} // namespace

TEST(Handshake, PairingAgreesOnCodeKeysAndIdentity)
{
    const auto key = crypto::P256PrivateKey::generate();
    auto p = pair(key);
    EXPECT_EQ(p.phone.pairingKey.view().size(), 32u);
    EXPECT_TRUE(std::equal(p.phone.pairingKey.view().begin(), p.phone.pairingKey.view().end(),
                           p.stb.pairingKey.view().begin()));
    EXPECT_EQ(p.stb.phoneId, phoneIdOf(key.publicKey()));
    EXPECT_EQ(p.stb.phoneName, "Alice's phone");
    EXPECT_EQ(p.phone.stbName, "Living room");

    SecureSession phone(Role::Phone, p.phone.sessionKeys);
    SecureSession stb(Role::Stb, p.stb.sessionKeys);
    const Bytes hello{'h', 'i'};
    const auto plain = stb.open(phone.seal(hello));
    EXPECT_EQ(Bytes(plain.view().begin(), plain.view().end()), hello);
}

TEST(Handshake, NamesAreCutOnCharacterBoundariesAndMustBeCleanText)
{
    // 30 three-byte characters: cut to 63 bytes, not 64 (which would split one).
    std::string longName;
    for (int i = 0; i < 30; ++i) longName += "\xe6\x97\xa5";  // U+65E5
    PhonePairing phone(crypto::P256PrivateKey::generate(), longName);
    StbPairing stb("Living room");
    stb.onRequest(phone.request());
    EXPECT_EQ(stb.phoneName(), longName.substr(0, 63));

    // A name that is not UTF-8 (stored as JSON it would make the paired-phone
    // list unreadable) or carries control characters (terminal escapes on the
    // TV's log) is refused with the request.
    for (const std::string& bad : {std::string("Mallory\xff"), std::string("\xe6\x97"), std::string("\x1b[2Jphone"),
                                  std::string("a\xc2\x85" "b")}) {
        PhonePairing hostile(crypto::P256PrivateKey::generate(), bad);
        StbPairing target("Living room");
        EXPECT_EQ(codeOf([&] { target.onRequest(hostile.request()); }), ErrorCode::Malformed) << bad;
        EXPECT_TRUE(target.phoneName().empty());
    }
}

TEST(Handshake, RevealNotMatchingCommitmentRefused)
{
    PhonePairing phone(crypto::P256PrivateKey::generate(), "p");
    PhonePairing other(crypto::P256PrivateKey::generate(), "q");
    StbPairing stb("s");
    auto response = stb.onRequest(phone.request());
    other.request();
    auto otherReveal = other.onResponse(response);  // an attacker swaps the ephemeral key late
    EXPECT_EQ(codeOf([&] { stb.onReveal(otherReveal); }), ErrorCode::BadSignature);
}

TEST(Handshake, ConfirmationSignedByAnotherKeyRefused)
{
    PhonePairing phone(crypto::P256PrivateKey::generate(), "p");
    StbPairing stb("s");
    stb.onReveal(phone.onResponse(stb.onRequest(phone.request())));
    PhonePairing impostor(crypto::P256PrivateKey::generate(), "p");
    impostor.request();
    impostor.onResponse(stb.onRequest(impostor.request()));
    // A confirmation over another transcript does not verify.
    StbPairing stb2("s");
    stb2.onReveal(phone.onResponse(stb2.onRequest(phone.request())));
    EXPECT_EQ(codeOf([&] { stb2.onConfirm(impostor.confirm()); }), ErrorCode::BadSignature);
    EXPECT_FALSE(stb2.phoneConfirmed());
    EXPECT_THROW(stb2.finish(), Error);
}

TEST(Handshake, SessionWithStoredPairingKey)
{
    const auto key = crypto::P256PrivateKey::generate();
    auto p = pair(key);
    PhoneSessionHandshake phone(key, p.phone.pairingKey);
    const auto hello = phone.hello();
    EXPECT_EQ(StbSessionHandshake::phoneKeyOf(hello), key.publicKey());
    StbSessionHandshake stb(key.publicKey(), p.stb.pairingKey);
    auto proof = phone.onAccept(stb.onHello(hello));
    stb.onProof(proof);
    SecureSession a(Role::Phone, phone.keys());
    SecureSession b(Role::Stb, stb.keys());
    const Bytes text{1, 2, 3};
    auto plain = a.open(b.seal(text));
    EXPECT_EQ(Bytes(plain.view().begin(), plain.view().end()), text);
}

TEST(Handshake, StbWithoutPairingKeyCannotAcceptSession)
{
    const auto key = crypto::P256PrivateKey::generate();
    auto p = pair(key);
    PhoneSessionHandshake phone(key, p.phone.pairingKey);
    StbSessionHandshake fake(key.publicKey(), crypto::SecretBytes(crypto::randomBytes(32)));
    auto accept = fake.onHello(phone.hello());
    EXPECT_EQ(codeOf([&] { phone.onAccept(accept); }), ErrorCode::BadSignature);
}

TEST(Handshake, PhoneWithoutPairingKeyCannotProve)
{
    const auto key = crypto::P256PrivateKey::generate();
    auto p = pair(key);
    // The phone's key is known (public), but the attacker lacks the pairing key.
    PhoneSessionHandshake attacker(key, crypto::SecretBytes(crypto::randomBytes(32)));
    StbSessionHandshake stb(key.publicKey(), p.stb.pairingKey);
    auto accept = stb.onHello(attacker.hello());
    EXPECT_EQ(codeOf([&] { attacker.onAccept(accept); }), ErrorCode::BadSignature);
}

TEST(SecureSessionTest, TamperedReplayedReorderedRecordsRejectedSessionSurvives)
{
    SessionKeys keys{crypto::SecretBytes(crypto::randomBytes(32)), crypto::SecretBytes(crypto::randomBytes(32))};
    SecureSession phone(Role::Phone, keys);
    SecureSession stb(Role::Stb, keys);
    const auto r1 = phone.seal(Bytes{1});
    const auto r2 = phone.seal(Bytes{2});
    const auto r3 = phone.seal(Bytes{3});

    auto tampered = r1;
    tampered.back() ^= 1;
    EXPECT_EQ(codeOf([&] { stb.open(tampered); }), ErrorCode::BadSignature);
    EXPECT_EQ(stb.consecutiveFailures(), 1u);
    EXPECT_EQ(stb.open(r1).view()[0], 1);
    EXPECT_EQ(stb.consecutiveFailures(), 0u);
    EXPECT_EQ(codeOf([&] { stb.open(r1); }), ErrorCode::Replayed);
    EXPECT_EQ(stb.open(r3).view()[0], 3);
    EXPECT_EQ(codeOf([&] { stb.open(r2); }), ErrorCode::Replayed);  // reordered
    auto truncated = phone.seal(Bytes{4, 4, 4});
    truncated.resize(truncated.size() - 1);
    EXPECT_EQ(codeOf([&] { stb.open(truncated); }), ErrorCode::BadSignature);
    EXPECT_EQ(codeOf([&] { stb.open(ByteView(r1).first(10)); }), ErrorCode::Malformed);
    EXPECT_EQ(stb.open(phone.seal(Bytes{5})).view()[0], 5);  // still alive
    // A record of the other direction never opens (direction is in nonce and AD).
    EXPECT_EQ(codeOf([&] { phone.open(phone.seal(Bytes{6})); }), ErrorCode::BadSignature);
}

TEST(MessagesTest, EnvelopeAndBodiesRoundTrip)
{
    SettlementRequestBody req{"tx-1", 499, "EUR", "Boxing Ltd", "Final", Bytes{1, 2, 3}};
    Message m{MessageType::SettlementRequest, 7, 0, req.encode()};
    const auto back = Message::decode(m.encode());
    EXPECT_EQ(back.type, MessageType::SettlementRequest);
    EXPECT_EQ(back.id, 7u);
    const auto body = SettlementRequestBody::decode(back.body);
    EXPECT_EQ(body.transactionId, "tx-1");
    EXPECT_EQ(body.amountMinor, 499u);
    EXPECT_EQ(body.order, (Bytes{1, 2, 3}));

    HistoryHandoffBody h{3, 9, Bytes(100, 7)};
    EXPECT_EQ(HistoryHandoffBody::decode(h.encode()).toSequence, 9u);
    auto bad = h.encode();
    bad.push_back(0);
    EXPECT_EQ(codeOf([&] { HistoryHandoffBody::decode(bad); }), ErrorCode::Malformed);
    EXPECT_EQ(codeOf([&] { ApprovalBody::decode(Bytes{0, 5, 'a'}); }), ErrorCode::Malformed);
    EXPECT_EQ(codeOf([&] { Message::decode(Bytes{0x7f, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}); }),
              ErrorCode::UnsupportedVersion);
    Message big{MessageType::Ping, 1, 0, Bytes(kMaxBodySize + 1, 0)};
    EXPECT_EQ(codeOf([&] { big.encode(); }), ErrorCode::LimitExceeded);
    ResultBody r{false, "PermissionDenied", "no", {}};
    EXPECT_FALSE(ResultBody::decode(r.encode()).ok);
}

TEST(MessagesTest, SettlementResultCarriesTheServerCertificateWhenThePhoneHasOne)
{
    const SettlementResultBody full{12, Bytes(200, 1), Bytes(150, 2)};
    const auto back = SettlementResultBody::decode(full.encode());
    EXPECT_EQ(back.highestSequence, 12u);
    EXPECT_EQ(back.result, Bytes(200, 1));
    EXPECT_EQ(back.serverCertificate, Bytes(150, 2));

    // A phone that predates the field ends the body after the result: no certificate. Without
    // one, a body is byte for byte what such a phone, or an STB that predates it, writes.
    const auto older = FieldWriter().u64(12).bytes(Bytes(200, 1)).take();
    const auto fromOlder = SettlementResultBody::decode(older);
    EXPECT_EQ(fromOlder.result, Bytes(200, 1));
    EXPECT_TRUE(fromOlder.serverCertificate.empty());
    EXPECT_EQ((SettlementResultBody{12, Bytes(200, 1), {}}.encode()), older);

    // A certificate field cut short, or bytes after it: Malformed, naming the message.
    auto cut = full.encode();
    cut.pop_back();
    EXPECT_EQ(codeOf([&] { SettlementResultBody::decode(cut); }), ErrorCode::Malformed);
    auto longer = full.encode();
    longer.push_back(0);
    EXPECT_EQ(codeOf([&] { SettlementResultBody::decode(longer); }), ErrorCode::Malformed);
    auto stray = older;
    stray.push_back(0);   // one byte where a length field belongs
    try {
        SettlementResultBody::decode(stray);
        ADD_FAILURE() << "a stray byte after the result decoded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
        EXPECT_NE(std::string(e.what()).find("SettlementResult"), std::string::npos) << e.what();
    }
}

TEST(MessagesTest, ReceiptCarriesTheServerCertificateWhenTheStbHasOne)
{
    const ReceiptBody full{"tx-9", Bytes(120, 3), Bytes(150, 4)};
    const auto back = ReceiptBody::decode(full.encode());
    EXPECT_EQ(back.transactionId, "tx-9");
    EXPECT_EQ(back.receipt, Bytes(120, 3));
    EXPECT_EQ(back.serverCertificate, Bytes(150, 4));
    const auto older = FieldWriter().text("tx-9").bytes(Bytes(120, 3)).take();
    EXPECT_TRUE(ReceiptBody::decode(older).serverCertificate.empty());
    EXPECT_EQ((ReceiptBody{"tx-9", Bytes(120, 3), {}}.encode()), older);
    auto cut = full.encode();
    cut.pop_back();
    EXPECT_EQ(codeOf([&] { ReceiptBody::decode(cut); }), ErrorCode::Malformed);
    auto longer = full.encode();
    longer.push_back(0);
    EXPECT_EQ(codeOf([&] { ReceiptBody::decode(longer); }), ErrorCode::Malformed);
}
