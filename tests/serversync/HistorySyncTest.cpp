// serversync::HistorySync against a real STB billing store (plugins/billing), on
// both backends: deferred purchases carried by the phone or uploaded directly are
// settled exactly once, the STB accepts the signed result, and every kind of
// tampering is refused with nothing stored. The ledger, settlement and sync
// invariants are checked after every test (SettlementTest::checked + ours).

#include "../server/SettlementFixture.h"

#include "HistoryStore.h"

#include <boxoffice/billing/HistoryBatch.h>
#include <boxoffice/serversync/HistorySync.h>
#include <boxoffice/settlement/Deliveries.h>

#include <algorithm>
#include <thread>

namespace boxoffice::server::test {
namespace {

using billing::Entry;
using billing::HistoryStore;
using wire::HistoryKind;

class HistorySyncTest : public SettlementTest {
protected:
    void SetUp() override
    {
        SettlementTest::SetUp();
        const auto& keys = DevKeys::get();
        sync_ = std::make_unique<serversync::HistorySync>(*ledger_, serversync::ServerKeys::load(keys.dir),
                                                          [this] { return clock_.load(); });
        serverCertificate_ = trust::loadCertificate(keys.dir / "server/server.cert");
        // The server charges a deferred purchase the catalog price: one event per amount the tests use.
        for (const std::int64_t price : {100, 300, 500, 700, 1000, 4500}) {
            auto e = event();
            e.eventId = "ev-" + std::to_string(price);
            e.price = price;
            settlement_->putEvent(e);
        }
    }
    void TearDown() override
    {
        syncChecked();
        stbs_.clear();
        sync_.reset();
        SettlementTest::TearDown();
    }

    void syncChecked()
    {
        auto bad = db().read([](storage::Transaction& tx) { return serversync::HistorySync::checkInvariants(tx); });
        EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
        checked();
    }

    // A real STB history (what plugins/billing keeps on the box), in its own file.
    HistoryStore& stb(const std::string& deviceId = "stb-1", const std::string& file = {})
    {
        const auto& keys = DevKeys::get();
        billing::HistoryOptions o;
        o.creditLimit = 10'000;
        o.currency = "EUR";
        o.root = trust::loadTrustAnchor(keys.dir / "root/root.json");
        o.serverCertificate = serverCertificate_;
        stbs_.push_back(std::make_unique<HistoryStore>(
            scratch_.path() / (file.empty() ? deviceId + ".db" : file),
            trust::loadDeviceIdentity(keys.dir / "devices" / deviceId), o));
        return *stbs_.back();
    }

    // A deferred purchase of the event whose price is `amount` (ev-1 costs 1200), or of `eventId`.
    static Entry deferred(std::int64_t amount = 1200, const std::string& eventId = {})
    {
        const auto event = !eventId.empty() ? eventId : amount == 1200 ? "ev-1" : "ev-" + std::to_string(amount);
        return {HistoryKind::Purchase, event, "", "", amount, "EUR", 0, true};
    }
    static Entry play(const std::string& eventId = "ev-1") { return {HistoryKind::Play, eventId, "", "", 0, "EUR", 0, false}; }

    static std::vector<Bytes> encoded(const HistoryStore& h, std::uint64_t after = 0, std::size_t limit = 100)
    {
        std::vector<Bytes> out;
        for (const auto& r : h.records(after, limit)) out.push_back(r.encoded);
        return out;
    }

    std::int64_t balance(const std::string& account) { return ledger_->account(account).balance(); }

    ScratchDir scratch_;
    std::unique_ptr<serversync::HistorySync> sync_;
    wire::Certificate serverCertificate_;
    std::vector<std::unique_ptr<HistoryStore>> stbs_;
};

TEST_P(HistorySyncTest, PhoneCarriedBatchIsSettledOnceAndAcceptedByTheStb)
{
    auto& h = stb();
    h.append(deferred(1200));
    h.append(play());
    h.append(deferred(1200));
    EXPECT_EQ(h.credit().outstanding, 2400);
    const auto batch = h.exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);

