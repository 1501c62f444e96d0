// The history store on a real SQLite file: chain, signatures, credit limit,
// queries, and tampering with the file directly.

#include "Fixture.h"

#include <boxoffice/billing/HistoryBatch.h>

#include <gmock/gmock.h>

using ::testing::HasSubstr;

namespace boxoffice::billing::test {
namespace {

class HistoryTest : public HistoryFixture {};

TEST_F(HistoryTest, AppendsGapFreeSignedChainedRecords)
{
    auto h = open();
    std::vector<Record> appended;
    for (int i = 1; i <= 3; ++i) appended.push_back(h->append(purchase(100 * i)));
    const auto key = trust::VerifyingKey::fromCertificate(DevKeys::get().stb1->certificate);
    Hash previous{};
    for (std::size_t i = 0; i < appended.size(); ++i) {
        const auto& r = appended[i];
        EXPECT_EQ(r.record.sequence, i + 1);
        EXPECT_EQ(r.record.deviceId, "stb-1");
        EXPECT_EQ(r.record.previousHash, previous);
        EXPECT_EQ(r.hash, crypto::sha256(r.encoded));
        EXPECT_EQ(wire::HistoryRecord::decode(r.encoded), r.record);
        EXPECT_NO_THROW(trust::verifySignature(r.record, key));
        previous = r.hash;
    }
    const auto s = h->status();
    EXPECT_EQ(s.lastSequence, 3u);
    EXPECT_EQ(s.lastHash, previous);
    EXPECT_EQ(s.settledThrough, 0u);

    // Reopening verifies the whole chain and continues it.
    h.reset();
    h = open();
    const auto fourth = h->append(purchase(400));
    EXPECT_EQ(fourth.record.sequence, 4u);
    EXPECT_EQ(fourth.record.previousHash, previous);
    const auto stored = h->records(0, 10);
    ASSERT_EQ(stored.size(), 4u);
    EXPECT_EQ(stored[1].encoded, appended[1].encoded);
}

TEST_F(HistoryTest, RefusesBadEntriesWithoutStoringAnything)
{
    auto h = open();
    auto wrongCurrency = purchase(100);
    wrongCurrency.currency = "USD";
    EXPECT_EQ(codeOf([&] { h->append(wrongCurrency); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(codeOf([&] { h->append(purchase(-1)); }), ErrorCode::InvalidArgument);
    auto badId = purchase(100);
    badId.eventId = "spaces are not allowed";
    EXPECT_EQ(codeOf([&] { h->append(badId); }), ErrorCode::InvalidArgument);
    auto deferredPlay = purchase(0, true);
    deferredPlay.kind = wire::HistoryKind::Play;
    EXPECT_EQ(codeOf([&] { h->append(deferredPlay); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(h->status().lastSequence, 0u);
    EXPECT_EQ(h->append(purchase(100)).record.sequence, 1u);
}

TEST_F(HistoryTest, CreditLimitBoundsDeferredPurchasesOnly)
{
    auto h = open(defaultOptions(1000));
    h->append(purchase(600, true));
    std::string message;
    EXPECT_EQ(codeOf([&] { h->append(purchase(500, true)); }, &message), ErrorCode::LimitExceeded);
    EXPECT_THAT(message, HasSubstr("credit limit"));
    EXPECT_THAT(message, HasSubstr("400 of 1000 available"));
    EXPECT_EQ(h->status().lastSequence, 1u);   // nothing stored
    h->append(purchase(400, true));            // exactly up to the limit
    h->append(purchase(5000, false));          // paid online: not against the credit
    EXPECT_EQ(codeOf([&] { h->append(purchase(1, true)); }), ErrorCode::LimitExceeded);

    auto c = h->credit();
    EXPECT_EQ(c.limit, 1000);
    EXPECT_EQ(c.outstanding, 1000);
    EXPECT_EQ(c.available, 0);
    EXPECT_EQ(c.unsettledRecords, 3u);
    // The outstanding amount is what the file says after a restart.
    h.reset();
    h = open(defaultOptions(1000));
    EXPECT_EQ(h->credit().outstanding, 1000);
    EXPECT_EQ(codeOf([&] { h->append(purchase(1, true)); }), ErrorCode::LimitExceeded);
}

TEST_F(HistoryTest, AppendAllIsAllOrNoneAndChecksCreditOnTheTotal)
{
    auto h = open(defaultOptions(1000));
    auto play = purchase(0, false);
    play.kind = wire::HistoryKind::Play;
    const auto both = h->appendAll({purchase(600, true), play});
    ASSERT_EQ(both.size(), 2u);
    EXPECT_EQ(both[1].record.previousHash, both[0].hash);
    // 300 + 300 > 400 available: neither is stored.
    EXPECT_EQ(codeOf([&] { h->appendAll({purchase(300, true), purchase(300, true)}); }), ErrorCode::LimitExceeded);
    // One bad entry spoils the whole batch, even after good ones were signed.
    auto bad = purchase(10);
    bad.orderId = "bad id";
    EXPECT_EQ(codeOf([&] { h->appendAll({purchase(10), bad}); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(h->status().lastSequence, 2u);
    EXPECT_EQ(h->credit().outstanding, 600);
    EXPECT_NO_THROW(h->verify());
}

// A ticket's plays (how ppv counts views): only that ticket's records of that kind, in order.
TEST_F(HistoryTest, GivesATicketsRecordsOfOneKindInOrder)
{
    auto h = open();
    auto entry = [](wire::HistoryKind kind, const std::string& ticket, wire::UnixTime at) {
        auto e = purchase(kind == wire::HistoryKind::Purchase ? 450 : 0, false, at);
        e.kind = kind;
        e.ticketId = ticket;
        return e;
    };
    h->append(entry(wire::HistoryKind::Purchase, "t-1", kJan2027 + 1));
    h->append(entry(wire::HistoryKind::Play, "t-1", kJan2027 + 2));
    h->append(entry(wire::HistoryKind::Play, "t-2", kJan2027 + 3));
    h->append(entry(wire::HistoryKind::Play, "t-1", kJan2027 + 4));
    h->append(entry(wire::HistoryKind::Play, "", kJan2027 + 5));

    const auto plays = h->ofTicket("t-1", wire::HistoryKind::Play);
    ASSERT_EQ(plays.size(), 2u);
    EXPECT_EQ(plays[0].record.sequence, 2u);
    EXPECT_EQ(plays[1].record.sequence, 4u);
    EXPECT_EQ(plays[1].record.recordedAt, kJan2027 + 4);
    EXPECT_EQ(plays[1].encoded, h->records(3, 1).at(0).encoded);
    const auto purchases = h->ofTicket("t-1", wire::HistoryKind::Purchase);
    ASSERT_EQ(purchases.size(), 1u);
    EXPECT_EQ(purchases[0].record.amount, 450);
    EXPECT_TRUE(h->ofTicket("t-3", wire::HistoryKind::Play).empty());
    EXPECT_TRUE(h->ofTicket("t-2", wire::HistoryKind::Refund).empty());
}

// A history written before records had a ticket column: the migration fills it in
// from the signed records, and the lookups and the verification work on it.
TEST_F(HistoryTest, OlderHistoryGetsItsTicketColumnFilledIn)
{
    {
        auto h = open();
        for (int i = 1; i <= 6; ++i) {
            auto e = purchase(i % 3 == 0 ? 300 : 0, false, kJan2027 + i);
            e.kind = i % 3 == 0 ? wire::HistoryKind::Purchase : wire::HistoryKind::Play;
            e.ticketId = i % 2 == 0 ? "t-even" : "t-odd";
            h->append(e);
        }
    }
    tamper(file(), "DROP INDEX billing_record_ticket; ALTER TABLE billing_record DROP COLUMN ticket_id;"
                   "UPDATE boxoffice_schema SET version = 1 WHERE component = 'billing'");
    auto h = open();
    EXPECT_NO_THROW(h->verify());
    std::vector<std::uint64_t> sequences;
    for (const auto& r : h->ofTicket("t-even", wire::HistoryKind::Play)) sequences.push_back(r.record.sequence);
    EXPECT_EQ(sequences, (std::vector<std::uint64_t>{2, 4}));
    ASSERT_EQ(h->ofTicket("t-odd", wire::HistoryKind::Purchase).size(), 1u);
    EXPECT_EQ(h->ofTicket("t-odd", wire::HistoryKind::Purchase)[0].record.sequence, 3u);
}

TEST_F(HistoryTest, StatementsPerMonthAndRecentFirstHistory)
{
    auto h = open();
    const wire::UnixTime feb = kJan2027 + 31 * 86400 + 10;
    h->append(purchase(100, false, kJan2027 + 5));
    h->append(purchase(200, true, kJan2027 + 86400));
    auto play = purchase(0, false, kJan2027 + 86500);
    play.kind = wire::HistoryKind::Play;
    h->append(play);
    h->append(purchase(700, true, feb));

    const auto jan = h->statement(2027, 1);
    ASSERT_EQ(jan.records.size(), 3u);
    EXPECT_EQ(jan.purchased, 300);
    EXPECT_EQ(jan.unsettled, 300);
    EXPECT_EQ(jan.settled, 0);
    const auto febStatement = h->statement(2027, 2);
    ASSERT_EQ(febStatement.records.size(), 1u);
    EXPECT_EQ(febStatement.records[0].record.amount, 700);
    EXPECT_TRUE(h->statement(2026, 12).records.empty());
    EXPECT_EQ(codeOf([&] { h->statement(2027, 13); }), ErrorCode::InvalidArgument);

    const auto recent = h->recent(2);
    ASSERT_EQ(recent.size(), 2u);
    EXPECT_EQ(recent[0].record.sequence, 4u);
    EXPECT_EQ(recent[1].record.sequence, 3u);
    const auto older = h->recent(10, 3);
    ASSERT_EQ(older.size(), 2u);
    EXPECT_EQ(older[0].record.sequence, 2u);
}

TEST_F(HistoryTest, AcknowledgedSequenceOnlyMovesForward)
{
    auto h = open();
    for (int i = 0; i < 4; ++i) h->append(purchase(10));
    h->acknowledge(2);
    h->acknowledge(2);   // a retried sync: no-op
    EXPECT_EQ(codeOf([&] { h->acknowledge(1); }), ErrorCode::Conflict);
    EXPECT_EQ(codeOf([&] { h->acknowledge(5); }), ErrorCode::InvalidArgument);
    EXPECT_EQ(h->status().acknowledgedThrough, 2u);
    h->acknowledge(4);
    EXPECT_EQ(h->status().acknowledgedThrough, 4u);
    EXPECT_EQ(h->status().settledThrough, 0u);   // acknowledging does not settle
    EXPECT_EQ(h->credit().unsettledRecords, 4u);
}

TEST_F(HistoryTest, ExportsUnsettledRecordsSealedToTheServerAndSignedByTheDevice)
{
    auto h = open();
    EXPECT_FALSE(h->exportUnsettled(16 * 1024).has_value());   // nothing to carry
    std::vector<Record> appended;
    for (int i = 0; i < 20; ++i) appended.push_back(h->append(purchase(10 + i, true)));

    const auto batch = h->exportUnsettled(16 * 1024);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->firstSequence, 1u);
    EXPECT_EQ(batch->lastSequence, 20u);
    EXPECT_EQ(batch->recordCount, 20u);
    EXPECT_LE(batch->sealed.size(), 16u * 1024);

    auto& k = DevKeys::get();
    const auto deviceKey = trust::VerifyingKey::fromCertificate(k.stb1->certificate);
    const auto opened = openBatch(batch->sealed, *k.serverAgreement, k.serverWithAgreement.keyId, deviceKey);
    ASSERT_EQ(opened.records.size(), 20u);
    EXPECT_EQ(opened.header.deviceId, "stb-1");
    EXPECT_EQ(opened.encoded[7], appended[7].encoded);
    EXPECT_EQ(opened.previousHash, Hash{});
    EXPECT_EQ(opened.lastHash, appended.back().hash);

    // The phone cannot read or change it.
    for (std::size_t at : {std::size_t{10}, batch->sealed.size() / 2, batch->sealed.size() - 1}) {
        Bytes altered = batch->sealed;
        altered[at] ^= 0x01;
        const auto code = codeOf([&] { openBatch(altered, *k.serverAgreement, k.serverWithAgreement.keyId, deviceKey); });
        EXPECT_TRUE(code == ErrorCode::BadSignature || code == ErrorCode::Malformed) << at << ": " << toString(code);
    }
    // Another device's key does not verify it; another server key does not open it.
    EXPECT_EQ(codeOf([&] {
                  openBatch(batch->sealed, *k.serverAgreement, k.serverWithAgreement.keyId,
                            trust::VerifyingKey::fromCertificate(k.stb2->certificate));
              }),
              ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] {
                  openBatch(batch->sealed, crypto::X25519PrivateKey::generate(), k.serverWithAgreement.keyId, deviceKey);
              }),
              ErrorCode::BadSignature);

    // A small budget carries the oldest records first; too small for one record is an error.
    const auto small = h->exportUnsettled(1200);
    ASSERT_TRUE(small);
    EXPECT_EQ(small->firstSequence, 1u);
    EXPECT_LT(small->lastSequence, 20u);
    EXPECT_LE(small->sealed.size(), 1200u);
    EXPECT_EQ(codeOf([&] { h->exportUnsettled(300); }), ErrorCode::LimitExceeded);

    // Without an agreement key there is nothing to seal to.
    auto options = defaultOptions();
    options.serverCertificate = k.serverWithoutAgreement;
    h.reset();
    h = open(options);
    EXPECT_EQ(codeOf([&] { h->exportUnsettled(16 * 1024); }), ErrorCode::Unavailable);
}

// --- tampering with the SQLite file ---

class TamperTest : public HistoryFixture {
protected:
    void SetUp() override
    {
        auto h = open();
        for (int i = 1; i <= 5; ++i) h->append(purchase(100 * i, true));
    }
    std::string expectRefused(const std::string& sql, ErrorCode expected = ErrorCode::BadSignature)
    {
        tamper(file(), sql);
        std::string message;
        EXPECT_EQ(codeOf([&] { open(); }, &message), expected) << message;
        return message;
    }
};

TEST_F(TamperTest, UntouchedHistoryOpens) { EXPECT_NO_THROW(open()->verify()); }

TEST_F(TamperTest, AlteredRecordBytes)
{
    // Flip one byte of record 3's amount inside its signed encoding; keep the hash consistent.
    auto h = open();
    auto r = h->records(2, 1).at(0);
    h.reset();
    r.record.amount = 1;
    const Bytes forged = r.record.encode();   // old signature, new amount
    const auto hash = crypto::sha256(forged);
    const auto message = expectRefused("UPDATE billing_record SET encoded = x'" + toHex(forged) + "', hash = x'" +
                                       toHex(hash) + "', amount = 1 WHERE seq = 3");
    EXPECT_THAT(message, HasSubstr("record 3"));
}

TEST_F(TamperTest, AlteredColumnOnly)
{
    EXPECT_THAT(expectRefused("UPDATE billing_record SET amount = 1 WHERE seq = 2"), HasSubstr("record 2"));
}

// The ticket column is what ofTicket() looks up: a play moved to another ticket
// there would not count against its own.
TEST_F(TamperTest, AlteredTicketColumn)
{
    EXPECT_THAT(expectRefused("UPDATE billing_record SET ticket_id = 't-other' WHERE seq = 4"), HasSubstr("record 4"));
}

// The same value with another type: SQLite's lookups by ticket or kind no longer find the
// record (a play hidden from ofTicket) although it reads back the same.
TEST_F(TamperTest, TicketColumnStoredAsBlob)
{
    EXPECT_THAT(expectRefused("UPDATE billing_record SET ticket_id = CAST(ticket_id AS BLOB) WHERE seq = 4"),
                HasSubstr("record 4: columns are stored with other types"));
}

TEST_F(TamperTest, KindColumnStoredAsBlob)
{
    EXPECT_THAT(expectRefused("UPDATE billing_record SET kind = CAST(kind AS BLOB) WHERE seq = 3"),
                HasSubstr("record 3"));
}

// A damaged record met while an older history gets its ticket column: the refusal
// names the record, as at any open.
TEST_F(TamperTest, DamagedRecordDuringTheTicketColumnMigration)
{
    EXPECT_THAT(expectRefused("DROP INDEX billing_record_ticket; ALTER TABLE billing_record DROP COLUMN ticket_id;"
                              "UPDATE boxoffice_schema SET version = 1 WHERE component = 'billing';"
                              "UPDATE billing_record SET encoded = x'0102' WHERE seq = 2"),
                HasSubstr("record 2"));
}

TEST_F(TamperTest, DeletedRecord)
{
    EXPECT_THAT(expectRefused("DELETE FROM billing_record WHERE seq = 3"), HasSubstr("record 3: missing"));
}

TEST_F(TamperTest, DeletedLastRecord)
{
    EXPECT_THAT(expectRefused("DELETE FROM billing_record WHERE seq = 5"), HasSubstr("head says 5"));
}

TEST_F(TamperTest, DeletedFirstRecord)
{
    EXPECT_THAT(expectRefused("DELETE FROM billing_record WHERE seq = 1"), HasSubstr("record 1: missing"));
}

TEST_F(TamperTest, ReorderedRecords)
{
    EXPECT_THAT(expectRefused("UPDATE billing_record SET seq = -seq WHERE seq IN (2, 3);"
                              "UPDATE billing_record SET seq = 3 WHERE seq = -2;"
                              "UPDATE billing_record SET seq = 2 WHERE seq = -3;"),
                HasSubstr("record 2"));
}

TEST_F(TamperTest, InsertedCopyOfARecord)
{
    EXPECT_THAT(expectRefused("INSERT INTO billing_record SELECT 6, encoded, hash, kind, amount, month, deferred, mac, "
                              "ticket_id FROM billing_record WHERE seq = 5"),
                HasSubstr("record 6"));
}

TEST_F(TamperTest, InsertedRecordSignedByTheDeviceForAnotherChain)
{
    // A genuinely signed record 6 from another history of the same device (e.g. an old backup).
    testing::TempDir other("billing-other");
    HistoryStore h(other / "h.db", *DevKeys::get().stb1, defaultOptions());
    for (int i = 0; i < 6; ++i) h.append(purchase(1));
    const auto r6 = h.records(5, 1).at(0);
    EXPECT_THAT(expectRefused("INSERT INTO billing_record SELECT 6, x'" + toHex(r6.encoded) + "', x'" + toHex(r6.hash) +
                              "', kind, amount, month, deferred, mac, ticket_id FROM billing_record WHERE seq = 5"),
                HasSubstr("record 6: does not chain"));
}

TEST_F(TamperTest, InsertedRecordBeforeTheFirst)
{
    EXPECT_THAT(expectRefused("INSERT INTO billing_record SELECT 0, encoded, hash, kind, amount, month, deferred, mac, "
                              "ticket_id FROM billing_record WHERE seq = 1"),
                HasSubstr("record 1: missing or out of order (found 0"));
}

TEST_F(TamperTest, DeferredMarkCleared)
{
    // Would free credit if it went unnoticed.
    EXPECT_THAT(expectRefused("UPDATE billing_record SET deferred = 0 WHERE seq = 4"), HasSubstr("local marks"));
}

TEST_F(TamperTest, SettledThroughRaised)
{
    EXPECT_THAT(expectRefused("UPDATE billing_state SET settled_through = 5"), HasSubstr("head"));
}

TEST_F(TamperTest, HeadDeleted)
{
    EXPECT_THAT(expectRefused("DELETE FROM billing_state"), HasSubstr("without a head"));
}

TEST_F(TamperTest, AnotherDevicesIdentityIsRefused)
{
    std::string message;
    EXPECT_EQ(codeOf([&] { open(defaultOptions(), &*DevKeys::get().stb2); }, &message), ErrorCode::WrongAudience)
        << message;
}

TEST_F(TamperTest, DamagedFileIsRefused)
{
    // Overwrite the middle of the database file (after a checkpoint moved the WAL in).
    tamper(file(), "PRAGMA wal_checkpoint(TRUNCATE)");
    {
        std::FILE* f = std::fopen(file().c_str(), "r+b");
        ASSERT_NE(f, nullptr);
        std::fseek(f, 0, SEEK_END);
        const long size = std::ftell(f);
        std::fseek(f, size / 2, SEEK_SET);
        const std::string garbage(2048, '\x5a');
        std::fwrite(garbage.data(), 1, garbage.size(), f);
        std::fclose(f);
    }
    std::string message;
    const auto code = codeOf([&] { open(); }, &message);
    EXPECT_TRUE(code == ErrorCode::Storage || code == ErrorCode::BadSignature) << toString(code) << ": " << message;
}

} // namespace
} // namespace boxoffice::billing::test
