// Ledger: double entry, two-phase transfers, idempotency, floors, concurrency;
// the invariants are checked after every step.

#include "ServerBackend.h"

#include <boxoffice/ledger/Invariants.h>
#include <boxoffice/ledger/Ledger.h>

#include <atomic>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::ledger;
using boxoffice::server::test::BackendTest;

namespace {

class LedgerTest : public BackendTest {
protected:
    void SetUp() override {
        BackendTest::SetUp();
        ledger_ = std::make_unique<Ledger>(db(), [this] { return clock_.load(); });
        ledger_->open({"funding", AccountKind::Funding, "EUR", std::nullopt});
        ledger_->open({"alice", AccountKind::Wallet, "EUR", std::nullopt});
        ledger_->open({"bob", AccountKind::Postpaid, "EUR", -5000});
        ledger_->open({"studio", AccountKind::Merchant, "EUR", std::nullopt});
        ledger_->create({"dep-alice", "funding", "alice", 1000, "EUR", 0, "deposit"});
        checked();
    }
    void TearDown() override {
        checked();
        ledger_.reset();
        BackendTest::TearDown();
    }
    // Every step ends here: the ledger must be consistent.
    void checked() {
        const auto bad = checkInvariants(db());
        EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
    }
    TransferRequest buy(const std::string& id, std::int64_t amount, std::int64_t timeout = 60) {
        return {id, "alice", "studio", amount, "EUR", timeout, "order " + id};
    }

