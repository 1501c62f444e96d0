// After the sale, on both backends: refunds that revoke their ticket, the signed
// revocation feed, gifts with vouchers and scheduled delivery, and the STB's ticket
// delivery queue. The ledger and settlement invariants are checked after every step.

#include "SettlementFixture.h"

#include <boxoffice/settlement/Deliveries.h>
#include <boxoffice/settlement/Gifts.h>
#include <boxoffice/settlement/Refunds.h>
#include <boxoffice/trust/Certificates.h>

#include <thread>

using namespace boxoffice;
using namespace boxoffice::settlement;
using boxoffice::server::test::SettlementTest;

namespace {

class AfterSale : public SettlementTest {
protected:
    trust::Credentials server() const {
        return trust::loadServerSigner(server::test::DevKeys::get().dir / "server");
    }
    OrderView bought(const std::string& id) {
        return settlement_->approve("phone-1", signedApproval(approval(order(id))));
    }
    GiftRequest gift(const std::string& id, std::int64_t deliverAt = 0) const {
        GiftRequest g;
        g.giftId = id;
        g.eventId = "ev-1";
        g.recipientDeviceId = "stb-2";
        g.amount = 1200;
        g.currency = "EUR";
        g.deliverAt = deliverAt;
        g.message = "Enjoy the final!";
        return g;
    }
    std::vector<std::string> dueIds(const std::string& device) {
        std::vector<std::string> out;
        for (const auto& d : settlement_->deliveries().due(device)) out.push_back(d.ticket.ticketId);
        return out;
    }
    void balances(std::int64_t alice, std::int64_t studio) {
        EXPECT_EQ(ledger_->account("acct-alice").balance(), alice);
        EXPECT_EQ(ledger_->account("studio").balance(), studio);
        checked();
    }
};

TEST_P(AfterSale, ApprovedTicketsWaitInTheQueueUntilAcknowledged) {
    const auto o = bought("o-1");
    ASSERT_EQ(dueIds("stb-1"), std::vector<std::string>{o.ticket->ticketId});
    EXPECT_TRUE(dueIds("stb-2").empty());
    const auto d = settlement_->deliveries().due("stb-1").front();
    EXPECT_EQ(d.ticket.encode(), o.ticket->encode());
    // Another device cannot remove it; the holder can, once (a retry removes nothing).
    EXPECT_EQ(settlement_->deliveries().acknowledge("stb-2", {d.deliveryId}), 0u);
    EXPECT_EQ(settlement_->deliveries().acknowledge("stb-1", {d.deliveryId, "d-unknown"}), 1u);
    EXPECT_EQ(settlement_->deliveries().acknowledge("stb-1", {d.deliveryId}), 0u);
    EXPECT_TRUE(dueIds("stb-1").empty());
    checked();
}

TEST_P(AfterSale, RefundReversesTheTransferAndRevokesTheTicket) {
    const auto o = bought("o-1");
    bought("o-2");
    balances(5000 - 2400, 2400);
    const auto r = settlement_->refunds().refund("rf-1", "o-1", "broadcast failed");
    EXPECT_EQ(r.ticketId, o.ticket->ticketId);
    EXPECT_EQ(r.amount, 1200);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Refunded);
    EXPECT_EQ(ledger_->transfer("refund:rf-1").state, ledger::TransferState::Posted);
    EXPECT_EQ(ledger_->transfer("order:o-1").state, ledger::TransferState::Posted); // reversed, not rewritten
    balances(5000 - 1200, 1200);
    // Idempotent by refund id; one refund per order.
    EXPECT_EQ(settlement_->refunds().refund("rf-1", "o-1", "broadcast failed").refundedAt, r.refundedAt);
    EXPECT_BOX_ERROR(settlement_->refunds().refund("rf-1", "o-2", "broadcast failed"), ErrorCode::Conflict);
    EXPECT_BOX_ERROR(settlement_->refunds().refund("rf-2", "o-1", "again"), ErrorCode::Conflict);
    EXPECT_BOX_ERROR(settlement_->refunds().refund("rf-3", "o-none", ""), ErrorCode::NotFound);
    EXPECT_BOX_ERROR(settlement_->refunds().refund("bad id!", "o-2", ""), ErrorCode::InvalidArgument);
    // 65..80 bytes passed the ledger's id check and then broke the 80-byte id of
    // its transfer ("refund:<id>"): refused up front with the wire limit.
    const auto refused = [&] {
        try {
            settlement_->refunds().refund(std::string(wire::maxIdSize + 1, 'r'), "o-2", "");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    }();
    EXPECT_NE(refused.find("refund id must be 1..64"), std::string::npos) << refused;
    order("o-3");
    EXPECT_BOX_ERROR(settlement_->refunds().refund("rf-3", "o-3", ""), ErrorCode::Conflict); // still pending
    balances(5000 - 1200, 1200);
    // The revoked ticket is no longer delivered.
    EXPECT_EQ(dueIds("stb-1"), std::vector<std::string>{"t-o-2"});
}

TEST_P(AfterSale, RevocationFeedIsSignedByTheServerAndOnlyGrows) {
    auto list = settlement_->refunds().revocations();
    EXPECT_TRUE(list.revokedTicketIds.empty());
    const auto first = list.sequence;
    const auto o = bought("o-1");
    settlement_->refunds().refund("rf-1", "o-1", "");
    list = settlement_->refunds().revocations();
    EXPECT_GT(list.sequence, first);
    EXPECT_EQ(list.revokedTicketIds, std::vector<std::string>{o.ticket->ticketId});
    EXPECT_GT(list.nextUpdate, list.issuedAt);
    // The STB's check: the server certificate from the operator root, the list signed by it.
    const auto decoded = wire::RevocationList::decode(list.encode());
    const auto& keys = server::test::DevKeys::get().dir;
    const auto root = trust::loadTrustAnchor(keys / "root" / "root.json");
    const auto certificate = server().certificate;
    EXPECT_NO_THROW(trust::verifyCertificate(certificate, root, wire::CertificateRole::Server, clock_.load()));
    EXPECT_NO_THROW(trust::verifySignature(decoded, trust::VerifyingKey::fromCertificate(certificate)));
    auto forged = decoded;
    forged.revokedTicketIds.clear();
    EXPECT_BOX_ERROR(trust::verifySignature(forged, trust::VerifyingKey::fromCertificate(certificate)),
                     ErrorCode::BadSignature);
    // Once the event has ended its tickets open nothing: left out, the sequence stays.
    clock_ += 9001;
    const auto later = settlement_->refunds().revocations();
    EXPECT_TRUE(later.revokedTicketIds.empty());
    EXPECT_EQ(later.sequence, list.sequence);
    checked();
}

TEST_P(AfterSale, GiftIsDeliveredToTheRecipientOnlyAndNotBeforeItsTime) {
    const auto at = clock_.load() + 600;
    const auto g = settlement_->gifts().give("phone-1", gift("g-1", at));
    EXPECT_EQ(g.buyerAccountId, "acct-alice");
    EXPECT_EQ(g.recipientAccountId, "acct-bob");
    EXPECT_EQ(g.recipientDeviceId, "stb-2");
    EXPECT_EQ(g.deliverAt, at);
    balances(3800, 1200);
    EXPECT_EQ(ledger_->account("acct-bob").balance(), 0); // a gift costs the recipient nothing

    // The voucher and the receipt: the server's, for this gift.
    const auto key = trust::VerifyingKey::fromCertificate(server().certificate);
    const auto voucher = wire::Voucher::decode(g.voucher.encode());
    EXPECT_NO_THROW(trust::verifySignature(voucher, key));
    EXPECT_EQ(voucher.eventId, "ev-1");
    EXPECT_EQ(voucher.recipientAccountId, "acct-bob");
    EXPECT_EQ(voucher.recipientDeviceId, "stb-2");
    EXPECT_EQ(voucher.deliverAt, at);
    EXPECT_TRUE(voucher.sealedMessage.empty());
    EXPECT_NO_THROW(trust::verifySignature(g.receipt, key));
    EXPECT_EQ(g.receipt.amount, 1200);
    EXPECT_EQ(g.receipt.ticketId, voucher.ticketId);

    // Not yet, and never to the buyer's STB.
    EXPECT_TRUE(dueIds("stb-2").empty());
    EXPECT_TRUE(dueIds("stb-1").empty());
    EXPECT_EQ(settlement_->deliveries().acknowledge("stb-2", {"d-" + voucher.ticketId}), 0u); // not due: stays
    clock_ += 599;
    EXPECT_TRUE(dueIds("stb-2").empty());
    clock_ += 1;
    const auto due = settlement_->deliveries().due("stb-2");
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].kind, "scheduled");
    EXPECT_EQ(due[0].ticket.ticketId, voucher.ticketId);
    EXPECT_EQ(due[0].ticket.holderDeviceId, "stb-2");
    EXPECT_NO_THROW(trust::verifySignature(due[0].ticket,
                                           trust::VerifyingKey::fromCertificate(due[0].ticket.issuerCertificate)));
    EXPECT_TRUE(dueIds("stb-1").empty());
    EXPECT_FALSE(settlement_->gifts().vouchersOf("phone-1").front().delivered);
    EXPECT_EQ(settlement_->deliveries().acknowledge("stb-2", {due[0].deliveryId}), 1u);
    EXPECT_TRUE(settlement_->gifts().vouchersOf("phone-1").front().delivered);
    checked();
}