    const auto outcome = sync_->settleBatch(batch->sealed, "phone-1");
    EXPECT_EQ(outcome.acknowledgedThrough, 3u);
    EXPECT_EQ(outcome.recordsStored, 3u);
    EXPECT_EQ(outcome.purchasesCharged, 2u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 2400);
    EXPECT_EQ(balance("studio"), 2400);
    const auto result = wire::SettlementResult::decode(outcome.result);
    EXPECT_EQ(result.deviceId, "stb-1");
    EXPECT_EQ(result.settledThrough, 3u);
    EXPECT_EQ(result.totalAmount, 2400);
    syncChecked();

    // The STB verifies it under the operator root and frees its credit.
    const auto settled = h.applySettlement(outcome.result, serverCertificate_.encode());
    EXPECT_EQ(settled.settledThrough, 3u);
    EXPECT_EQ(settled.recordsSettled, 3u);
    EXPECT_EQ(h.credit().outstanding, 0);
    EXPECT_EQ(h.status().settledThrough, 3u);

    // The phone replays the batch: the same signed answer, nothing charged again.
    const auto replay = sync_->settleBatch(batch->sealed, "phone-1");
    EXPECT_EQ(replay.result, outcome.result);
    EXPECT_EQ(replay.recordsStored, 0u);
    EXPECT_EQ(replay.purchasesCharged, 0u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 2400);
    // ... and the STB refuses to apply a result twice.
    EXPECT_BOX_ERROR(h.applySettlement(replay.result, serverCertificate_.encode()), ErrorCode::Replayed);

    // Later records extend the chain; a new batch settles only them.
    h.append(deferred(500));
    const auto next = h.exportUnsettled(15 * 1024);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->firstSequence, 4u);
    const auto second = sync_->settleBatch(next->sealed, "phone-1");
    EXPECT_EQ(second.purchasesCharged, 1u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 2900);
    EXPECT_EQ(h.applySettlement(second.result, serverCertificate_.encode()).settledThrough, 4u);
    EXPECT_EQ(h.credit().outstanding, 0);
}

TEST_P(HistorySyncTest, AlteredBatchIsRefusedAndNothingStored)
{
    auto& h = stb();
    h.append(deferred());
    auto batch = h.exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);
    for (const std::size_t at : {batch->sealed.size() - 1, batch->sealed.size() / 2, std::size_t{40}}) {
        Bytes altered = batch->sealed;
        altered[at] ^= 0x01;
        EXPECT_THROW(sync_->settleBatch(altered, "phone-1"), Error) << "byte " << at;
    }
    Bytes truncated(batch->sealed.begin(), batch->sealed.end() - 10);
    EXPECT_THROW(sync_->settleBatch(truncated, "phone-1"), Error);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000);
}

TEST_P(HistorySyncTest, DroppedBatchLeavesAGapThatIsRefused)
{
    auto& h = stb();
    for (int i = 0; i < 4; ++i) h.append(deferred(100));
    const auto identity = trust::loadDeviceIdentity(DevKeys::get().dir / "devices/stb-1");
    // The phone withholds the batch of records 1..2 and delivers the one of 3..4.
    const auto first = billing::sealBatch(encoded(h, 0, 2), identity, serverCertificate_, clock_.load());
    const auto second = billing::sealBatch(encoded(h, 2, 2), identity, serverCertificate_, clock_.load());
    const auto message = EXPECT_BOX_ERROR(sync_->settleBatch(second, "phone-1"), ErrorCode::Conflict);
    EXPECT_NE(message.find("missing"), std::string::npos) << message;
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000);

    // Once the first arrives, both settle, each record once.
    EXPECT_EQ(sync_->settleBatch(first, "phone-1").purchasesCharged, 2u);
    EXPECT_EQ(sync_->settleBatch(second, "phone-1").purchasesCharged, 2u);
    EXPECT_EQ(sync_->settleBatch(first, "phone-1").purchasesCharged, 0u);   // late duplicate
    EXPECT_EQ(balance("acct-alice"), 5000 - 400);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 4u);
}

