// The one-time password on the second line (DESIGN §5 flow 4) on both backends;
// the ledger and settlement invariants are checked after every step, and every
// refusal leaves the balances as they were.

#include "SettlementFixture.h"

#include <boxoffice/settlement/Deliveries.h>
#include <boxoffice/settlement/Otp.h>

#include <algorithm>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::settlement;
using boxoffice::server::test::SettlementTest;

namespace {

class Otp : public SettlementTest {
protected:
    // The phone's view of the order's challenge (GET /v1/phone/otps).
    OtpChallenges::Challenge challenge(const std::string& orderId) {
        for (auto& c : settlement_->otp().challengesForPhone("phone-1"))
            if (c.order.orderId == orderId) return c;
        ADD_FAILURE() << "no challenge for " << orderId;
        return {};
    }
    wire::Approval acknowledged(const OrderView& o, const std::string& code) {
        auto a = approval(o);
        a.oneTimePassword = code;
        return signedApproval(a);
    }
    static std::string wrong(const std::string& otp) { return otp == "000000" ? "000001" : "000000"; }
    void unchanged() {
        EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
        EXPECT_EQ(ledger_->account("studio").balance(), 0);
        checked();
    }
};

TEST_P(Otp, PurchaseNeedsThePasswordOnTheStbAndTheAcknowledgeCodeFromThePhone) {
    auto o = order("o-1", "stb-1", 1200, "otp");
    ASSERT_TRUE(o.otp);
    EXPECT_EQ(o.otp->attemptsLeft, 3);
    EXPECT_FALSE(o.otp->entered);
    EXPECT_LE(o.otp->expiresAt, o.expiresAt);
    checked();
    const auto c = challenge("o-1");
    ASSERT_EQ(c.otp.size(), 6u);
    EXPECT_EQ(c.otp.find_first_not_of("0123456789"), std::string::npos);
    EXPECT_EQ(c.acknowledgeCode.size(), 10u);
    EXPECT_EQ(challenge("o-1").otp, c.otp); // the same challenge when fetched again

    // The phone's approval without the acknowledge code, or with a wrong one, is refused.
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(approval(o))), ErrorCode::PermissionDenied);
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", acknowledged(o, "AAAAAAAAAA")), ErrorCode::PermissionDenied);
    EXPECT_FALSE(settlement_->orderById("o-1").otp->acknowledged);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 3800);
    unchanged();

    // The acknowledge code alone does not sell.
    o = settlement_->approve("phone-1", acknowledged(o, c.acknowledgeCode));
    EXPECT_EQ(o.state, OrderState::Pending);
    EXPECT_TRUE(o.otp->acknowledged);
    EXPECT_FALSE(o.ticket);
    unchanged();
    // Only the ordering STB may enter the password.
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-2", "o-1", c.otp), ErrorCode::NotFound);
    unchanged();

    o = settlement_->otp().enter("stb-1", "o-1", c.otp);
    EXPECT_EQ(o.state, OrderState::Approved);
    ASSERT_TRUE(o.ticket && o.receipt);
    EXPECT_EQ(o.ticket->holderDeviceId, "stb-1");
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 3800);
    EXPECT_EQ(ledger_->account("studio").balance(), 1200);
    checked();
    // A retry answers the same; the challenge is gone from the phone's list.
    EXPECT_EQ(settlement_->otp().enter("stb-1", "o-1", c.otp).ticket->encode(), o.ticket->encode());
    EXPECT_TRUE(settlement_->otp().challengesForPhone("phone-1").empty());
    const auto due = settlement_->deliveries().due("stb-1");
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].kind, "purchase");
    EXPECT_EQ(due[0].ticket.ticketId, o.ticket->ticketId);
    // The receipt is acknowledged as in flow 3.
    EXPECT_EQ(settlement_->acknowledge("phone-1", acknowledgement(o)).state, OrderState::Closed);
    checked();
}

