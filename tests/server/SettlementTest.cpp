// Settlement with the phone (DESIGN §5 flow 3) on both backends; the ledger and
// settlement invariants are checked after every step.

#include "SettlementFixture.h"

#include <boxoffice/crypto/P256.h>
#include <boxoffice/trust/SealedApproval.h>

#include <functional>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::settlement;
using boxoffice::server::test::SettlementTest;

namespace {

using Purchase = SettlementTest;

TEST_P(Purchase, OrderApproveTicketReceiptAcknowledge) {
    auto o = order("o-1");
    EXPECT_EQ(o.state, OrderState::Pending);
    EXPECT_EQ(o.transactionNumber.size(), 12u);
    EXPECT_EQ(o.accountId, "acct-alice");
    EXPECT_EQ(ledger_->account("acct-alice").available(), 3800);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
    checked();

    o = settlement_->approve("phone-1", signedApproval(approval(o)));
    EXPECT_EQ(o.state, OrderState::Approved);
    ASSERT_TRUE(o.ticket && o.receipt);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 3800);
    EXPECT_EQ(ledger_->account("studio").balance(), 1200);
    checked();

    // The ticket is the issuer's, for stb-1, for this order and event.
    const auto& t = *o.ticket;
    EXPECT_EQ(t.holderDeviceId, "stb-1");
    EXPECT_EQ(t.orderId, "o-1");
    EXPECT_EQ(t.eventId, "ev-1");
    EXPECT_EQ(t.previewSeconds, 120u);
    EXPECT_EQ(t.viewsLeft, wire::unlimitedViews);   // the event sets no views and no rental window
    EXPECT_EQ(t.playbackWindow, 0u);
    EXPECT_NO_THROW(trust::verifySignature(t, trust::VerifyingKey::fromCertificate(t.issuerCertificate)));
    EXPECT_FALSE(t.sealedEventKey.empty());
    // The receipt is the server's.
    const auto server = trust::loadServerSigner(server::test::DevKeys::get().dir / "server");
    EXPECT_NO_THROW(trust::verifySignature(*o.receipt, server.key.verifyingKey()));
    EXPECT_EQ(o.receipt->amount, 1200);
    EXPECT_EQ(o.receipt->ticketId, t.ticketId);

    o = settlement_->acknowledge("phone-1", acknowledgement(o));
    EXPECT_EQ(o.state, OrderState::Closed);
    checked();
    EXPECT_EQ(settlement_->ordersOfAccount("acct-alice").size(), 1u);
}

// approve() signs the ticket and receipt before its write transaction (not in the one
// writer every purchase waits for); the transaction stores them only if they are this
// order's and made from the event and holder certificate it reads itself.
TEST_P(Purchase, TicketSignedAheadIsStoredOnlyIfStillCurrent) {
    const auto complete = [&](const OrderView& o, const Settlement::PreparedPurchase& prepared) {
        const auto approvalBytes = signedApproval(approval(o)).encode();
        return db().write([&](storage::Transaction& tx) {
            return settlement_->completePurchase(tx, o, "phone-1", approvalBytes, &prepared);
        });
    };
    const auto issuer = [](const wire::Ticket& t) { return trust::VerifyingKey::fromCertificate(t.issuerCertificate); };

    const auto first = order("o-1");
    const auto prepared = settlement_->preparePurchase(first);
    ASSERT_TRUE(prepared);
    auto done = complete(first, *prepared);
    EXPECT_EQ(done.state, OrderState::Approved);
    EXPECT_EQ(done.ticket->encode(), prepared->ticket.encode());
    EXPECT_EQ(done.receipt->encode(), prepared->receipt.encode());
    checked();

    // The operator moves the event between signing and the transaction: issued again.
    const auto second = order("o-2");
    const auto stale = settlement_->preparePurchase(second);
    ASSERT_TRUE(stale);
    auto moved = event();
    moved.endsAt += 600;
    settlement_->putEvent(moved);
    done = complete(second, *stale);
    EXPECT_EQ(done.ticket->notAfter, moved.endsAt);
    EXPECT_NO_THROW(trust::verifySignature(*done.ticket, issuer(*done.ticket)));
    EXPECT_EQ(done.receipt->ticketId, done.ticket->ticketId);
    checked();

    // Another order's are never used.
    const auto third = order("o-3");
    done = complete(third, *stale);
    EXPECT_EQ(done.ticket->orderId, "o-3");
    EXPECT_EQ(done.receipt->orderId, "o-3");
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 3 * 1200);
    checked();
}