TEST_P(HistorySyncTest, BatchOfAnotherAccountsDeviceIsRefused)
{
    auto& bob = stb("stb-2");
    bob.append(deferred());
    const auto batch = bob.exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);
    // phone-1 belongs to alice: it may not settle bob's box on bob's account.
    EXPECT_BOX_ERROR(sync_->settleBatch(batch->sealed, "phone-1"), ErrorCode::PermissionDenied);
    EXPECT_BOX_ERROR(sync_->settleBatch(batch->sealed, "phone-unknown"), ErrorCode::PermissionDenied);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-2"), 0u);
    EXPECT_EQ(balance("acct-bob"), 0);
}

TEST_P(HistorySyncTest, DirectUploadAcknowledgesAndOnlyMovesForward)
{
    auto& h = stb();
    h.append(deferred(1200));
    h.append(play());
    h.append(deferred(300));
    auto first = sync_->upload("stb-1", encoded(h, 0, 2));
    EXPECT_EQ(first.acknowledgedThrough, 2u);
    EXPECT_EQ(first.purchasesCharged, 1u);
    // A retry of the same upload (the answer was lost) changes nothing.
    auto retry = sync_->upload("stb-1", encoded(h, 0, 2));
    EXPECT_EQ(retry.acknowledgedThrough, 2u);
    EXPECT_EQ(retry.recordsStored, 0u);
    EXPECT_EQ(retry.result, first.result);
    // Overlapping upload: only record 3 is new.
    auto more = sync_->upload("stb-1", encoded(h));
    EXPECT_EQ(more.acknowledgedThrough, 3u);
    EXPECT_EQ(more.recordsStored, 1u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 1500);
    h.acknowledge(more.acknowledgedThrough);
    EXPECT_EQ(h.applySettlement(more.result, serverCertificate_.encode()).settledThrough, 3u);
    EXPECT_EQ(h.credit().outstanding, 0);

    // A gap is refused.
    h.append(deferred(100));
    h.append(deferred(100));
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(h, 4, 1)), ErrorCode::Conflict);
    // A record altered after signing.
    auto altered = wire::HistoryRecord::decode(encoded(h, 3, 1).front());
    altered.amount = 1;
    EXPECT_BOX_ERROR(sync_->upload("stb-1", {altered.encode()}), ErrorCode::BadSignature);
    // Records of another device under this device's TLS identity.
    EXPECT_BOX_ERROR(sync_->upload("stb-2", encoded(h, 3, 2)), ErrorCode::WrongAudience);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 3u);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-2"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 1500);
    syncChecked();
}

TEST_P(HistorySyncTest, RewrittenHistoryIsRefused)
{
    auto& h = stb();
    h.append(deferred(1200));
    sync_->upload("stb-1", encoded(h));
    // The same device identity with another history file: a fork of records 1..2.
    auto& fork = stb("stb-1", "fork.db");
    fork.append(deferred(100));
    fork.append(deferred(100));
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(fork)), ErrorCode::Conflict);
    const auto batch = billing::sealBatch(encoded(fork, 1, 1), trust::loadDeviceIdentity(DevKeys::get().dir / "devices/stb-1"),
                                          serverCertificate_, clock_.load());
    EXPECT_BOX_ERROR(sync_->settleBatch(batch, "phone-1"), ErrorCode::Conflict);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 1u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 1200);
}

TEST_P(HistorySyncTest, OnlyDeferredPurchasesAreCharged)
{
    // Bought online (flow 3): the order was settled by the phone's approval already.
    const auto o = order("o-online");
    settlement_->approve(phone_->certificate.subject, signedApproval(approval(o)));
    const auto afterOrder = balance("acct-alice");
    auto& h = stb();
    h.append({HistoryKind::Purchase, "ev-1", "", "o-online", 1200, "EUR", 0, false});
    h.append(deferred(700));
    const auto outcome = sync_->upload("stb-1", encoded(h));
    EXPECT_EQ(outcome.purchasesCharged, 1u);
    EXPECT_EQ(balance("acct-alice"), afterOrder - 700);
}