TEST_P(Otp, PasswordFirstThenTheAcknowledgeCodeCompletes) {
    auto o = order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    o = settlement_->otp().enter("stb-1", "o-1", c.otp);
    EXPECT_EQ(o.state, OrderState::Pending);
    EXPECT_TRUE(o.otp->entered);
    unchanged();
    const auto a = acknowledged(o, c.acknowledgeCode);
    o = settlement_->approve("phone-1", a);
    EXPECT_EQ(o.state, OrderState::Approved);
    EXPECT_EQ(settlement_->approve("phone-1", a).state, OrderState::Approved); // retry
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 3800);
    checked();
}

TEST_P(Otp, WrongPasswordsAreCountedAndTheLastOneFailsTheOrder) {
    order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    settlement_->approve("phone-1", acknowledged(settlement_->orderById("o-1"), c.acknowledgeCode));
    // Not a password at all: refused, not counted.
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", "12ab56"), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", "1234567"), ErrorCode::InvalidArgument);
    EXPECT_EQ(settlement_->orderById("o-1").otp->attemptsLeft, 3);
    const auto message = EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", wrong(c.otp)), ErrorCode::PermissionDenied);
    EXPECT_NE(message.find("2 attempt(s) left"), std::string::npos) << message;
    EXPECT_EQ(settlement_->orderById("o-1").otp->attemptsLeft, 2);
    unchanged();
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", wrong(c.otp)), ErrorCode::PermissionDenied);
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", wrong(c.otp)), ErrorCode::LimitExceeded);
    const auto failed = settlement_->orderById("o-1");
    EXPECT_EQ(failed.state, OrderState::Failed);
    EXPECT_EQ(failed.otp->attemptsLeft, 0);
    EXPECT_EQ(ledger_->transfer("order:o-1").state, ledger::TransferState::Voided);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    unchanged();
    // The right password is too late now.
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", c.otp), ErrorCode::Conflict);
    EXPECT_TRUE(settlement_->otp().challengesForPhone("phone-1").empty());
    unchanged();
}

TEST_P(Otp, ARetriedEntryIsCountedOnce) {
    order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    settlement_->approve("phone-1", acknowledged(settlement_->orderById("o-1"), c.acknowledgeCode));
    const auto typo = wrong(c.otp);
    auto message = EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", typo, "e-1"), ErrorCode::PermissionDenied);
    EXPECT_NE(message.find("2 attempt(s) left"), std::string::npos) << message;
    // The box's retry of the same entry: the same answer, not counted again.
    message = EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", typo, "e-1"), ErrorCode::PermissionDenied);
    EXPECT_NE(message.find("2 attempt(s) left"), std::string::npos) << message;
    EXPECT_EQ(settlement_->orderById("o-1").otp->attemptsLeft, 2);
    // The same id with another password is not a retry; nothing counted.
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", c.otp, "e-1"), ErrorCode::Conflict);
    EXPECT_EQ(settlement_->orderById("o-1").otp->attemptsLeft, 2);
    unchanged();
    // The same typo typed again is a new entry, counted.
    message = EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", typo, "e-2"), ErrorCode::PermissionDenied);
    EXPECT_NE(message.find("1 attempt(s) left"), std::string::npos) << message;
    // Only the last wrong entry's id is kept: an older one no longer short-cuts.
    message = EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", typo, "e-1"), ErrorCode::LimitExceeded);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Failed);
    // The retry of the entry that failed the order answers the same, not "the order is failed".
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", typo, "e-1"), ErrorCode::LimitExceeded);
    EXPECT_EQ(settlement_->orderById("o-1").otp->attemptsLeft, 0);
    EXPECT_EQ(ledger_->transfer("order:o-1").state, ledger::TransferState::Voided);
    unchanged();

    // A retry past the order's time answers 410 and expires it, like any entry then.
    order("o-3", "stb-1", 1200, "otp");
    const auto typo3 = wrong(challenge("o-3").otp);
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-3", typo3, "e-4"), ErrorCode::PermissionDenied);
    clock_ += 61; // the fixture's orders wait 60 s
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-3", typo3, "e-4"), ErrorCode::Expired);
    EXPECT_EQ(settlement_->orderById("o-3").state, OrderState::Expired);
    unchanged();

    // A right entry retried with its id answers the order both times.
    order("o-2", "stb-1", 1200, "otp");
    const auto c2 = challenge("o-2");
    settlement_->approve("phone-1", acknowledged(settlement_->orderById("o-2"), c2.acknowledgeCode));
    EXPECT_EQ(settlement_->otp().enter("stb-1", "o-2", c2.otp, "e-3").state, OrderState::Approved);
    EXPECT_EQ(settlement_->otp().enter("stb-1", "o-2", c2.otp, "e-3").state, OrderState::Approved);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 3800);
    checked();
}

