// Round trip and strict decoding of every wire object.
#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/HistoryRecord.h>
#include <boxoffice/wire/Order.h>
#include <boxoffice/wire/Receipt.h>
#include <boxoffice/wire/RevocationList.h>
#include <boxoffice/wire/SettlementResult.h>
#include <boxoffice/wire/Ticket.h>
#include <boxoffice/wire/TrustedTime.h>
#include <boxoffice/wire/Voucher.h>

#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <sstream>

using namespace boxoffice;
using namespace boxoffice::wire;

namespace {

const Bytes fakeSignature(64, 0x5a);
const Signer serverSigner{"server-1", SignatureAlgorithm::Ed25519};

Certificate sampleCertificate()
{
    Certificate c{.role = CertificateRole::Issuer, .subject = "issuer-a", .keyId = "issuer-a/2026",
                  .keyAlgorithm = SignatureAlgorithm::Ed25519, .publicKey = Bytes(32, 1), .agreementKey = {},
                  .notBefore = 1'700'000'000, .notAfter = 1'900'000'000,
        .signer = {"root-1", SignatureAlgorithm::Ed25519}, .signature = fakeSignature};
    return c;
}

template <typename T> T sample();

template <> Certificate sample<Certificate>() { return sampleCertificate(); }

template <> Ticket sample<Ticket>()
{
    Ticket t{.ticketId = "t-1", .kind = TicketKind::EventTicket, .eventId = "ev-9", .issuerId = "issuer-a",
             .serviceProviderId = "sp-1", .holderDeviceId = "stb-1", .orderId = "o-1", .issuedAt = 1'800'000'000,
             .notBefore = 1'800'000'000, .notAfter = 1'800'086'400, .playbackWindow = 172800,
             .status = TicketStatus::Active, .viewsLeft = 3, .previewSeconds = 120, .eventKeyId = "ev-9/k1",
             .sealedEventKey = Bytes(64, 7), .issuerCertificate = sampleCertificate(),
        .signer = {"issuer-a/2026", SignatureAlgorithm::Ed25519}, .signature = fakeSignature};
    return t;
}

template <> Order sample<Order>()
{
    Order o{.orderId = "o-1", .deviceId = "stb-1", .accountId = "acc-1", .eventId = "ev-9", .offerId = "",
            .kind = TicketKind::Ppv, .amount = 499, .currency = "EUR", .createdAt = 1'800'000'000,
        .signer = {"stb-1", SignatureAlgorithm::Ed25519}, .signature = fakeSignature};
    return o;
}

template <> Approval sample<Approval>()
{
    Approval a{.transactionNumber = "TX-123", .orderId = "o-1", .accountId = "acc-1", .phoneId = "phone-1",
               .payee = "Cinéma Öperator", .amount = 499, .currency = "EUR", .decision = Decision::NotMe,
               .oneTimePassword = "", .decidedAt = 1'800'000'100,
        .signer = {"phone-1", SignatureAlgorithm::EcdsaP256Sha256}, .signature = fakeSignature};
    return a;
}

template <> Receipt sample<Receipt>()
{
    Receipt r{.receiptId = "r-1", .orderId = "o-1", .transactionNumber = "TX-123", .ticketId = "t-1",
              .accountId = "acc-1", .payee = "Operator", .amount = 499, .currency = "USD", .issuedAt = 1'800'000'200,
        .signer = serverSigner, .signature = fakeSignature};
    return r;
}

template <> Acknowledgement sample<Acknowledgement>()
{
    Acknowledgement a{.receiptId = "r-1", .orderId = "o-1", .phoneId = "phone-1", .acknowledgeCode = "ACK42",
                      .acknowledgedAt = 1'800'000'300,
        .signer = {"phone-1", SignatureAlgorithm::EcdsaP256Sha256}, .signature = fakeSignature};
    return a;
}

template <> Voucher sample<Voucher>()
{
    Voucher v{.voucherId = "v-1", .orderId = "o-2", .ticketId = "t-2", .eventId = "ev-9", .buyerAccountId = "acc-1",
              .recipientAccountId = "acc-2", .recipientDeviceId = "", .deliverAt = 1'800'100'000,
              .sealedMessage = Bytes(80, 3), .issuedAt = 1'800'000'000,
        .signer = serverSigner, .signature = fakeSignature};
    return v;
}

template <> SettlementResult sample<SettlementResult>()
{
    SettlementResult s{.settlementId = "s-1", .deviceId = "stb-1", .settledThrough = 42, .lastRecordHash = {},
                       .recordCount = 5, .totalAmount = 2495, .currency = "EUR", .settledAt = 1'800'000'000,
        .signer = serverSigner, .signature = fakeSignature};
    s.lastRecordHash.fill(0xab);
    return s;
}

template <> HistoryRecord sample<HistoryRecord>()
{
    HistoryRecord h{.deviceId = "stb-1", .sequence = 42, .previousHash = {}, .recordedAt = 1'800'000'000,
                    .kind = HistoryKind::Purchase, .eventId = "ev-9", .ticketId = "", .orderId = "o-1",
                    .amount = 499, .currency = "EUR",
        .signer = {"stb-1", SignatureAlgorithm::Ed25519}, .signature = fakeSignature};
    h.previousHash.fill(0x11);
    return h;
}

template <> TrustedTime sample<TrustedTime>()
{
    TrustedTime t{.time = 1'800'000'000, .audience = "stb-1", .nonce = Bytes(16, 9),
        .signer = serverSigner, .signature = fakeSignature};
    return t;
}

template <> RevocationList sample<RevocationList>()
{
    RevocationList l{.sequence = 7, .issuedAt = 1'800'000'000, .nextUpdate = 1'800'086'400,
                     .revokedKeyIds = {"issuer-b/2025"}, .revokedDeviceIds = {"stb-9", "stb-10"},
                     .revokedTicketIds = {},
        .signer = {"root-1", SignatureAlgorithm::Ed25519}, .signature = fakeSignature};
    return l;
}

template <typename T> class WireObjectTest : public ::testing::Test {};

using AllObjects = ::testing::Types<Certificate, Ticket, Order, Approval, Receipt, Acknowledgement, Voucher,
                                    SettlementResult, HistoryRecord, TrustedTime, RevocationList>;
TYPED_TEST_SUITE(WireObjectTest, AllObjects);

template <typename F> Error errorOf(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error(ErrorCode::Internal, "none");
}

} // namespace