    std::atomic<std::int64_t> clock_{1'700'000'000'000};
    std::unique_ptr<Ledger> ledger_;
};

TEST_P(LedgerTest, PendingThenPostedMovesMoneyOnce) {
    auto t = ledger_->create(buy("o1", 300));
    EXPECT_EQ(t.state, TransferState::Pending);
    EXPECT_EQ(ledger_->account("alice").available(), 700);
    EXPECT_EQ(ledger_->account("alice").balance(), 1000);
    checked();
    t = ledger_->post("o1");
    EXPECT_EQ(t.state, TransferState::Posted);
    EXPECT_EQ(ledger_->account("alice").balance(), 700);
    EXPECT_EQ(ledger_->account("studio").balance(), 300);
    checked();
    // A retried post answers the same and changes nothing.
    EXPECT_EQ(ledger_->post("o1").state, TransferState::Posted);
    EXPECT_EQ(ledger_->account("alice").balance(), 700);
    checked();
    EXPECT_BOX_ERROR(ledger_->voidTransfer("o1"), ErrorCode::Conflict);
    EXPECT_EQ(ledger_->account("alice").balance(), 700);
}

TEST_P(LedgerTest, VoidRestoresAndCannotBePostedAfterwards) {
    ledger_->create(buy("o1", 400));
    checked();
    EXPECT_EQ(ledger_->voidTransfer("o1").state, TransferState::Voided);
    EXPECT_EQ(ledger_->account("alice").available(), 1000);
    checked();
    EXPECT_EQ(ledger_->voidTransfer("o1").state, TransferState::Voided);
    EXPECT_BOX_ERROR(ledger_->post("o1"), ErrorCode::Conflict);
    EXPECT_EQ(ledger_->account("studio").balance(), 0);
}

TEST_P(LedgerTest, ExpiryIsServerTimeAndFinal) {
    ledger_->create(buy("o1", 100, 30));
    ledger_->create(buy("o2", 100, 120));
    clock_ += 31'000;
    EXPECT_BOX_ERROR(ledger_->post("o1"), ErrorCode::Expired);
    checked();
    EXPECT_EQ(ledger_->transfer("o1").state, TransferState::Expired); // the expiry was committed
    EXPECT_BOX_ERROR(ledger_->post("o1"), ErrorCode::Conflict);
    EXPECT_EQ(ledger_->expireDue(), 0u);
    clock_ += 100'000;
    EXPECT_EQ(ledger_->expireDue(), 1u);
    EXPECT_EQ(ledger_->transfer("o2").state, TransferState::Expired);
    EXPECT_EQ(ledger_->account("alice").available(), 1000);
    checked();
}

TEST_P(LedgerTest, SameIdSameParametersSameAnswerDifferentParametersConflict) {
    const auto first = ledger_->create(buy("o1", 250));
    clock_ += 5;
    const auto again = ledger_->create(buy("o1", 250));
    EXPECT_EQ(again.createdAt, first.createdAt);
    EXPECT_EQ(ledger_->account("alice").available(), 750);
    checked();
    EXPECT_BOX_ERROR(ledger_->create(buy("o1", 251)), ErrorCode::Conflict);
    auto other = buy("o1", 250);
    other.credit = "funding";
    EXPECT_BOX_ERROR(ledger_->create(other), ErrorCode::Conflict);
    EXPECT_EQ(ledger_->account("alice").available(), 750);
    // Accounts too.
    EXPECT_BOX_ERROR(ledger_->open({"alice", AccountKind::Wallet, "USD", std::nullopt}), ErrorCode::Conflict);
    EXPECT_EQ(ledger_->open({"alice", AccountKind::Wallet, "EUR", std::nullopt}).balance(), 1000);
}

TEST_P(LedgerTest, FloorsArePessimisticAboutPendingDebits) {
    ledger_->create(buy("o1", 600));
    EXPECT_BOX_ERROR(ledger_->create(buy("o2", 401)), ErrorCode::LimitExceeded);
    ledger_->create(buy("o2", 400));
    EXPECT_EQ(ledger_->account("alice").available(), 0);
    EXPECT_BOX_ERROR(ledger_->create(buy("o3", 1)), ErrorCode::LimitExceeded);
    checked();
    // Post-paid: may go down to its floor (credit limit), not beyond.
    ledger_->create({"b1", "bob", "studio", 5000, "EUR", 0, "movie"});
    EXPECT_BOX_ERROR(ledger_->create({"b2", "bob", "studio", 1, "EUR", 0, "movie"}), ErrorCode::LimitExceeded);
    EXPECT_EQ(ledger_->account("bob").balance(), -5000);
}

TEST_P(LedgerTest, HostileRequestsAreRefusedAndChangeNothing) {
    EXPECT_BOX_ERROR(ledger_->create(buy("neg", -5)), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->create(buy("zero", 0)), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->create(buy("huge", INT64_MAX)), ErrorCode::LimitExceeded);
    EXPECT_BOX_ERROR(ledger_->create({"x", "alice", "alice", 1, "EUR", 0, ""}), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->create({"x", "alice", "studio", 1, "USD", 0, ""}), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->create({"x", "alice", "studio", 1, "eur", 0, ""}), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->create({"x", "alice", "nobody", 1, "EUR", 0, ""}), ErrorCode::NotFound);
    EXPECT_BOX_ERROR(ledger_->create({"x'; DROP TABLE ledger_account; --", "alice", "studio", 1, "EUR", 0, ""}),
                     ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->create(buy("x", 1, -1)), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(ledger_->post("never"), ErrorCode::NotFound);
    // Overflowing the balance fields of a no-floor account.
    ledger_->create({"big", "funding", "studio", INT64_MAX - 1000, "EUR", 0, ""});
    EXPECT_BOX_ERROR(ledger_->create({"more", "funding", "bob", 1, "EUR", 0, ""}), ErrorCode::LimitExceeded);
    EXPECT_EQ(ledger_->account("alice").balance(), 1000);
    EXPECT_EQ(ledger_->transfersOf("alice").size(), 1u);
}

TEST_P(LedgerTest, RoomForPendingAmountsIsKeptSoPostingCannotOverflow) {
    // 600 pending toward the studio, then a posted transfer that would fill its
    // posted credits so far that posting the 600 would overflow them: that
    // transfer is the one refused (before, posting failed or corrupted the row),
    // one that leaves room is taken, and the 600 still posts.
    ledger_->open({"gateway", AccountKind::Funding, "EUR", std::nullopt});
    ledger_->create(buy("o1", 600));
    checked();
    EXPECT_BOX_ERROR(ledger_->create({"fill", "gateway", "studio", INT64_MAX - 300, "EUR", 0, ""}),
                     ErrorCode::LimitExceeded);
    EXPECT_EQ(ledger_->account("studio").creditsPosted, 0);
    ledger_->create({"fill", "gateway", "studio", INT64_MAX - 600, "EUR", 0, ""});
    checked();
    EXPECT_EQ(ledger_->post("o1").state, TransferState::Posted);
    checked();
    EXPECT_EQ(ledger_->account("studio").balance(), INT64_MAX);
    EXPECT_EQ(ledger_->account("alice").balance(), 400);
}

TEST_P(LedgerTest, InhibitedAccountTakesNoNewOrPostedDebitsUntilCleared) {
    ledger_->setInhibited("alice", true);
    EXPECT_BOX_ERROR(ledger_->create(buy("o1", 10)), ErrorCode::PermissionDenied);
    checked();
    ledger_->setInhibited("alice", false);
    EXPECT_EQ(ledger_->create(buy("o1", 10)).state, TransferState::Pending);
    // A pending debit is not posted while the account is inhibited either; voiding it is fine.
    EXPECT_EQ(ledger_->create(buy("o2", 10)).state, TransferState::Pending);
    ledger_->setInhibited("alice", true);
    EXPECT_BOX_ERROR(ledger_->post("o1"), ErrorCode::PermissionDenied);
    EXPECT_EQ(ledger_->transfer("o1").state, TransferState::Pending);
    EXPECT_EQ(ledger_->voidTransfer("o2").state, TransferState::Voided);
    checked();
    ledger_->setInhibited("alice", false);
    EXPECT_EQ(ledger_->post("o1").state, TransferState::Posted);
    checked();
}

TEST_P(LedgerTest, ConcurrentDuplicatesHaveOneEffect) {
    // Several threads submit the same ten orders and post them, all at once.
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) {
                try {
                    const auto id = "c" + std::to_string(i);
                    ledger_->create(buy(id, 10));
                    ledger_->post(id);
                } catch (const std::exception& e) {
                    ++failures;
                    ADD_FAILURE() << e.what();
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(ledger_->account("alice").balance(), 900);
    EXPECT_EQ(ledger_->account("studio").balance(), 100);
    checked();
}

TEST_P(LedgerTest, CheckerNoticesTampering) {
    ledger_->create(buy("o1", 100, 0));
    ASSERT_TRUE(checkInvariants(db()).empty());
    db().write([](storage::Transaction& tx) {
        tx.execute("UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = 'studio'");
    });
    EXPECT_FALSE(checkInvariants(db()).empty());
    db().write([](storage::Transaction& tx) {
        tx.execute("UPDATE ledger_account SET credits_posted = credits_posted - 1 WHERE id = 'studio'");
        tx.execute("DELETE FROM ledger_resolution WHERE transfer_id = 'o1'");
    });
    const auto bad = checkInvariants(db());
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_NE(bad[0].find("o1"), std::string::npos);
    db().write([](storage::Transaction& tx) {
        tx.execute("INSERT INTO ledger_resolution (transfer_id, state, at) VALUES ('o1', 'posted', 0)");
    });
}

BOXOFFICE_SERVER_ON_BOTH_BACKENDS(LedgerTest);

} // namespace