// A purchase record that names a server order must be that order, paid: naming an order of
// another event, at another amount, or one that was never paid (declined) would otherwise
// pass an offline purchase off as paid online. A purchase at no price is no purchase.
TEST_P(HistorySyncTest, APurchaseRecordNamingAnOrderMustBeThatOrderPaid)
{
    const auto declined = order("o-declined");
    settlement_->approve(phone_->certificate.subject, signedApproval(approval(declined, wire::Decision::Decline)));
    const auto paid = order("o-paid");
    settlement_->approve(phone_->certificate.subject, signedApproval(approval(paid)));
    const auto before = balance("acct-alice");
    const struct {
        Entry entry;
        ErrorCode expected;
        const char* says;
    } cases[] = {
        {{HistoryKind::Purchase, "ev-300", "", "o-paid", 300, "EUR", 0, false}, ErrorCode::Conflict, "which bought ev-1"},
        {{HistoryKind::Purchase, "ev-1", "", "o-paid", 1, "EUR", 0, false}, ErrorCode::Conflict, "which bought ev-1 for 1200"},
        {{HistoryKind::Purchase, "ev-1", "", "o-declined", 1200, "EUR", 0, false}, ErrorCode::Conflict, "not paid (declined)"},
        {{HistoryKind::Purchase, "ev-1", "", "", 0, "EUR", 0, false}, ErrorCode::InvalidArgument, "price is 1200"},
    };
    int n = 0;
    for (const auto& c : cases) {
        auto& h = stb("stb-1", "case-" + std::to_string(n++) + ".db");
        h.append(deferred(700));   // a good record first: refused with the batch
        h.append(c.entry);
        const auto message = EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(h)), c.expected);
        EXPECT_NE(message.find(c.says), std::string::npos) << message;
        EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
        EXPECT_EQ(balance("acct-alice"), before);
    }
    // The paid order itself, as the box records it: stored, not charged again.
    auto& h = stb("stb-1", "honest.db");
    h.append({HistoryKind::Purchase, "ev-1", "", "o-paid", 1200, "EUR", 0, false});
    const auto outcome = sync_->upload("stb-1", encoded(h));
    EXPECT_EQ(outcome.recordsStored, 1u);
    EXPECT_EQ(outcome.purchasesCharged, 0u);
    EXPECT_EQ(balance("acct-alice"), before);
    EXPECT_EQ(wire::SettlementResult::decode(outcome.result).currency, "EUR");
}

TEST_P(HistorySyncTest, UnpayableOrUnknownPurchaseRefusesTheWholeUpload)
{
    auto& h = stb();
    h.append(deferred(1000));
    h.append(deferred(4500));   // alice has 5000
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(h)), ErrorCode::LimitExceeded);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000);

    auto& other = stb("stb-1", "other.db");
    other.append(deferred(100, "ev-unknown"));
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(other)), ErrorCode::NotFound);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000);
}

TEST_P(HistorySyncTest, DeferredPurchaseNotAtTheCatalogPriceIsRefused)
{
    auto& h = stb();
    h.append(deferred(1200));
    h.append(deferred(1, "ev-1"));   // the box claims a price the operator never set
    const auto batch = h.exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);
    const auto message = EXPECT_BOX_ERROR(sync_->settleBatch(batch->sealed, "phone-1"), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("price is 1200"), std::string::npos) << message;
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(h)), ErrorCode::InvalidArgument);
    // Nothing of the batch is kept or charged, not even the record at the right price.
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000);
    EXPECT_EQ(balance("studio"), 0);
}