TEST_P(AfterSale, GiftIsIdempotentByItsId) {
    const auto g = settlement_->gifts().give("phone-1", gift("g-1"));
    clock_ += 5;
    const auto again = settlement_->gifts().give("phone-1", gift("g-1"));
    EXPECT_EQ(again.voucher.encode(), g.voucher.encode());
    auto other = gift("g-1");
    other.message = "another message";
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", other), ErrorCode::Conflict);
    other = gift("g-1");
    other.recipientDeviceId.clear();
    other.recipientAccountId = "acct-bob";
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", other), ErrorCode::Conflict);
    balances(3800, 1200);
    EXPECT_EQ(settlement_->gifts().vouchersOf("phone-1").size(), 1u);
    // Due at once, as a gift.
    const auto due = settlement_->deliveries().due("stb-2");
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].kind, "gift");
    // By account: bob has exactly one STB.
    auto byAccount = gift("g-2");
    byAccount.recipientDeviceId.clear();
    byAccount.recipientAccountId = "acct-bob";
    EXPECT_EQ(settlement_->gifts().give("phone-1", byAccount).recipientDeviceId, "stb-2");
    balances(2600, 2400);
}

TEST_P(AfterSale, RefusedGiftsChangeNothing) {
    auto g = gift("g-1");
    g.recipientDeviceId = "stb-none";
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::NotFound);
    g = gift("g-1");
    g.recipientDeviceId.clear(); // no recipient
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::InvalidArgument);
    g = gift("g-1");
    g.recipientAccountId = "acct-alice"; // the device is not alice's
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::NotFound);
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", gift("g-1", clock_.load() - 10)), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", gift("g-1", clock_.load() + 100000)), ErrorCode::InvalidArgument);
    g = gift("g-1");
    g.amount = 1100;
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::Conflict);
    g.amount = -1200;
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::InvalidArgument);
    g = gift("bad id!");
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-unknown", gift("g-1")), ErrorCode::PermissionDenied);
    // Not enough money: an event dearer than alice's wallet.
    auto dear = event();
    dear.eventId = "ev-dear";
    dear.price = 6000;
    settlement_->putEvent(dear);
    g = gift("g-1");
    g.eventId = "ev-dear";
    g.amount = 6000;
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", g), ErrorCode::LimitExceeded);
    // An inhibited buyer.
    ledger_->setInhibited("acct-alice", true);
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", gift("g-1")), ErrorCode::PermissionDenied);
    ledger_->setInhibited("acct-alice", false);
    // A recipient STB whose key is revoked: the ticket could never be delivered
    // (checkDevice refuses the box), so nothing is charged.
    const auto stb2 = trust::loadCertificate(server::test::DevKeys::get().dir / "devices/stb-2/device.cert");
    revoke({stb2.keyId});
    EXPECT_BOX_ERROR(settlement_->gifts().give("phone-1", gift("g-1")), ErrorCode::Revoked);
    revoke({});

    balances(5000, 0);
    EXPECT_TRUE(settlement_->gifts().vouchersOf("phone-1").empty());
    EXPECT_TRUE(dueIds("stb-2").empty());
    // The id is still free.
    EXPECT_EQ(settlement_->gifts().give("phone-1", gift("g-1")).recipientDeviceId, "stb-2");
    balances(3800, 1200);
}

TEST_P(AfterSale, ConcurrentDuplicateGiftsAndRefundsHaveOneEffect) {
    bought("o-1");
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&] {
            try {
                for (int i = 0; i < 3; ++i) settlement_->gifts().give("phone-1", gift("g-" + std::to_string(i)));
                settlement_->refunds().refund("rf-1", "o-1", "");
            } catch (const Error& e) {
                ++errors;
                ADD_FAILURE() << e.what();
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    balances(5000 - 3 * 1200, 3 * 1200);
    EXPECT_EQ(settlement_->gifts().vouchersOf("phone-1").size(), 3u);
    EXPECT_EQ(settlement_->deliveries().due("stb-2").size(), 3u);
    EXPECT_EQ(settlement_->refunds().revocations().revokedTicketIds.size(), 1u);
}

BOXOFFICE_SERVER_ON_BOTH_BACKENDS(AfterSale);

} // namespace