TEST_P(Purchase, RetriesAnswerTheSameAndHaveOneEffect) {
    const auto first = order("o-1");
    clock_ += 3;
    const auto again = order("o-1");
    EXPECT_EQ(again.transactionNumber, first.transactionNumber);
    EXPECT_EQ(again.createdAt, first.createdAt);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 3800);
    EXPECT_BOX_ERROR(order("o-1", "stb-1", 1300), ErrorCode::Conflict);
    checked();

    const auto a = signedApproval(approval(first));
    const auto approved = settlement_->approve("phone-1", a);
    const auto retried = settlement_->approve("phone-1", a);
    EXPECT_EQ(retried.ticket->encode(), approved.ticket->encode());
    EXPECT_EQ(retried.receipt->encode(), approved.receipt->encode());
    // A different decision after the fact is refused.
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(approval(first, wire::Decision::NotMe))),
                     ErrorCode::Conflict);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 3800);
    EXPECT_FALSE(ledger_->account("acct-alice").inhibited);
    const auto ack = acknowledgement(approved);
    settlement_->acknowledge("phone-1", ack);
    EXPECT_EQ(settlement_->acknowledge("phone-1", ack).state, OrderState::Closed);
    checked();
}

TEST_P(Purchase, MismatchedApprovalsAreRejectedAndChangeNothing) {
    const auto o = order("o-1");
    auto a = approval(o);
    a.amount = 1;
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(a)), ErrorCode::Conflict);
    a = approval(o);
    a.transactionNumber = "AAAAAAAAAAAA";
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(a)), ErrorCode::NotFound);
    a = approval(o);
    a.payee = "someone-else";
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(a)), ErrorCode::Conflict);
    a = approval(o);
    a.currency = "USD";
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(a)), ErrorCode::Conflict);
    a = approval(o);
    a.orderId = "o-2";
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(a)), ErrorCode::Conflict);
    // Signed, then altered: the signature no longer covers it.
    a = signedApproval(approval(o));
    a.amount = 1200 - 1;
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a), ErrorCode::BadSignature);
    // Signed by a key that is not the phone's registered one.
    a = approval(o);
    trust::sign(a, trust::SigningKey(phone_->key.keyId(), crypto::P256PrivateKey::generate()));
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a), ErrorCode::BadSignature);
    // Sent by another phone than the one named.
    EXPECT_BOX_ERROR(settlement_->approve("phone-9", signedApproval(approval(o))), ErrorCode::WrongAudience);
    // The phone of another account cannot approve alice's order.
    settlement_->registerPhone(phone_->certificate, "acct-bob");
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(approval(o))), ErrorCode::WrongAudience);
    settlement_->registerPhone(phone_->certificate, "acct-alice");

    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Pending);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
    EXPECT_EQ(ledger_->account("studio").balance(), 0);
    checked();
    EXPECT_EQ(settlement_->approve("phone-1", signedApproval(approval(o))).state, OrderState::Approved);
}

// Flow 3 without the phone's line: the STB relays the approval sealed to the server. Only
// this server opens it, only for the relaying STB's order; nothing changes otherwise.
TEST_P(Purchase, RelayedApprovalsAreSealedToThisServerAndForTheRelayingStb) {
    const auto& keys = server::test::DevKeys::get();
    const auto serverCertificate = trust::loadCertificate(keys.dir / "server/server.cert");
    const auto o = order("o-1");
    const auto sealed = trust::sealApproval(signedApproval(approval(o)), serverCertificate);

    // Relayed by another STB than the one that ordered.
    EXPECT_BOX_ERROR(settlement_->approveRelayed("stb-2", sealed), ErrorCode::WrongAudience);
    // Sealed to another operator's server: its key id is not ours, or the box does not open.
    const auto foreign = trust::loadCertificate(keys.foreign / "server/server.cert");
    const auto foreignSealed = trust::sealApproval(signedApproval(approval(o)), foreign);
    const auto code = [&] {
        try {
            settlement_->approveRelayed("stb-1", foreignSealed);
        } catch (const Error& e) {
            return e.code();
        }
        return ErrorCode::Internal;
    }();
    EXPECT_TRUE(code == ErrorCode::WrongAudience || code == ErrorCode::BadSignature) << toString(code);
    // Altered in transit.
    auto altered = sealed;
    altered[altered.size() - 5] ^= 0x80;
    EXPECT_BOX_ERROR(settlement_->approveRelayed("stb-1", altered), ErrorCode::BadSignature);
    // Sealed, but the approval inside does not match the transaction.
    auto cheap = approval(o);
    cheap.amount = 1;
    EXPECT_BOX_ERROR(settlement_->approveRelayed("stb-1", trust::sealApproval(signedApproval(cheap), serverCertificate)),
                     ErrorCode::Conflict);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Pending);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
    checked();

    const auto approved = settlement_->approveRelayed("stb-1", sealed);
    EXPECT_EQ(approved.state, OrderState::Approved);
    ASSERT_TRUE(approved.receipt);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 1200);
    EXPECT_EQ(ledger_->account("studio").balance(), 1200);
    checked();
    // The same envelope relayed again (an STB retry) answers the same, with one effect.
    EXPECT_EQ(settlement_->approveRelayed("stb-1", sealed).state, OrderState::Approved);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 1200);
}