TEST_P(HistorySyncTest, DeferredPurchaseAtAPriceTheOperatorHadSetIsChargedAfterAChange)
{
    // The operator raises ev-1 from 1200 to 1500 a minute after the start.
    clock_ += 60;
    auto raised = event();
    raised.price = 1500;
    settlement_->putEvent(raised);
    const auto at = [&](std::int64_t amount, std::int64_t recordedAt) {
        return Entry{HistoryKind::Purchase, "ev-1", "", "", amount, "EUR", recordedAt, true};
    };

    // 1500 before the change was never a price of ev-1: refused, nothing kept.
    auto& early = stb("stb-1", "early.db");
    early.append(at(1500, kStart + 10));
    const auto message = EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(early)), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("no price it had by then"), std::string::npos) << message;
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 0u);
    EXPECT_EQ(balance("acct-alice"), 5000);

    // A box without a line still showing 1200 after the change (before, its record
    // was refused for not matching today's price, and so was every later one of its
    // chain, for good), then one that synced the new price.
    auto& h = stb("stb-1", "offline.db");
    h.append(at(1200, kStart + 120));
    h.append(at(1500, kStart + 180));
    const auto outcome = sync_->settleBatch(h.exportUnsettled(15 * 1024)->sealed, "phone-1");
    EXPECT_EQ(outcome.acknowledgedThrough, 2u);
    EXPECT_EQ(outcome.purchasesCharged, 2u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 2700);
    EXPECT_EQ(balance("studio"), 2700);
    // Putting the event again at the same price adds no new price.
    settlement_->putEvent(raised);
    EXPECT_EQ(db().query("SELECT price FROM stl_event_price WHERE event_id = 'ev-1' ORDER BY since").size(), 2u);
    syncChecked();
}

TEST_P(HistorySyncTest, DatabaseOfAnEarlierBuildGetsItsEventPricesBackfilled)
{
    // A database as the build before the price history left it: no stl_event_price, nor
    // the columns of the steps after it, and the settlement schema at the version before
    // that step. Then this build opens it.
    settlement_->putEvent([&] {
        auto e = event();
        e.eventId = "ev-old";
        e.price = 900;
        return e;
    }());
    const auto& steps = settlement::Settlement::schema().steps;
    const auto priceStep = std::find_if(steps.begin(), steps.end(),
                                        [](const auto& step) { return step.description == "event price history"; });
    ASSERT_NE(priceStep, steps.end());
    ASSERT_EQ(steps.end() - priceStep, 2) << "a newer settlement step: undo it here too";
    db().write([&](storage::Transaction& tx) {
        tx.execute("DROP TABLE stl_event_price");
        tx.execute("ALTER TABLE stl_otp DROP COLUMN last_attempt_id");   // "one-time password entry ids"
        tx.execute("ALTER TABLE stl_otp DROP COLUMN last_attempt_hash");
        tx.execute("UPDATE boxoffice_schema SET version = ? WHERE component = 'settlement'",
                   {static_cast<std::int64_t>(priceStep - steps.begin())});
    });
    settlement_ = std::make_unique<settlement::Settlement>(*ledger_, settlement::Keys::load(DevKeys::get().dir),
                                                           settlement::Options{60}, &revocations_);

    // Every event keeps its one price, valid since 0.
    const auto rows = db().query("SELECT event_id, price, currency, since FROM stl_event_price"
                                 " WHERE event_id IN ('ev-1', 'ev-old') ORDER BY event_id");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].text(0), "ev-1");
    EXPECT_EQ(rows[0].int64(1), 1200);
    EXPECT_EQ(rows[1].text(0), "ev-old");
    EXPECT_EQ(rows[1].int64(1), 900);
    for (const auto& r : rows) {
        EXPECT_EQ(r.text(2), "EUR");
        EXPECT_EQ(r.int64(3), 0);
    }
    // So a box's deferred purchases at those prices are charged, any time.
    auto& h = stb();
    h.append({HistoryKind::Purchase, "ev-1", "", "", 1200, "EUR", kStart + 5, true});
    h.append({HistoryKind::Purchase, "ev-old", "", "", 900, "EUR", kStart + 6, true});
    const auto outcome = sync_->upload("stb-1", encoded(h));
    EXPECT_EQ(outcome.purchasesCharged, 2u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 2100);
    syncChecked();
}