TEST_P(Otp, ExpiredPasswordExpiresTheOrder) {
    order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    settlement_->approve("phone-1", acknowledged(settlement_->orderById("o-1"), c.acknowledgeCode));
    clock_ += 61; // the fixture's orders wait 60 s
    EXPECT_TRUE(settlement_->otp().challengesForPhone("phone-1").empty());
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", c.otp), ErrorCode::Expired);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Expired);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    unchanged();
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", c.otp), ErrorCode::Expired); // a retry answers the same
    unchanged();
}

// Once the sweep has expired an order, every retry answers 410, also one the server had
// already taken while the order was pending (the STB's entry, the phone's acknowledgement).
TEST_P(Otp, AfterExpiryEveryRetryAnswersExpired) {
    order("o-1", "stb-1", 1200, "otp");
    const auto c1 = challenge("o-1");
    EXPECT_EQ(settlement_->otp().enter("stb-1", "o-1", c1.otp).state, OrderState::Pending);  // no acknowledgement
    const auto o2 = order("o-2", "stb-1", 1200, "otp");
    const auto a2 = acknowledged(o2, challenge("o-2").acknowledgeCode);
    EXPECT_EQ(settlement_->approve("phone-1", a2).state, OrderState::Pending);  // no entry on the STB
    clock_ += 61;
    EXPECT_EQ(settlement_->expireDue(), 2u);
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", c1.otp), ErrorCode::Expired);
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a2), ErrorCode::Expired);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    unchanged();
}

TEST_P(Otp, PasswordWithoutTheAcknowledgeCodeNeverSells) {
    const auto o = order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    EXPECT_EQ(settlement_->otp().enter("stb-1", "o-1", c.otp).state, OrderState::Pending);
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(approval(o))), ErrorCode::PermissionDenied);
    unchanged();
    clock_ += 61;
    // The acknowledge code after the time is refused too.
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", acknowledged(o, c.acknowledgeCode)), ErrorCode::Expired);
    EXPECT_EQ(settlement_->expireDue(), 1u);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Expired);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    unchanged();
}

TEST_P(Otp, OrdersAboveTheThresholdNeedOneWithoutAsking) {
    Options options{60};
    options.otpAbove = 1000;
    Settlement strict(*ledger_, Keys::load(server::test::DevKeys::get().dir), options);
    EXPECT_TRUE(strict.order("stb-1", {"o-1", "ev-1", 1200, "EUR"}).otp.has_value());
    EXPECT_FALSE(order("o-2").otp.has_value()); // the fixture's settlement: only when asked
    EXPECT_BOX_ERROR(order("o-3", "stb-1", 1200, "sms"), ErrorCode::InvalidArgument);
    // Asking for a password on a retry of an order made without one is another order.
    EXPECT_BOX_ERROR(order("o-2", "stb-1", 1200, "otp"), ErrorCode::Conflict);
    checked();
}