// After `keytool server rotate` a box that has not learnt the new certificate yet relays an
// approval sealed to the old key: the server keeps that agreement key retired and opens it.
TEST_P(Purchase, ApprovalsSealedToARetiredServerKeyStillOpen) {
    const auto& keys = server::test::DevKeys::get();
    const auto rotated = keys.dir.parent_path() / ("rotated-" + std::to_string(::getpid()) + "-" +
                                                   std::to_string(GetParam() == storage::Backend::Postgres));
    server::test::rotatedServerKeys(rotated);
    settlement::Settlement afterRotation(*ledger_, settlement::Keys::load(rotated), settlement::Options{60});
    const auto old = trust::loadCertificate(keys.dir / "server/server.cert");
    const auto current = trust::loadCertificate(rotated / "server/server.cert");
    ASSERT_NE(old.keyId, current.keyId);

    const auto o1 = order("o-1");
    EXPECT_EQ(afterRotation.approveRelayed("stb-1", trust::sealApproval(signedApproval(approval(o1)), old)).state,
              OrderState::Approved);
    const auto o2 = order("o-2");
    EXPECT_EQ(afterRotation.approveRelayed("stb-1", trust::sealApproval(signedApproval(approval(o2)), current)).state,
              OrderState::Approved);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 2 * 1200);
    checked();
    std::filesystem::remove_all(rotated);
}

TEST_P(Purchase, ApprovalAfterExpiryIsRefused) {
    const auto o = order("o-1");
    const auto a = signedApproval(approval(o));
    clock_ += 61;
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a), ErrorCode::Expired);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Expired);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    checked();
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a), ErrorCode::Expired); // a retry answers the same

    // Expired by the sweep before the phone answered: the same 410, not a conflict.
    const auto second = order("o-2");
    clock_ += 61;
    EXPECT_EQ(settlement_->expireDue(), 1u);
    EXPECT_EQ(settlement_->orderById("o-2").state, OrderState::Expired);
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(approval(second))), ErrorCode::Expired);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    checked();
}

// A registered phone's or STB's certificate is checked each time its key is used, not only
// when it was registered: once the operator revokes the key, or the certificate expires,
// every path refuses it (the phone's signed requests, approvals over its line or relayed
// by the STB, acknowledgements, the STB's requests) and nothing changes.
TEST_P(Purchase, RevokedOrExpiredCertificatesAreRefusedWhereverTheyAreUsed) {
    const auto& keys = server::test::DevKeys::get();
    const auto o = order("o-1");
    const auto a = signedApproval(approval(o));
    const auto sealed = trust::sealApproval(a, trust::loadCertificate(keys.dir / "server/server.cert"));
    const auto done = settlement_->approve("phone-1", signedApproval(approval(order("o-2"))));
    ASSERT_TRUE(settlement_->phoneKey("phone-1"));
    checked();

    revoke({phone_->certificate.keyId});
    EXPECT_FALSE(settlement_->phoneKey("phone-1"));  // its signed requests no longer verify
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a), ErrorCode::Revoked);
    EXPECT_BOX_ERROR(settlement_->approveRelayed("stb-1", sealed), ErrorCode::Revoked);
    EXPECT_BOX_ERROR(settlement_->acknowledge("phone-1", acknowledgement(done)), ErrorCode::Revoked);
    EXPECT_BOX_ERROR(settlement_->registerPhone(phone_->certificate, "acct-alice"), ErrorCode::Revoked);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Pending);
    EXPECT_EQ(settlement_->orderById("o-2").state, OrderState::Approved);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000 - 2 * 1200);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 1200);
    checked();

    // The STB's key revoked: its requests are refused.
    const auto stb = trust::loadCertificate(keys.dir / "devices/stb-1/device.cert");
    EXPECT_NO_THROW(settlement_->checkDevice("stb-1"));
    revoke({phone_->certificate.keyId, stb.keyId});
    EXPECT_BOX_ERROR(settlement_->checkDevice("stb-1"), ErrorCode::Revoked);
    EXPECT_NO_THROW(settlement_->checkDevice("stb-2"));
}

