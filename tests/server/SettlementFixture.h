#pragma once
// A settlement world on one backend: the dev key set, a wallet account with
// money, a merchant, stb-1 and phone-1 registered to the wallet's account, one
// event on sale. Server time is a test clock.

#include "DevKeys.h"
#include "ServerBackend.h"

#include <boxoffice/ledger/Invariants.h>
#include <boxoffice/settlement/Settlement.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/trust/Signing.h>

#include <atomic>
#include <ctime>

namespace boxoffice::server::test {

class SettlementTest : public BackendTest {
protected:
    // Now, in seconds: the dev certificates are valid around the real time.
    const std::int64_t kStart = static_cast<std::int64_t>(::time(nullptr));

    void SetUp() override {
        BackendTest::SetUp();
        const auto& keys = DevKeys::get();
        ledger_ = std::make_unique<ledger::Ledger>(db(), [this] { return clock_.load() * 1000; });
        settlement_ = std::make_unique<settlement::Settlement>(*ledger_, settlement::Keys::load(keys.dir),
                                                               settlement::Options{60}, &revocations_);
        ledger_->open({"funding", ledger::AccountKind::Funding, "EUR", std::nullopt});
        ledger_->open({"acct-alice", ledger::AccountKind::Wallet, "EUR", std::nullopt});
        ledger_->open({"acct-bob", ledger::AccountKind::Wallet, "EUR", std::nullopt});
        ledger_->open({"studio", ledger::AccountKind::Merchant, "EUR", std::nullopt});
        ledger_->create({"dep-alice", "funding", "acct-alice", 5000, "EUR", 0, "deposit"});
        settlement_->registerDevice(trust::loadCertificate(keys.dir / "devices/stb-1/device.cert"), "acct-alice");
        settlement_->registerDevice(trust::loadCertificate(keys.dir / "devices/stb-2/device.cert"), "acct-bob");
        phone_ = std::make_unique<trust::Credentials>(trust::loadPhone(keys.dir / "phones/phone-1"));
        settlement_->registerPhone(phone_->certificate, "acct-alice");
        settlement_->putEvent(event());
        checked();
    }
    void TearDown() override {
        checked();
        settlement_.reset();
        ledger_.reset();
        BackendTest::TearDown();
    }

    settlement::Event event() const {
        settlement::Event e;
        e.eventId = "ev-1";
        e.title = "The Final";
        e.payee = "studio";
        e.price = 1200;
        e.currency = "EUR";
        e.saleFrom = kStart - 3600;
        e.saleUntil = kStart + 3600;
        e.startsAt = kStart + 1800;
        e.endsAt = kStart + 9000;
        e.previewSeconds = 120;
        e.eventKeyId = "ev-demo/1";
        return e;
    }

    // Ledger and settlement invariants hold.
    void checked() {
        auto bad = ledger::checkInvariants(db());
        auto more = db().read([](storage::Transaction& tx) { return settlement::Settlement::checkInvariants(tx); });
        bad.insert(bad.end(), more.begin(), more.end());
        EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
    }

    settlement::OrderView order(const std::string& id, const std::string& device = "stb-1", std::int64_t amount = 1200,
                                const std::string& method = "phone") {
        return settlement_->order(device, {id, "ev-1", amount, "EUR", method});
    }

    wire::Approval approval(const settlement::OrderView& o, wire::Decision decision = wire::Decision::Approve) {
        wire::Approval a;
        a.transactionNumber = o.transactionNumber;
        a.orderId = o.orderId;
        a.accountId = o.accountId;
        a.phoneId = phone_->certificate.subject;
        a.payee = o.payee;
        a.amount = o.amount;
        a.currency = o.currency;
        a.decision = decision;
        a.decidedAt = clock_.load();
        return a;
    }
    wire::Approval signedApproval(wire::Approval a) {
        trust::sign(a, phone_->key);
        return a;
    }
    // The operator revokes keys: a newer root-signed list, applied to the one the settlement checks.
    void revoke(std::vector<std::string> keyIds) {
        wire::RevocationList list;
        list.sequence = revocations_.rootSequence() + 1;
        list.issuedAt = clock_.load();
        list.nextUpdate = clock_.load() + 3600;
        list.revokedKeyIds = std::move(keyIds);
        trust::sign(list, trust::loadRootKey(DevKeys::get().dir / "root"));
        revocations_.apply(list, trust::loadTrustAnchor(DevKeys::get().dir / "root/root.json"));
    }

    wire::Acknowledgement acknowledgement(const settlement::OrderView& o) {
        wire::Acknowledgement k;
        k.receiptId = o.receipt->receiptId;
        k.orderId = o.orderId;
        k.phoneId = phone_->certificate.subject;
        k.acknowledgedAt = clock_.load();
        trust::sign(k, phone_->key);
        return k;
    }

    std::atomic<std::int64_t> clock_{kStart};
    static_assert(std::atomic<std::int64_t>::is_always_lock_free);
    trust::RevocationState revocations_;  // the server's root list: empty until a test revokes
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<settlement::Settlement> settlement_;
    std::unique_ptr<trust::Credentials> phone_;
};

} // namespace boxoffice::server::test