TEST_P(HistorySyncTest, DeferredPurchaseOfADormantTicketIsChargedOnlyForItsOwnTicket)
{
    const auto dormant = settlement_->deliveries().issueDormant("stb-1", "ev-1");
    EXPECT_TRUE(dormant.created);
    EXPECT_EQ(dormant.ticket.kind, wire::TicketKind::Prepaid);
    EXPECT_EQ(dormant.ticket.status, wire::TicketStatus::Suspended);
    EXPECT_EQ(balance("acct-alice"), 5000);   // issuing charges nothing
    EXPECT_EQ(settlement_->deliveries().issueDormant("stb-1", "ev-1").ticket.ticketId, dormant.ticket.ticketId);
    EXPECT_FALSE(settlement_->deliveries().issueDormant("stb-1", "ev-1").created);
    const auto other = settlement_->deliveries().issueDormant("stb-2", "ev-1");
    syncChecked();

    // Another box's dormant ticket, or ours named for another event: refused, nothing charged.
    auto& h = stb();
    h.append({HistoryKind::Purchase, "ev-1", other.ticket.ticketId, "o-x", 1200, "EUR", 0, true});
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(h)), ErrorCode::Conflict);
    auto& wrongEvent = stb("stb-1", "wrong-event.db");
    wrongEvent.append({HistoryKind::Purchase, "ev-100", dormant.ticket.ticketId, "o-y", 100, "EUR", 0, true});
    EXPECT_BOX_ERROR(sync_->upload("stb-1", encoded(wrongEvent)), ErrorCode::Conflict);
    EXPECT_EQ(balance("acct-alice"), 5000);

    // Its own dormant ticket: charged the price once.
    auto& good = stb("stb-1", "good.db");
    good.append({HistoryKind::Purchase, "ev-1", dormant.ticket.ticketId, "o-z", 1200, "EUR", 0, true});
    EXPECT_EQ(sync_->upload("stb-1", encoded(good)).purchasesCharged, 1u);
    EXPECT_EQ(balance("acct-alice"), 5000 - 1200);
}

TEST_P(HistorySyncTest, ConcurrentDuplicateUploadsHaveOneEffect)
{
    auto& h = stb();
    for (int i = 0; i < 5; ++i) h.append(deferred(100));
    const auto records = encoded(h);
    const auto batch = h.exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);
    // The box retries while the phone delivers the same records: all at once.
    std::vector<Bytes> results(6);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < results.size(); ++i)
        threads.emplace_back([&, i] {
            try {
                results[i] = i % 2 ? sync_->upload("stb-1", records).result : sync_->settleBatch(batch->sealed, "phone-1").result;
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& r : results) EXPECT_EQ(r, results.front());
    EXPECT_EQ(balance("acct-alice"), 5000 - 500);
    EXPECT_EQ(sync_->acknowledgedThrough("stb-1"), 5u);
}

TEST_P(HistorySyncTest, ServerKeysNeedTheAgreementKey)
{
    const auto dir = scratch_.path() / "keys";
    std::filesystem::copy(DevKeys::get().dir, dir, std::filesystem::copy_options::recursive);
    std::filesystem::permissions(dir / "server/agree.key.pem", std::filesystem::perms::group_read,
                                 std::filesystem::perm_options::add);
    EXPECT_BOX_ERROR(serversync::ServerKeys::load(dir), ErrorCode::PermissionDenied);
    std::filesystem::remove(dir / "server/agree.key.pem");
    EXPECT_BOX_ERROR(serversync::ServerKeys::load(dir), ErrorCode::NotFound);
    // Another server's agreement key does not match the certificate.
    std::filesystem::copy_file(DevKeys::get().foreign / "server/agree.key.pem", dir / "server/agree.key.pem");
    EXPECT_BOX_ERROR(serversync::ServerKeys::load(dir), ErrorCode::InvalidArgument);
}

BOXOFFICE_SERVER_ON_BOTH_BACKENDS(HistorySyncTest);

} // namespace
} // namespace boxoffice::server::test