static_assert(WireObject<Ticket>);
static_assert(WireObject<RevocationList>);

TYPED_TEST(WireObjectTest, RoundTripsExactly)
{
    const TypeParam object = sample<TypeParam>();
    const Bytes encoded = object.encode();
    EXPECT_EQ(encoded[0], static_cast<std::uint8_t>(TypeParam::type));
    EXPECT_EQ(encoded[1], TypeParam::version);
    const TypeParam decoded = TypeParam::decode(encoded);
    EXPECT_EQ(decoded, object);
    EXPECT_EQ(decoded.encode(), encoded);
    // The signature covers everything before it, and only that.
    const Bytes covered = object.signedBytes();
    ASSERT_EQ(covered.size() + 1 + object.signature.size(), encoded.size());
    EXPECT_TRUE(std::equal(covered.begin(), covered.end(), encoded.begin()));
}

TYPED_TEST(WireObjectTest, JsonCarriesCanonicalBytesAndReadableFields)
{
    const TypeParam object = sample<TypeParam>();
    std::ostringstream text;
    object.toJson()->stringify(text);
    Poco::JSON::Parser parser;
    Poco::JSON::Object::Ptr parsed = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(parsed->getValue<std::string>("type"), toString(TypeParam::type));
    EXPECT_EQ(parsed->getObject("signer")->getValue<std::string>("key_id"), object.signer.keyId);
    EXPECT_EQ(TypeParam::fromJson(*parsed), object);

    parsed->set("type", "something-else");
    EXPECT_EQ(errorOf([&] { TypeParam::fromJson(*parsed); }).code(), ErrorCode::Malformed);
    parsed->remove("type");
    parsed->set("encoded", "not base64!");
    EXPECT_EQ(errorOf([&] { TypeParam::fromJson(*parsed); }).code(), ErrorCode::Malformed);
    parsed->remove("encoded");
    EXPECT_EQ(errorOf([&] { TypeParam::fromJson(*parsed); }).code(), ErrorCode::Malformed);
}

TYPED_TEST(WireObjectTest, EveryTruncationIsMalformed)
{
    const Bytes encoded = sample<TypeParam>().encode();
    for (std::size_t length = 0; length < encoded.size(); ++length) {
        const Error e = errorOf([&] { TypeParam::decode(ByteView(encoded).first(length)); });
        EXPECT_EQ(e.code(), ErrorCode::Malformed) << "length " << length << ": " << e.what();
    }
}