TEST_P(Purchase, AnExpiredPhoneCertificateApprovesNothing) {
    const auto o = order("o-1");
    clock_ = phone_->certificate.notAfter;
    const auto a = signedApproval(approval(o));
    EXPECT_FALSE(settlement_->phoneKey("phone-1"));
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", a), ErrorCode::Expired);
    const auto sealed =
        trust::sealApproval(a, trust::loadCertificate(server::test::DevKeys::get().dir / "server/server.cert"));
    EXPECT_BOX_ERROR(settlement_->approveRelayed("stb-1", sealed), ErrorCode::Expired);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
    EXPECT_EQ(ledger_->account("studio").balance(), 0);
}

TEST_P(Purchase, DeclineVoidsNotMeAlsoBlocksAndInhibits) {
    auto o = settlement_->approve("phone-1", signedApproval(approval(order("o-1"), wire::Decision::Decline)));
    EXPECT_EQ(o.state, OrderState::Declined);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    checked();

    o = settlement_->approve("phone-1", signedApproval(approval(order("o-2"), wire::Decision::NotMe)));
    EXPECT_EQ(o.state, OrderState::NotMe);
    EXPECT_FALSE(o.ticket.has_value());
    EXPECT_TRUE(ledger_->account("acct-alice").inhibited);
    EXPECT_BOX_ERROR(settlement_->checkDevice("stb-1"), ErrorCode::PermissionDenied);
    EXPECT_BOX_ERROR(order("o-3"), ErrorCode::PermissionDenied);
    settlement_->unblockDevice("stb-1");
    EXPECT_BOX_ERROR(order("o-3"), ErrorCode::PermissionDenied); // account still inhibited
    settlement_->clearAccount("acct-alice");
    EXPECT_EQ(order("o-3").state, OrderState::Pending);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
    checked();
}

// "Not me" inhibits accounting on the account: another order it placed before the report
// cannot be approved and charged either, until the account is cleared.
TEST_P(Purchase, NotMeAlsoStopsTheAccountsOtherPendingOrders) {
    const auto first = order("o-1");
    const auto second = order("o-2");
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000 - 2 * 1200);
    settlement_->approve("phone-1", signedApproval(approval(first, wire::Decision::NotMe)));
    checked();
    EXPECT_BOX_ERROR(settlement_->approve("phone-1", signedApproval(approval(second))), ErrorCode::PermissionDenied);
    EXPECT_EQ(settlement_->orderById("o-2").state, OrderState::Pending);
    EXPECT_FALSE(settlement_->orderById("o-2").ticket.has_value());
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000);
    EXPECT_EQ(ledger_->account("studio").balance(), 0);
    checked();
    settlement_->clearAccount("acct-alice");
    EXPECT_EQ(settlement_->approve("phone-1", signedApproval(approval(second))).state, OrderState::Approved);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 1200);
    checked();
}