TEST_P(Otp, NotMeVoidsBlocksInhibitsUntilTheHolderClears) {
    const auto o = order("o-1", "stb-1", 1200, "otp");
    auto a = approval(o, wire::Decision::NotMe);
    const auto done = settlement_->approve("phone-1", signedApproval(a));
    EXPECT_EQ(done.state, OrderState::NotMe);
    EXPECT_EQ(ledger_->transfer("order:o-1").state, ledger::TransferState::Voided);
    EXPECT_TRUE(ledger_->account("acct-alice").inhibited);
    EXPECT_BOX_ERROR(settlement_->checkDevice("stb-1"), ErrorCode::PermissionDenied);
    unchanged();
    // The password typed afterwards does nothing.
    EXPECT_BOX_ERROR(settlement_->otp().enter("stb-1", "o-1", "123456"), ErrorCode::Conflict);
    settlement_->unblockDevice("stb-1");
    const auto refusal = EXPECT_BOX_ERROR(order("o-2"), ErrorCode::PermissionDenied);
    EXPECT_NE(refusal.find("inhibited"), std::string::npos) << refusal;
    // The account holder clears it from the phone: the inhibition and the STB's block.
    EXPECT_EQ(settlement_->clearAccountByPhone("phone-1"), "acct-alice");
    EXPECT_FALSE(ledger_->account("acct-alice").inhibited);
    const auto o2 = order("o-2", "stb-1", 1200, "otp");
    EXPECT_EQ(o2.state, OrderState::Pending);
    EXPECT_EQ(settlement_->approve("phone-1", signedApproval(approval(o2, wire::Decision::NotMe))).state,
              OrderState::NotMe);
    EXPECT_BOX_ERROR(settlement_->checkDevice("stb-1"), ErrorCode::PermissionDenied);
    settlement_->clearAccountByPhone("phone-1");
    EXPECT_NO_THROW(settlement_->checkDevice("stb-1"));
    EXPECT_EQ(order("o-3").state, OrderState::Pending);
    unchanged();
}

TEST_P(Otp, NeitherCodeIsStored) {
    order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    const auto contains = [](const Bytes& haystack, const std::string& needle) {
        return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
    };
    db().read([&](storage::Transaction& tx) {
        for (const auto& r : tx.query("SELECT salt, otp_hash, ack_hash FROM stl_otp"))
            for (std::size_t i = 0; i < 3; ++i) {
                EXPECT_FALSE(contains(r.blob(i), c.otp));
                EXPECT_FALSE(contains(r.blob(i), c.acknowledgeCode));
            }
        return 0;
    });
    // Another server process with the same keys derives the same codes.
    Settlement other(*ledger_, Keys::load(server::test::DevKeys::get().dir), Options{60});
    const auto again = other.otp().challengesForPhone("phone-1");
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].otp, c.otp);
    EXPECT_EQ(again[0].acknowledgeCode, c.acknowledgeCode);
}

TEST_P(Otp, ConcurrentEntriesCountEveryWrongOneAndSellOnce) {
    order("o-1", "stb-1", 1200, "otp");
    const auto c = challenge("o-1");
    settlement_->approve("phone-1", acknowledged(settlement_->orderById("o-1"), c.acknowledgeCode));
    std::vector<std::thread> threads;
    std::atomic<int> sold{0};
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&] {
            try {
                if (settlement_->otp().enter("stb-1", "o-1", c.otp).state == OrderState::Approved) ++sold;
            } catch (const Error& e) {
                ADD_FAILURE() << e.what();
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(sold.load(), 3); // the first sells, the others answer the same
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 3800);
    checked();

    order("o-2", "stb-1", 1200, "otp");
    const auto c2 = challenge("o-2");
    threads.clear();
    std::atomic<int> refused{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            try {
                settlement_->otp().enter("stb-1", "o-2", wrong(c2.otp));
            } catch (const Error&) {
                ++refused;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(refused.load(), 4);
    // Three were counted (the last failed the order), the fourth met a failed order.
    EXPECT_EQ(settlement_->orderById("o-2").state, OrderState::Failed);
    EXPECT_EQ(settlement_->orderById("o-2").otp->attemptsLeft, 0);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 3800);
    checked();
}

BOXOFFICE_SERVER_ON_BOTH_BACKENDS(Otp);

} // namespace