TYPED_TEST(WireObjectTest, TrailingBytesTypeAndVersionAreChecked)
{
    Bytes encoded = sample<TypeParam>().encode();
    Bytes longer = encoded;
    longer.push_back(0);
    EXPECT_EQ(errorOf([&] { TypeParam::decode(longer); }).code(), ErrorCode::Malformed);

    Bytes otherVersion = encoded;
    otherVersion[1] = 2;
    const Error version = errorOf([&] { TypeParam::decode(otherVersion); });
    EXPECT_EQ(version.code(), ErrorCode::UnsupportedVersion);
    EXPECT_NE(std::string(version.what()).find("version 2"), std::string::npos);

    Bytes otherType = encoded;
    otherType[0] = static_cast<std::uint8_t>(otherType[0] == 1 ? 2 : 1);
    EXPECT_EQ(errorOf([&] { TypeParam::decode(otherType); }).code(), ErrorCode::Malformed);
}

TYPED_TEST(WireObjectTest, RefusesToEncodeUnsigned)
{
    TypeParam object = sample<TypeParam>();
    object.signature.clear();
    const Error e = errorOf([&] { object.encode(); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find(".signature: missing"), std::string::npos) << e.what();
    EXPECT_NO_THROW(object.signedBytes());
}

TEST(Ticket, FieldErrorsNameTheField)
{
    Ticket t = sample<Ticket>();
    t.eventId = std::string(65, 'e');
    const Error tooLong = errorOf([&] { t.encode(); });
    EXPECT_STREQ(tooLong.what(), "ticket.event_id: too long");

    t = sample<Ticket>();
    t.notAfter = t.notBefore;
    EXPECT_STREQ(errorOf([&] { t.encode(); }).what(), "ticket.not_after: not after not_before");

    t = sample<Ticket>();
    t.sealedEventKey.resize(70);
    EXPECT_STREQ(errorOf([&] { t.encode(); }).what(), "ticket.sealed_event_key: not a sealed AES-128 or AES-256 key");

    // An unknown enum value in the encoding: locate the kind byte right after the ticket id.
    Bytes encoded = sample<Ticket>().encode();
    const std::size_t kindOffset = 2 + 1 + sample<Ticket>().ticketId.size();
    encoded[kindOffset] = 9;
    EXPECT_STREQ(errorOf([&] { Ticket::decode(encoded); }).what(), "ticket.kind: unknown value");
}

TEST(Ticket, NestedCertificateErrorsNameBothLevels)
{
    Ticket t = sample<Ticket>();
    t.issuerCertificate.publicKey.resize(65);   // wrong size for Ed25519
    const Error e = errorOf([&] { t.encode(); });
    EXPECT_STREQ(e.what(), "certificate.public_key: wrong size for key_algorithm");
}

TEST(Certificate, DeviceNeedsAgreementKey)
{
    Certificate c = sampleCertificate();
    c.role = CertificateRole::Device;
    EXPECT_STREQ(errorOf([&] { c.encode(); }).what(), "certificate.agreement_key: required for a device");
    c.agreementKey = Bytes(32, 2);
    EXPECT_EQ(Certificate::decode(c.encode()), c);
}

TEST(TicketKeyContext, BindsTicketHolderAndEvent)
{
    const Ticket a = sample<Ticket>();
    Ticket b = a;
    b.ticketId = "t-2";
    Ticket c = a;
    c.holderDeviceId = "stb-2";
    EXPECT_NE(ticketKeyContext(a), ticketKeyContext(b));
    EXPECT_NE(ticketKeyContext(a), ticketKeyContext(c));
    EXPECT_EQ(ticketKeyContext(a), ticketKeyContext(sample<Ticket>()));
}

// Canonical encoding: whatever decodes re-encodes to exactly the same bytes, so one
// object has one byte string. Random mutations (deterministic seed) of every object.
TYPED_TEST(WireObjectTest, MutationsEitherFailOrAreCanonical)
{
    const Bytes good = sample<TypeParam>().encode();
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1664525u + 1013904223u;
        return seed >> 8;
    };
    int decoded = 0;
    for (int round = 0; round < 3000; ++round) {
        Bytes bytes = good;
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int e = 0; e < edits && !bytes.empty(); ++e) {
            const std::size_t at = next() % bytes.size();
            switch (next() % 4) {
            case 0: bytes[at] = static_cast<std::uint8_t>(next()); break;
            case 1: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
            case 2: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(next())); break;
            default: bytes[at] ^= static_cast<std::uint8_t>(1u << (next() % 8)); break;
            }
        }
        try {
            const TypeParam object = TypeParam::decode(bytes);
            EXPECT_EQ(object.encode(), bytes) << "round " << round;
            ++decoded;
        } catch (const Error& e) {
            EXPECT_TRUE(e.code() == ErrorCode::Malformed || e.code() == ErrorCode::UnsupportedVersion) << e.what();
        }
    }
    // Mutations inside free bytes (signature, key material) still decode: the property was exercised.
    EXPECT_GT(decoded, 0);
}