TEST_P(Purchase, OrdersOutsideTheOfferAreRefused) {
    EXPECT_BOX_ERROR(order("o-1", "stb-1", 1100), ErrorCode::Conflict);     // not the catalog price
    EXPECT_BOX_ERROR(order("o-1", "stb-unknown"), ErrorCode::PermissionDenied);
    EXPECT_BOX_ERROR(order("bad id!"), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(order("o-1", "stb-1", -1200), ErrorCode::InvalidArgument);
    EXPECT_BOX_ERROR(settlement_->order("stb-1", {"o-1", "ev-none", 1200, "EUR"}), ErrorCode::NotFound);
    auto e = event();
    e.blackout = true;
    settlement_->putEvent(e);
    EXPECT_BOX_ERROR(order("o-1"), ErrorCode::PermissionDenied);
    e.blackout = false;
    settlement_->putEvent(e);
    clock_ += 3600;
    EXPECT_BOX_ERROR(order("o-1"), ErrorCode::Expired);
    // Insufficient funds: bob has nothing.
    clock_ -= 3600;
    EXPECT_BOX_ERROR(order("o-b", "stb-2"), ErrorCode::LimitExceeded);
    EXPECT_EQ(ledger_->account("acct-alice").available(), 5000);
    EXPECT_TRUE(settlement_->ordersOfAccount("acct-alice").empty());
}

// An event's views and rental window go into its tickets; values a ticket cannot carry
// are refused and leave the event as it was.
TEST_P(Purchase, TheEventsViewsAndRentalWindowGoIntoItsTickets) {
    auto e = event();
    e.views = 2;
    e.playbackWindow = 48 * 3600;
    settlement_->putEvent(e);
    for (const auto& [views, window] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {-1, 0}, {wire::unlimitedViews, 0}, {1, -1}, {1, std::int64_t{wire::maxPlaybackWindow} + 1}}) {
        auto bad = e;
        bad.views = views;
        bad.playbackWindow = window;
        EXPECT_BOX_ERROR(settlement_->putEvent(bad), ErrorCode::InvalidArgument);
    }
    ASSERT_EQ(settlement_->events().size(), 1u);
    EXPECT_EQ(settlement_->events()[0], e);

    auto o = settlement_->approve("phone-1", signedApproval(approval(order("o-1"))));
    ASSERT_TRUE(o.ticket);
    EXPECT_EQ(o.ticket->viewsLeft, 2u);
    EXPECT_EQ(o.ticket->playbackWindow, 48u * 3600);
    checked();
}

TEST_P(Purchase, EventsThatCannotGoIntoATicketAreRefusedWhenPut) {
    // Each of these once passed putEvent and failed only when the phone approved
    // an order (the ticket's encoding refused it), with the wallet's funds held.
    const auto e = event();
    const std::string longId(wire::maxIdSize + 1, 'x');  // the ledger takes up to 80
    std::vector<std::function<void(Event&)>> edits = {
        [&](Event& b) { b.eventId = longId; },
        [&](Event& b) { b.payee = longId; },
        [&](Event& b) { b.eventKeyId = "key with spaces"; },
        [](Event& b) { b.saleFrom = -10; },
        [](Event& b) { b.startsAt = -10; },
        [](Event& b) { b.endsAt = wire::maxTime + 1; },
        [](Event& b) { b.saleUntil = wire::maxTime + 1; },
        [](Event& b) { b.previewSeconds = std::int64_t{wire::maxPreviewSeconds} + 1; },
        [](Event& b) { b.previewSeconds = std::int64_t{1} << 32; },  // once cut to 0 on the way into a ticket
    };
    for (std::size_t i = 0; i < edits.size(); ++i) {
        auto bad = e;
        bad.eventId = "ev-bad-" + std::to_string(i);
        edits[i](bad);
        SCOPED_TRACE("edit " + std::to_string(i));
        EXPECT_BOX_ERROR(settlement_->putEvent(bad), ErrorCode::InvalidArgument);
    }
    ASSERT_EQ(settlement_->events().size(), 1u);  // the fixture's event only
    EXPECT_EQ(settlement_->events()[0], e);
    checked();
}

TEST_P(Purchase, AcknowledgementMustMatchTheReceipt) {
    auto o = settlement_->approve("phone-1", signedApproval(approval(order("o-1"))));
    auto k = acknowledgement(o);
    k.receiptId = "r-other";
    trust::sign(k, phone_->key);
    EXPECT_BOX_ERROR(settlement_->acknowledge("phone-1", k), ErrorCode::Conflict);
    k = acknowledgement(o);
    k.orderId = "o-1";
    k.signature[0] ^= 1;
    EXPECT_BOX_ERROR(settlement_->acknowledge("phone-1", k), ErrorCode::BadSignature);
    EXPECT_EQ(settlement_->orderById("o-1").state, OrderState::Approved);
}

TEST_P(Purchase, ConcurrentDuplicateOrdersAndApprovalsHaveOneEffect) {
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 4; ++i) {
                try {
                    const auto o = order("c-" + std::to_string(i));
                    auto a = approval(o);
                    a.decidedAt = kStart; // same bytes from every thread: the phone's one approval
                    settlement_->approve("phone-1", signedApproval(a));
                } catch (const Error& e) {
                    ++errors;
                    ADD_FAILURE() << e.what();
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(ledger_->account("acct-alice").balance(), 5000 - 4 * 1200);
    EXPECT_EQ(ledger_->account("studio").balance(), 4 * 1200);
    checked();
}

TEST_P(Purchase, DeviceCodeRegistrationBindsTheStbToThePhonesAccount) {
    const auto& keys = server::test::DevKeys::get().dir;
    // stb-revoked is only a device nobody registered here: this fixture's revocation list
    // is empty (the server's own revokes it: ServerProcessTest.ARevokedDeviceCannotBeRegistered).
    const auto certificate = trust::loadCertificate(keys / "devices/stb-revoked/device.cert");
    // A certificate that is not the TLS client's own is refused.
    EXPECT_BOX_ERROR(settlement_->startRegistration("stb-9", certificate), ErrorCode::WrongAudience);
    const auto started = settlement_->startRegistration("stb-revoked", certificate);
    EXPECT_EQ(started.code.size(), 8u);
    EXPECT_EQ(settlement_->startRegistration("stb-revoked", certificate).code, started.code); // same pending code
    EXPECT_EQ(settlement_->registration("stb-revoked", started.code).state, "pending");
    EXPECT_BOX_ERROR(settlement_->registration("stb-1", started.code), ErrorCode::NotFound);
    EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-1", "AAAAAAAA"), ErrorCode::NotFound);
    EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-unknown", started.code), ErrorCode::PermissionDenied);
    EXPECT_BOX_ERROR(order("o-r", "stb-revoked"), ErrorCode::PermissionDenied);

    const auto done = settlement_->completeRegistration("phone-1", started.code);
    EXPECT_EQ(done.state, "completed");
    EXPECT_EQ(done.accountId, "acct-alice");
    EXPECT_EQ(settlement_->completeRegistration("phone-1", started.code).state, "completed"); // retry
    EXPECT_EQ(settlement_->registration("stb-revoked", started.code).accountId, "acct-alice");
    EXPECT_NO_THROW(settlement_->checkDevice("stb-revoked"));
    EXPECT_EQ(order("o-r", "stb-revoked").accountId, "acct-alice");
    // Another account's phone cannot take over a used code (and learns nothing about it).
    settlement_->registerPhone(phone_->certificate, "acct-bob");
    EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-1", started.code), ErrorCode::NotFound);
    settlement_->registerPhone(phone_->certificate, "acct-alice");

    // Codes expire.
    const auto other = settlement_->startRegistration("stb-2", trust::loadCertificate(keys / "devices/stb-2/device.cert"));
    clock_ += 601;
    EXPECT_EQ(settlement_->registration("stb-2", other.code).state, "expired");
    EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-1", other.code), ErrorCode::NotFound);
    checked();
}

// A phone may present only a few wrong codes per registration period (a code has 40 bits):
// past the limit even the right code is refused until the period has passed, and the
// count is in the database, shared by every server process.
TEST_P(Purchase, WrongRegistrationCodesAreLimitedPerPhone) {
    const auto& keys = server::test::DevKeys::get().dir;
    const auto started = settlement_->startRegistration("stb-2", trust::loadCertificate(keys / "devices/stb-2/device.cert"));
    for (int i = 0; i < 5; ++i)
        EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-1", "WRONG00" + std::to_string(i)), ErrorCode::NotFound);
    EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-1", "WRONG009"), ErrorCode::LimitExceeded);
    EXPECT_BOX_ERROR(settlement_->completeRegistration("phone-1", started.code), ErrorCode::LimitExceeded);
    EXPECT_EQ(settlement_->registration("stb-2", started.code).state, "pending");
    // Another settlement on the same database (another server process) counts the same.
    settlement::Settlement second(*ledger_, settlement::Keys::load(keys), settlement::Options{60});
    EXPECT_BOX_ERROR(second.completeRegistration("phone-1", started.code), ErrorCode::LimitExceeded);
    checked();

    clock_ += 601;   // the period has passed (and this code expired with it)
    const auto again = settlement_->startRegistration("stb-2", trust::loadCertificate(keys / "devices/stb-2/device.cert"));
    EXPECT_NE(again.code, started.code);
    EXPECT_EQ(settlement_->completeRegistration("phone-1", again.code).accountId, "acct-alice");
    checked();
}

BOXOFFICE_SERVER_ON_BOTH_BACKENDS(Purchase);

} // namespace
