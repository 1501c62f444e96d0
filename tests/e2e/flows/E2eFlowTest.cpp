// The DESIGN §5 flows end to end, every party a real process over loopback, on the
// shared stack (tests/e2e/stack/Stack.h):
//
//   boxoffice-server  (https + settlement + history sync, SQLite), driven through its operator API
//   boxoffice-headend (a generated test video, CISSA-scrambled, ECMs under the event key)
//   boxofficed        (bluetooth, billing, descrambler, sync, ppv), driven as the TV drives it:
//                     JSON-RPC over a WebSocket, with its events
//   the phone         (the reference phone library in this process, over the fake radio and its
//                     own HTTPS line to the server)
//
// The only stand-in is Bluetooth: a fake org.bluez on a private dbus-daemon plays the radio
// (build machines have no Bluetooth in their kernel). Nothing is mocked beyond it.
//
// Every test registers the box with the device-code flow (flow 1) and, where the phone is
// needed, pairs it over the fake radio with both codes confirmed on the TV (flow 2).

#include "Stack.h"  // tests/e2e/stack: the processes, the TV's JSON-RPC, the phone

#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/KeySealer.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/trust/TrustedClock.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/Voucher.h>

#include <Poco/JSON/Array.h>

#include <gmock/gmock.h>

#include <atomic>

using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace boxoffice::e2e {
namespace {

using namespace std::chrono_literals;
using Poco::JSON::Object;
namespace bt = boxoffice::bluetooth;

constexpr std::int64_t kDeposit = 2000;     // acct-alice's prepaid wallet, EUR minor units
constexpr std::int64_t kCreditLimit = 5000; // the stack's plugins.billing.creditLimit

// The events on sale. ev-final and ev-short are broadcast (scrambled streams); each event
// has its own DVB event id so the key service maps ECMs to exactly one event. ev-short ends
// (and its tickets expire) kShortSeconds after the test's start.
constexpr std::int64_t kShortSeconds = 40;
Event theFinal() { return {"ev-final", "The Final", 450, 7, {}}; }
Event theShort() { return {"ev-short", "Last Minutes", 100, 11, {}, ::time(nullptr) + kShortSeconds}; }
const std::vector<Event> kOthers = {
    {"ev-opera", "Opera Night", 300, 8, {}},
    {"ev-otp", "Second Line", 250, 9, {}},
    {"ev-gala", "Gala", 50000, 10, {}},   // more than the wallet holds and than the credit limit
};

class E2eFlowTest : public ::testing::Test {
protected:
    // Server with alice's wallet, the events and phone-1's key; the headend's streams;
    // boxofficed with every plugin, registered to alice through the device-code flow.
    void SetUp() override
    {
        stack = std::make_unique<Stack>(std::string("flow-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        stack->generateVideo(10);
        auto final = theFinal(), last = theShort();
        final.stream = stack->scramble(final, "final.ts");
        last.stream = stack->scramble(last, "short.ts");
        events = kOthers;
        events.insert(events.begin(), final);
        events.push_back(last);

        stack->startServer(true);
        stack->createAccounts(kDeposit);
        for (const auto& e : events) stack->putEvent(e);
        stack->registerPhoneKey();
        stack->startStb(events, {});
        stbStarted = true;
        stack->checkPlugins();
        stack->registerStb();
        ASSERT_EQ(tv().object("sync.1.registration")->getValue<std::string>("accountId"), "acct-alice");
        EXPECT_EQ(tv().object("ppv.1.refresh")->getValue<int>("events"), static_cast<int>(events.size()));
    }

    void TearDown() override
    {
        bobsTv.reset();
        if (!HasFailure() || !stbStarted) return;
        // What the box said, for the failure report.
        std::cerr << "boxofficed output:\n" << stack->stb().output() << "\nserver output:\n" << stack->server().output() << std::endl;
        if (bobsBox) std::cerr << "stb-2 boxofficed output:\n" << bobsBox->output() << std::endl;
    }

    Tv& tv() { return stack->tv(); }

    Object::Ptr buy(const std::string& eventId, const std::string& method = "phone")
    {
        return tv().object("ppv.1.buy", params({{"eventId", eventId}, {"pin", "1234"}, {"method", method}}));
    }
    std::string buyRefused(const std::string& eventId, const std::string& pin = "1234")
    {
        return tv().refusal("ppv.1.buy", params({{"eventId", eventId}, {"pin", pin}}));
    }
    Object::Ptr finalOrder(const std::string& orderId) { return tv().finalOrder(orderId, 60s); }
    static std::string stateOf(Tv& on, const std::string& eventId)
    {
        return on.object("ppv.1.event", params({{"eventId", eventId}}))->getValue<std::string>("state");
    }
    std::string stateOf(const std::string& eventId) { return stateOf(tv(), eventId); }
    static Poco::JSON::Array::Ptr tickets(Tv& on) { return on.object("ppv.1.tickets")->getArray("tickets"); }
    Poco::JSON::Array::Ptr tickets() { return tickets(tv()); }
    Poco::JSON::Array::Ptr history() { return tv().object("billing.1.history")->getArray("records"); }
    // The billing history's records of one kind ("purchase", "play"), newest first.
    static Poco::JSON::Array::Ptr records(Tv& on, const std::string& kind)
    {
        Poco::JSON::Array::Ptr found = new Poco::JSON::Array;
        const auto all = on.object("billing.1.history")->getArray("records");
        for (std::size_t i = 0; i < all->size(); ++i)
            if (all->getObject(static_cast<unsigned>(i))->getValue<std::string>("kind") == kind)
                found->add(all->getObject(static_cast<unsigned>(i)));
        return found;
    }
    Poco::JSON::Array::Ptr records(const std::string& kind) { return records(tv(), kind); }

    // ppv.1.watch, then descrambler.1.play as the UI does; the status once a frame was decoded
    // (control words from an ECM, packets descrambled, a picture), or the last status seen.
    static Object::Ptr playUntilAFrame(Tv& on, const std::string& eventId)
    {
        const auto watch = on.object("ppv.1.watch", params({{"eventId", eventId}}));
        on.object("descrambler.1.play", watch->getObject("play"));
        Object::Ptr status;
        boxoffice::testing::eventually([&] {
            status = on.object("descrambler.1.status");
            const auto timeline = status->getObject("timeline");
            return status->getValue<std::uint64_t>("descrambled") > 0 && timeline && timeline->has("firstEcmMs") &&
                   timeline->has("firstFrameMs");
        }, 60s);
        on.call("descrambler.1.stop");
        return status;
    }
    void expectPlays(const std::string& eventId) { expectPlays(tv(), eventId); }
    static void expectPlays(Tv& on, const std::string& eventId)
    {
        const auto status = playUntilAFrame(on, eventId);
        EXPECT_GT(status->getValue<std::uint64_t>("descrambled"), 0u) << json(status);
        const auto timeline = status->getObject("timeline");
        ASSERT_TRUE(timeline) << json(status);
        EXPECT_TRUE(timeline->has("firstEcmMs")) << json(status);
        EXPECT_TRUE(timeline->has("firstFrameMs")) << json(status);
        // The view is a signed play record in the box's billing history.
        const auto plays = records(on, "play");
        bool recorded = false;
        for (std::size_t i = 0; i < plays->size(); ++i)
            recorded |= plays->getObject(static_cast<unsigned>(i))->getValue<std::string>("eventId") == eventId;
        EXPECT_TRUE(recorded) << json(plays);
    }
    // Without a valid ticket the descrambler gets no control words: play is refused.
    void expectDoesNotPlay(const std::string& uriOf) { expectDoesNotPlay(tv(), uriOf); }
    static void expectDoesNotPlay(Tv& on, const std::string& uriOf)
    {
        EXPECT_THAT(on.refusal("descrambler.1.play", params({{"uri", "file://" + uriOf}})), HasSubstr("no ticket"));
    }
    const Event& event(const std::string& eventId) const
    {
        for (const auto& e : events)
            if (e.eventId == eventId) return e;
        throw std::runtime_error("no event " + eventId);
    }

    // Bob's box: stb-2 of the development keys, bound to acct-bob (another account) by the
    // operator, a second boxofficed (no Bluetooth) on the same server, with its TV connection.
    void startBobsBox()
    {
        stack->operatorCall("POST", "/v1/operator/accounts", R"({"accountId":"acct-bob","kind":"wallet","currency":"EUR"})");
        stack->operatorCall("POST", "/v1/operator/devices",
                            json(params({{"certificate", server::test::certificateField(stack->keys() / "devices/stb-2/device.cert")},
                                         {"accountId", "acct-bob"}})));
        Stack::StbOptions options;
        options.device = "stb-2";
        options.bluetooth = false;
        bobsBox = stack->startOtherStb(events, options);
        bobsTv = std::make_unique<Tv>(bobsBox->port, stack->token());
        bobsTv->object("ppv.1.refresh");
    }
    // Alice's phone buys `eventId` for stb-2 (POST /v1/phone/gifts); the server's answer.
    Object::Ptr giftToBob(const std::string& giftId, const std::string& eventId, std::int64_t deliverAt = 0)
    {
        auto body = params({{"giftId", giftId}, {"eventId", eventId}, {"recipientDeviceId", "stb-2"},
                            {"amount", event(eventId).price}, {"currency", "EUR"}, {"message", "Enjoy"}});
        if (deliverAt) body->set("deliverAt", deliverAt);
        const auto r = stack->phoneLine().call("POST", "/v1/phone/gifts", json(body));
        if (r.status != 201) throw std::runtime_error("gift refused: " + r.raw);
        return r.body.extract<Object::Ptr>();
    }

    // The server's word, through its operator API.
    Object::Ptr account(const std::string& accountId)
    {
        return stack->operatorCall("GET", "/v1/operator/accounts/" + accountId, "").body.extract<Object::Ptr>();
    }
    std::int64_t balance(const std::string& accountId) { return account(accountId)->getValue<std::int64_t>("balance"); }
    std::string violations()
    {
        const auto list = stack->operatorCall("GET", "/v1/operator/invariants", "").body.extract<Object::Ptr>()->getArray("violations");
        return list->size() == 0 ? std::string() : json(list);
    }
    // An order as the server tells it to the account's phone (GET /v1/phone/purchases).
    std::optional<phone::ServerOrder> serverOrder(const std::string& orderId)
    {
        for (auto& o : stack->phoneServerLine()->purchases())
            if (o.orderId == orderId) return o;
        return std::nullopt;
    }
    std::string serverStateOf(const std::string& orderId)
    {
        const auto o = serverOrder(orderId);
        return o ? o->state : "no order " + orderId + " at the server";
    }

    static trust::VerifyingKey serverKey()
    {
        return trust::VerifyingKey::fromCertificate(trust::loadCertificate(server::test::DevKeys::get().dir / "server/server.cert"));
    }

    std::unique_ptr<Stack> stack;
    bool stbStarted = false;
    std::vector<Event> events;
    std::unique_ptr<Stb> bobsBox;
    std::unique_ptr<Tv> bobsTv;
};

// Flow 1 on a second box (stb-2, unknown to the operator): it gets no catalog; the TV shows a
// short code; a wrong code presented by the phone is refused and binds nothing; the right one
// binds the box to the phone's account, the box learns it and gets the catalog.
TEST_F(E2eFlowTest, RegistrationBindsANewBoxToThePhonesAccountOnlyWithItsCode)
{
    Stack::StbOptions options;
    options.device = "stb-2";
    options.bluetooth = false;
    bobsBox = stack->startOtherStb(events, options);
    bobsTv = std::make_unique<Tv>(bobsBox->port, stack->token());
    bobsTv->subscribe({"sync.1.registrationChanged"});
    EXPECT_EQ(bobsTv->object("sync.1.registration")->getValue<std::string>("state"), "unregistered");
    const auto before = bobsTv->object("ppv.1.refresh");
    EXPECT_THAT(before->optValue<std::string>("catalogError", ""), StartsWith("not-registered")) << json(before);
    EXPECT_EQ(bobsTv->object("ppv.1.catalog")->getArray("events")->size(), 0u);

    const auto pending = bobsTv->object("sync.1.register");
    ASSERT_EQ(pending->getValue<std::string>("state"), "pending") << json(pending);
    const auto code = pending->getValue<std::string>("code");
    ASSERT_FALSE(code.empty());
    EXPECT_GT(pending->getValue<std::int64_t>("expiresAt"), static_cast<std::int64_t>(::time(nullptr)));

    auto wrong = code;
    wrong.back() = wrong.back() == '2' ? '3' : '2';
    const auto refused = stack->phoneLine().call("POST", "/v1/phone/registrations", json(params({{"code", wrong}})));
    EXPECT_GE(refused.status, 400) << refused.raw;
    EXPECT_EQ(bobsTv->object("sync.1.registration")->getValue<std::string>("state"), "pending");

    const auto bound = stack->phoneLine().call("POST", "/v1/phone/registrations", json(params({{"code", code}})));
    ASSERT_EQ(bound.status, 200) << bound.raw;
    EXPECT_EQ(bound.body.extract<Object::Ptr>()->getValue<std::string>("deviceId"), "stb-2");
    EXPECT_EQ(bound.body.extract<Object::Ptr>()->getValue<std::string>("accountId"), "acct-alice");
    const auto registered = bobsTv->waitFor("sync.1.registrationChanged", 30s,
                                            [](const Object::Ptr& p) { return p->getValue<std::string>("state") == "registered"; });
    ASSERT_TRUE(registered);
    EXPECT_EQ(registered->getValue<std::string>("accountId"), "acct-alice");
    EXPECT_EQ(bobsTv->object("ppv.1.refresh")->getValue<int>("events"), static_cast<int>(events.size()));
}

// Flow 2: only a phone whose pairing the viewer confirmed on the TV is trusted. Declined on
// the TV: not trusted, nothing can be bought through it; paired and confirmed: trusted, it
// settles a purchase; removed on the TV: not trusted any more.
TEST_F(E2eFlowTest, OnlyAPhoneConfirmedOnTheTvIsTrusted)
{
    const auto trustedPhones = [&] { return tv().call("bluetooth.1.phones").extract<Poco::JSON::Array::Ptr>(); };
    auto& declined = stack->pairPhone(false);
    EXPECT_FALSE(declined.hasSession());
    EXPECT_EQ(trustedPhones()->size(), 0u) << json(trustedPhones());
    EXPECT_THAT(buyRefused("ev-final"), StartsWith("phone-not-paired"));

    auto& phone = stack->pairPhone();
    EXPECT_TRUE(phone.hasSession());
    const auto trusted = trustedPhones();
    ASSERT_EQ(trusted->size(), 1u);
    EXPECT_EQ(trusted->getObject(0)->getValue<std::string>("id"), phone.id());
    EXPECT_TRUE(trusted->getObject(0)->getValue<bool>("connected"));
    stack->approveOnPhone();
    const auto done = finalOrder(buy("ev-final")->getValue<std::string>("orderId"));
    EXPECT_EQ(done->getValue<std::string>("state"), "approved") << json(done);

    tv().call("bluetooth.1.removePhone", params({{"phoneId", phone.id()}}));
    EXPECT_EQ(trustedPhones()->size(), 0u);
    EXPECT_THAT(buyRefused("ev-opera"), StartsWith("phone-not-paired"));
    EXPECT_EQ(history()->size(), 1u);
}

// Flow 3 with the phone's own line, and flow 8: refusals before anything is ordered; the order,
// the phone's approval and acknowledgement, the ticket, playback; then the TV's billing history
// and the phone's purchase history (signed receipts) name the same purchase, and the server's
// ledger moved the price once.
TEST_F(E2eFlowTest, ImpulsePurchaseApprovedOnThePhonePlaysAndTheHistoriesAgree)
{
    const auto stream = events[0].stream.string();
    EXPECT_EQ(stateOf("ev-final"), "on-sale");
    expectDoesNotPlay(stream);
    EXPECT_THAT(buyRefused("ev-final"), StartsWith("phone-not-paired"));
    EXPECT_THAT(buyRefused("ev-final", "1111"), StartsWith("pin-wrong"));
    EXPECT_EQ(tv().object("ppv.1.pinStatus")->getValue<int>("attemptsLeft"), 2);

    stack->pairPhone();
    stack->approveOnPhone();
    EXPECT_THAT(buyRefused("ev-gala"), StartsWith("no-credit"));   // 500.00 EUR, the wallet holds 20.00

    const auto order = buy("ev-final");
    EXPECT_EQ(order->getValue<std::string>("state"), "awaiting-phone");
    EXPECT_EQ(order->getValue<std::int64_t>("amount"), 450);
    const auto orderId = order->getValue<std::string>("orderId");
    const auto transaction = order->getValue<std::string>("transactionNumber");
    EXPECT_FALSE(transaction.empty());
    const auto done = finalOrder(orderId);
    ASSERT_EQ(done->getValue<std::string>("state"), "approved") << json(done);
    const auto ticketId = done->getValue<std::string>("ticketId");
    EXPECT_EQ(stack->phoneReceived(bt::MessageType::SettlementRequest), 1);

    // The STB: the ticket, the event owned (not sold twice), playing.
    ASSERT_EQ(tickets()->size(), 1u);
    EXPECT_EQ(tickets()->getObject(0)->getValue<std::string>("ticketId"), ticketId);
    EXPECT_EQ(tickets()->getObject(0)->getValue<std::string>("state"), "valid");
    EXPECT_EQ(stateOf("ev-final"), "owned");
    EXPECT_THAT(buyRefused("ev-final"), StartsWith("already-owned"));
    expectPlays("ev-final");

    // The server: paid once, closed by the phone's acknowledgement, its books consistent.
    EXPECT_TRUE(boxoffice::testing::eventually([&] { return serverStateOf(orderId) == "closed"; }, 20s)) << serverStateOf(orderId);
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    EXPECT_EQ(balance("studio"), 450);
    EXPECT_EQ(violations(), "");

    // The phone's receipt, signed by the server, for this order.
    ASSERT_TRUE(boxoffice::testing::eventually([&] { return stack->receipt().has_value(); }, 10s));
    const auto receipt = *stack->receipt();
    EXPECT_NO_THROW(trust::verifySignature(receipt, serverKey()));
    EXPECT_EQ(receipt.orderId, orderId);
    EXPECT_EQ(receipt.transactionNumber, transaction);
    EXPECT_EQ(receipt.ticketId, ticketId);
    EXPECT_EQ(receipt.amount, 450);
    EXPECT_EQ(receipt.accountId, "acct-alice");
    EXPECT_EQ(receipt.payee, "studio");

    // Flow 8: the history on the TV and the purchases on the phone agree.
    const auto purchaseRecords = records("purchase");
    ASSERT_EQ(purchaseRecords->size(), 1u) << json(purchaseRecords);
    const auto record = purchaseRecords->getObject(0);
    EXPECT_EQ(record->getValue<std::string>("orderId"), orderId);
    EXPECT_EQ(record->getValue<std::string>("eventId"), "ev-final");
    EXPECT_EQ(record->getValue<std::string>("ticketId"), ticketId);
    EXPECT_EQ(record->getValue<std::int64_t>("amount"), 450);
    EXPECT_FALSE(record->getValue<bool>("deferred"));
    const auto purchases = stack->phoneServerLine()->purchases();
    ASSERT_EQ(purchases.size(), 1u);
    EXPECT_EQ(purchases[0].orderId, orderId);
    EXPECT_EQ(purchases[0].eventId, "ev-final");
    EXPECT_EQ(purchases[0].amount, 450);
    ASSERT_TRUE(purchases[0].receipt);
    EXPECT_EQ(purchases[0].receipt->receiptId, receipt.receiptId);
    EXPECT_NO_THROW(trust::verifySignature(*purchases[0].receipt, serverKey()));
}

// Flow 3 with the approval relayed: the reference phone app without a line of its own signs
// the approval and hands it to the STB, which posts it over its line; the server's receipt goes
// back to the phone through the STB and so does the phone's acknowledgement. Paid once.
TEST_F(E2eFlowTest, ApprovalRelayedThroughTheStbWhenThePhoneHasNoLine)
{
    stack->pairPhone();
    std::atomic<int> shown{0};
    std::string shownEvent;   // (written before the STB's order can end: read after finalOrder)
    stack->runPhoneApp(std::make_shared<phone::OfflineServerLine>(), [&](const phone::ServerOrder& o) {
        shownEvent = o.eventId + " " + std::to_string(o.amount) + " " + o.currency + " to " + o.payee;
        ++shown;
        return wire::Decision::Approve;
    });

    const auto order = buy("ev-final");
    const auto orderId = order->getValue<std::string>("orderId");
    const auto done = finalOrder(orderId);
    ASSERT_EQ(done->getValue<std::string>("state"), "approved") << json(done);
    EXPECT_EQ(shown.load(), 1);
    EXPECT_EQ(shownEvent, "ev-final 450 EUR to studio");

    // The receipt came to the phone over Bluetooth; its acknowledgement closed the order.
    ASSERT_TRUE(boxoffice::testing::eventually([&] { return stack->phoneReceived(bt::MessageType::Receipt) == 1; }, 10s));
    const auto receipt = stack->receipt();
    ASSERT_TRUE(receipt);
    EXPECT_EQ(receipt->orderId, orderId);
    EXPECT_EQ(receipt->ticketId, done->getValue<std::string>("ticketId"));
    EXPECT_NO_THROW(trust::verifySignature(*receipt, serverKey()));
    EXPECT_TRUE(boxoffice::testing::eventually([&] { return serverStateOf(orderId) == "closed"; }, 20s)) << serverStateOf(orderId);
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    EXPECT_EQ(balance("studio"), 450);
    EXPECT_EQ(violations(), "");

    ASSERT_EQ(records("purchase")->size(), 1u);
    EXPECT_EQ(records("purchase")->getObject(0)->getValue<std::string>("orderId"), orderId);
    EXPECT_EQ(stateOf("ev-final"), "owned");
    expectPlays("ev-final");
}

// Flow 4, one-time password: the viewer asks for an OTP order; the phone (no app session,
// not paired) gets the codes over its own line and approves with the acknowledge code; a
// wrong OTP typed on the remote is refused and the order keeps waiting; the right one buys.
TEST_F(E2eFlowTest, OtpPurchaseRefusesAWrongCodeAndAcceptsTheRightOne)
{
    const auto order = buy("ev-otp", "otp");
    ASSERT_EQ(order->getValue<std::string>("state"), "awaiting-otp") << json(order);
    EXPECT_EQ(order->getValue<std::string>("method"), "otp");
    const auto orderId = order->getValue<std::string>("orderId");

    const auto otp = stack->approveOtpOnPhone(orderId);
    ASSERT_FALSE(otp.empty());
    const std::string wrong = otp == "000000" ? "111111" : "000000";
    EXPECT_THAT(tv().refusal("ppv.1.enterOtp", params({{"orderId", orderId}, {"otp", wrong}})), StartsWith("server-refused"));
    EXPECT_EQ(tv().object("ppv.1.order", params({{"orderId", orderId}}))->getValue<std::string>("state"), "awaiting-otp");
    EXPECT_EQ(tickets()->size(), 0u);
    EXPECT_EQ(balance("acct-alice"), kDeposit);

    tv().object("ppv.1.enterOtp", params({{"orderId", orderId}, {"otp", otp}}));
    const auto done = finalOrder(orderId);
    ASSERT_EQ(done->getValue<std::string>("state"), "approved") << json(done);
    EXPECT_EQ(stateOf("ev-otp"), "owned");
    ASSERT_EQ(history()->size(), 1u);
    EXPECT_EQ(history()->getObject(0)->getValue<std::int64_t>("amount"), 250);
    EXPECT_EQ(history()->getObject(0)->getValue<std::string>("orderId"), orderId);
    EXPECT_EQ(balance("acct-alice"), kDeposit - 250);
    EXPECT_EQ(balance("studio"), 250);
    EXPECT_EQ(violations(), "");
}

// Flow 4, "not me": the phone's owner denies the order. The transfer is voided (no money
// moved or held), nothing is playable or billed, the box is blocked and the account
// inhibited: the next order is refused. Unblocking the box is not enough; once the
// operator clears the account, a purchase goes through again.
TEST_F(E2eFlowTest, NotMeVoidsTheTransferAndInhibitsTheAccountUntilTheOperatorClearsIt)
{
    stack->pairPhone();
    stack->decideOnPhone(wire::Decision::NotMe);

    const auto order = buy("ev-final");
    const auto orderId = order->getValue<std::string>("orderId");
    const auto done = finalOrder(orderId);
    // The server blocks the box at once; the box still reads how its own order ended.
    EXPECT_EQ(done->getValue<std::string>("state"), "not-me") << json(done);
    EXPECT_THAT(done->optValue<std::string>("reason", ""), HasSubstr("did not order")) << json(done);
    EXPECT_FALSE(done->has("ticketId")) << json(done);

    // The server: not-me, voided, inhibited.
    EXPECT_EQ(serverStateOf(orderId), "not-me");
    EXPECT_EQ(balance("acct-alice"), kDeposit);
    EXPECT_EQ(account("acct-alice")->getValue<std::int64_t>("available"), kDeposit);
    EXPECT_TRUE(account("acct-alice")->getValue<bool>("inhibited"));
    EXPECT_EQ(balance("studio"), 0);
    EXPECT_EQ(violations(), "");

    // The STB: nothing playable, nothing billed.
    EXPECT_EQ(tickets()->size(), 0u);
    EXPECT_EQ(stateOf("ev-final"), "on-sale");
    EXPECT_THAT(tv().refusal("ppv.1.watch", params({{"eventId", "ev-final"}})), HasSubstr("no ticket"));
    expectDoesNotPlay(events[0].stream.string());
    EXPECT_EQ(history()->size(), 0u);

    // Refused while blocked, then while only inhibited; bought once the operator clears the account.
    stack->approveOnPhone();
    EXPECT_THAT(buyRefused("ev-final"), ::testing::AllOf(StartsWith("server-refused"), HasSubstr("blocked")));
    stack->operatorCall("POST", "/v1/operator/devices/stb-1/unblock", "{}");
    EXPECT_THAT(buyRefused("ev-final"), ::testing::AllOf(StartsWith("server-refused"), HasSubstr("inhibited")));
    EXPECT_EQ(balance("acct-alice"), kDeposit);
    stack->operatorCall("POST", "/v1/operator/accounts/acct-alice/clear", "{}");
    EXPECT_FALSE(account("acct-alice")->getValue<bool>("inhibited"));

    const auto again = finalOrder(buy("ev-final")->getValue<std::string>("orderId"));
    ASSERT_EQ(again->getValue<std::string>("state"), "approved") << json(again);
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    EXPECT_EQ(history()->size(), 1u);
    expectPlays("ev-final");
    EXPECT_EQ(violations(), "");
}

// Flow 4, "not me" from a phone without a line: the phone seals its signed "not me" to the
// server and the STB relays it; the box hears the outcome in the relay's answer, so the TV
// shows the order not-me. Voided, inhibited, nothing playable.
TEST_F(E2eFlowTest, NotMeRelayedThroughTheStbShowsNotMeOnTheTv)
{
    stack->pairPhone();
    stack->decideOnPhone(wire::Decision::NotMe, Stack::Via::Stb);

    const auto orderId = buy("ev-final")->getValue<std::string>("orderId");
    const auto done = finalOrder(orderId);
    ASSERT_EQ(done->getValue<std::string>("state"), "not-me") << json(done);
    EXPECT_FALSE(done->has("ticketId")) << json(done);
    EXPECT_EQ(serverStateOf(orderId), "not-me");
    EXPECT_EQ(balance("acct-alice"), kDeposit);
    EXPECT_EQ(account("acct-alice")->getValue<std::int64_t>("available"), kDeposit);
    EXPECT_TRUE(account("acct-alice")->getValue<bool>("inhibited"));
    EXPECT_EQ(violations(), "");
    EXPECT_EQ(tickets()->size(), 0u);
    EXPECT_EQ(history()->size(), 0u);
    expectDoesNotPlay(event("ev-final").stream.string());
    EXPECT_THAT(buyRefused("ev-final"), ::testing::AllOf(StartsWith("server-refused"), HasSubstr("blocked")));
}

// Flow 5: the box's line goes dead (the server comes back elsewhere; the box still points at
// the old port). It buys on credit the dormant ticket the operator sent ahead, under its credit
// limit; the paired phone carries the sealed history to the server over its own line and
// brings back the signed settlement: records settled, credit freed, the ledger charged once.
TEST_F(E2eFlowTest, OfflineStbBuysOnCreditAndThePhoneCarriesTheHistoryToTheServer)
{
    // While the box has its line: dormant tickets sent ahead, fetched from the delivery queue.
    for (const auto* eventId : {"ev-final", "ev-gala"})
        stack->operatorCall("POST", "/v1/operator/dormant-tickets", json(params({{"deviceId", "stb-1"}, {"eventId", eventId}})));
    EXPECT_TRUE(boxoffice::testing::eventually([&] {
        tv().object("ppv.1.refresh");
        return tickets()->size() == 2;
    }, 20s));
    for (std::size_t i = 0; i < tickets()->size(); ++i)
        EXPECT_EQ(tickets()->getObject(static_cast<unsigned>(i))->getValue<std::string>("state"), "dormant");
    EXPECT_THAT(tv().refusal("ppv.1.watch", params({{"eventId", "ev-final"}})), HasSubstr("dormant"));
    expectDoesNotPlay(events[0].stream.string());
    stack->pairPhone();
    EXPECT_EQ(balance("acct-alice"), kDeposit);   // dormant tickets cost nothing

    stack->moveServer();
    EXPECT_FALSE(tv().object("sync.1.syncNow")->getValue<bool>("online"));

    // No dormant ticket: nothing to buy without a line. Above the credit limit: refused, nothing stored.
    EXPECT_THAT(buyRefused("ev-opera"), StartsWith("no-line"));
    EXPECT_THAT(buyRefused("ev-gala"), StartsWith("over-credit-limit"));
    EXPECT_EQ(history()->size(), 0u);

    const auto order = buy("ev-final");
    EXPECT_EQ(order->getValue<std::string>("method"), "credit");
    ASSERT_EQ(order->getValue<std::string>("state"), "approved") << json(order);
    expectPlays("ev-final");
    auto credit = tv().object("billing.1.credit");
    EXPECT_EQ(credit->getValue<std::int64_t>("outstanding"), 450);
    EXPECT_EQ(credit->getValue<std::int64_t>("available"), kCreditLimit - 450);
    const auto purchases = records("purchase");
    ASSERT_EQ(purchases->size(), 1u);
    EXPECT_TRUE(purchases->getObject(0)->getValue<bool>("deferred"));
    EXPECT_FALSE(purchases->getObject(0)->getValue<bool>("settled"));
    EXPECT_EQ(purchases->getObject(0)->getValue<std::int64_t>("amount"), 450);
    EXPECT_EQ(balance("acct-alice"), kDeposit);   // the server has not heard of it

    // The phone app with its own line carries the history.
    stack->runPhoneApp(stack->phoneServerLine(), [](const phone::ServerOrder&) { return wire::Decision::Decline; });
    const auto lastSequence = credit->getValue<std::uint64_t>("lastSequence");
    const auto settled = tv().object("billing.1.handoff");
    EXPECT_EQ(settled->getValue<std::uint64_t>("settledThrough"), lastSequence) << json(settled);
    EXPECT_EQ(stack->phoneReceived(bt::MessageType::HistoryHandoff), 1);

    // The box: settled, credit free again, the ticket still playing.
    credit = tv().object("billing.1.credit");
    EXPECT_EQ(credit->getValue<std::int64_t>("outstanding"), 0);
    EXPECT_EQ(credit->getValue<std::int64_t>("available"), kCreditLimit);
    EXPECT_EQ(credit->getValue<std::uint64_t>("settledThrough"), lastSequence);
    const auto after = history();
    for (std::size_t i = 0; i < after->size(); ++i)
        EXPECT_TRUE(after->getObject(static_cast<unsigned>(i))->getValue<bool>("settled")) << json(after);
    expectPlays("ev-final");
    // The server: charged once, at the catalog price.
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    EXPECT_EQ(balance("studio"), 450);
    EXPECT_EQ(violations(), "");
    // Nothing left to carry.
    EXPECT_THAT(tv().refusal("billing.1.handoff", params({})), ::testing::Not(::testing::IsEmpty()));
}

// Flow 7: Alice's phone buys a gift for Bob's box (another account, a second boxofficed).
// The server charges Alice and returns a voucher it signed; Bob's box gets the ticket over
// its own line (the delivery queue) and plays it; Alice's box gets nothing; the voucher is
// marked delivered once Bob's box acknowledged the ticket.
// Flow 5 with a phone that is not to be trusted: it carries the history but alters the batch,
// drops it, or alters the server's settlement result on the way back. The server refuses the
// altered batch, the box refuses the altered result; once the phone carries it honestly the
// purchase is settled and charged exactly once.
TEST_F(E2eFlowTest, APhoneThatAltersOrDropsTheHistoryOrTheResultSettlesNothingTwice)
{
    stack->operatorCall("POST", "/v1/operator/dormant-tickets", json(params({{"deviceId", "stb-1"}, {"eventId", "ev-final"}})));
    EXPECT_TRUE(boxoffice::testing::eventually([&] {
        tv().object("ppv.1.refresh");
        return tickets()->size() == 1;
    }, 20s));
    stack->pairPhone();
    stack->moveServer();
    ASSERT_EQ(buy("ev-final")->getValue<std::string>("state"), "approved");
    const auto unsettled = [&] {
        const auto credit = tv().object("billing.1.credit");
        return credit->getValue<std::int64_t>("outstanding") == 450 && credit->getValue<std::uint64_t>("settledThrough") == 0;
    };
    ASSERT_TRUE(unsettled());

    // The reference phone app does the carrying; the handler below corrupts its work.
    const auto creds = trust::loadPhone(stack->keys() / "phones/phone-1");
    auto settler = std::make_shared<phone::Settler>(creds.certificate.subject, creds.key, stack->phoneServerLine(),
                                                    [](const phone::ServerOrder&) { return wire::Decision::Decline; });
    enum class Mischief { AlterBatch, Drop, AlterResult, None };
    std::atomic<Mischief> mischief{Mischief::AlterBatch};
    stack->onPhoneMessage([&](const bt::Message& m) -> std::optional<bt::Message> {
        if (m.type != bt::MessageType::HistoryHandoff) return settler->handle(m);
        switch (mischief.load()) {
        case Mischief::AlterBatch: {
            auto body = bt::HistoryHandoffBody::decode(m.body);
            body.history[body.history.size() / 2] ^= 0x01;
            return settler->handle({m.type, m.id, m.replyTo, body.encode()});
        }
        case Mischief::Drop: return std::nullopt;
        case Mischief::AlterResult: {
            auto reply = settler->handle(m);   // uploaded honestly: the server settles it
            if (!reply || reply->type != bt::MessageType::SettlementResult) return reply;
            auto result = bt::SettlementResultBody::decode(reply->body);
            result.result[result.result.size() - 3] ^= 0x01;
            return bt::Message{reply->type, reply->id, reply->replyTo, result.encode()};
        }
        case Mischief::None: return settler->handle(m);
        }
        return std::nullopt;
    });

    // Altered batch: the server cannot open it and charges nothing; the box keeps its records.
    EXPECT_FALSE(tv().refusal("billing.1.handoff", params({})).empty());
    EXPECT_TRUE(unsettled());
    EXPECT_EQ(balance("acct-alice"), kDeposit);
    // Dropped: nothing happens anywhere.
    mischief = Mischief::Drop;
    EXPECT_FALSE(tv().refusal("billing.1.handoff", params({})).empty());
    EXPECT_TRUE(unsettled());
    EXPECT_EQ(balance("acct-alice"), kDeposit);
    // Result altered on its way back: the server has settled, the box does not believe it.
    mischief = Mischief::AlterResult;
    EXPECT_FALSE(tv().refusal("billing.1.handoff", params({})).empty());
    EXPECT_TRUE(unsettled());
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    // Carried honestly: the server answers the same settlement, the box applies it, nobody
    // is charged twice.
    mischief = Mischief::None;
    EXPECT_EQ(tv().object("billing.1.handoff")->getValue<std::uint64_t>("settledThrough"), 1u);
    const auto credit = tv().object("billing.1.credit");
    EXPECT_EQ(credit->getValue<std::int64_t>("outstanding"), 0);
    EXPECT_EQ(credit->getValue<std::int64_t>("available"), kCreditLimit);
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    EXPECT_EQ(balance("studio"), 450);
    EXPECT_EQ(violations(), "");
}

TEST_F(E2eFlowTest, GiftToAnotherAccountsStbArrivesOnItsLineAndTheBuyerGetsASignedVoucher)
{
    startBobsBox();
    ASSERT_EQ(stateOf(*bobsTv, "ev-final"), "on-sale");
    expectDoesNotPlay(*bobsTv, event("ev-final").stream.string());

    const auto answer = giftToBob("gift-bob", "ev-final");
    const auto voucher = wire::Voucher::decode(wire::fromBase64Url(answer->getValue<std::string>("voucher"), "voucher"));
    EXPECT_NO_THROW(trust::verifySignature(voucher, serverKey()));
    auto altered = voucher;
    altered.recipientDeviceId = "stb-1";
    EXPECT_THROW(trust::verifySignature(altered, serverKey()), Error);
    EXPECT_EQ(voucher.eventId, "ev-final");
    EXPECT_EQ(voucher.buyerAccountId, "acct-alice");
    EXPECT_EQ(voucher.recipientAccountId, "acct-bob");
    EXPECT_EQ(voucher.recipientDeviceId, "stb-2");
    EXPECT_EQ(balance("acct-alice"), kDeposit - 450);
    EXPECT_EQ(balance("studio"), 450);
    EXPECT_EQ(balance("acct-bob"), 0);

    // Bob's box: the ticket the voucher names, valid, playing.
    EXPECT_TRUE(boxoffice::testing::eventually([&] {
        bobsTv->object("ppv.1.refresh");
        return stateOf(*bobsTv, "ev-final") == "owned";
    }, 30s));
    const auto bobs = tickets(*bobsTv);
    ASSERT_EQ(bobs->size(), 1u);
    EXPECT_EQ(bobs->getObject(0)->getValue<std::string>("ticketId"), voucher.ticketId);
    EXPECT_EQ(bobs->getObject(0)->getValue<std::string>("state"), "valid");
    expectPlays(*bobsTv, "ev-final");

    // Not Alice's box.
    tv().object("ppv.1.refresh");
    EXPECT_EQ(stateOf("ev-final"), "on-sale");
    EXPECT_EQ(tickets()->size(), 0u);

    EXPECT_TRUE(boxoffice::testing::eventually([&] {
        const auto list = stack->phoneLine().get("/v1/phone/vouchers").body.extract<Object::Ptr>()->getArray("vouchers");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const auto g = list->getObject(static_cast<unsigned>(i));
            if (g->getValue<std::string>("giftId") == "gift-bob") return g->getValue<bool>("delivered");
        }
        return false;
    }, 20s));
    EXPECT_EQ(violations(), "");
}

// Flow 7, scheduled delivery: a gift due a few seconds later is not on the recipient's box
// before its time (Bob's box keeps asking), and is there after it.
TEST_F(E2eFlowTest, ScheduledGiftIsNotDeliveredBeforeItsTime)
{
    startBobsBox();
    const auto deliverAt = boxoffice::testing::unixNow() + 6;  // the server's clock, see unixNow()
    giftToBob("gift-later", "ev-opera", deliverAt);
    std::int64_t ownedAt = 0;
    ASSERT_TRUE(boxoffice::testing::eventually([&] {
        bobsTv->object("ppv.1.refresh");
        if (stateOf(*bobsTv, "ev-opera") != "owned") return false;
        ownedAt = boxoffice::testing::unixNow();
        return true;
    }, 60s));
    EXPECT_GE(ownedAt, deliverAt);
    EXPECT_EQ(tickets(*bobsTv)->size(), 1u);
    EXPECT_EQ(balance("acct-alice"), kDeposit - 300);
}

// Flow 6, revocations: the operator refunds a purchase; the server reverses the transfer and
// revokes the ticket, and the box learns it at its next sync (a revocation list signed by the
// server, kept by sync for the wallet): the ticket is revoked and the event no longer plays.
TEST_F(E2eFlowTest, RefundRevokesTheTicketOnTheBoxAtItsNextSync)
{
    stack->pairPhone();
    stack->approveOnPhone();
    const auto orderId = buy("ev-final")->getValue<std::string>("orderId");
    const auto done = finalOrder(orderId);
    ASSERT_EQ(done->getValue<std::string>("state"), "approved") << json(done);
    const auto ticketId = done->getValue<std::string>("ticketId");
    expectPlays("ev-final");
    const auto before = tv().object("sync.1.status")->getValue<std::uint64_t>("revocationSequence");

    const auto refund = stack->operatorCall("POST", "/v1/operator/refunds",
                                            json(params({{"refundId", "refund-1"}, {"orderId", orderId}, {"reason", "cancelled"}})))
                            .body.extract<Object::Ptr>();
    EXPECT_EQ(refund->getValue<std::string>("revokedTicketId"), ticketId);
    EXPECT_EQ(refund->getValue<std::int64_t>("amount"), 450);
    EXPECT_EQ(balance("acct-alice"), kDeposit);
    EXPECT_EQ(balance("studio"), 0);
    EXPECT_EQ(violations(), "");

    EXPECT_TRUE(boxoffice::testing::eventually([&] {
        tv().object("sync.1.syncNow");
        tv().object("ppv.1.refresh");   // (the wallet applies a changed revocation list on refresh)
        return tickets()->getObject(0)->getValue<std::string>("state") == "revoked";
    }, 30s)) << json(tickets());
    EXPECT_GT(tv().object("sync.1.status")->getValue<std::uint64_t>("revocationSequence"), before);
    EXPECT_EQ(stateOf("ev-final"), "on-sale");
    EXPECT_FALSE(tv().refusal("ppv.1.watch", params({{"eventId", "ev-final"}})).empty());
    expectDoesNotPlay(event("ev-final").stream.string());
}

// A ticket that expires (the server's ticket ends with its event, ev-short): playable while
// valid; then ppv.1.watch is refused with ticket-expired, the wallet shows it expired and the
// descrambler gets no control words.
TEST_F(E2eFlowTest, AnExpiringTicketStopsPlayback)
{
    stack->pairPhone();
    stack->approveOnPhone();
    const auto endsAt = event("ev-short").endsAt;
    const auto done = finalOrder(buy("ev-short")->getValue<std::string>("orderId"));
    ASSERT_EQ(done->getValue<std::string>("state"), "approved") << json(done);
    ASSERT_EQ(tickets()->size(), 1u);
    EXPECT_EQ(tickets()->getObject(0)->getValue<std::int64_t>("notAfter"), endsAt);
    if (::time(nullptr) < endsAt - 15)   // (a very slow machine may already be near the end)
        expectPlays("ev-short");

    EXPECT_TRUE(boxoffice::testing::eventually(
        [&] { return tv().refusal("ppv.1.watch", params({{"eventId", "ev-short"}})).find("ticket-expired") != std::string::npos; },
        std::chrono::seconds(kShortSeconds + 60)));
    // Not before its time: the box's trusted time follows the server's signed time, whole
    // seconds apart from this process's clock, so allow a second or two.
    EXPECT_GE(::time(nullptr), endsAt - 2);
    EXPECT_EQ(tickets()->getObject(0)->getValue<std::string>("state"), "expired");
    EXPECT_NE(stateOf("ev-short"), "owned");
    expectDoesNotPlay(event("ev-short").stream.string());
}

// The box's clock set back behind its trusted high-water mark: the box ran with its clock an
// hour ahead (the ppv plugin sealed that mark), then restarted on the real time. Its ticket is
// refused rather than revived: no watch, no playback, the TV told it is the clock.
TEST_F(E2eFlowTest, ClockSetBackBehindTheTrustedHighWaterMarkRefusesTickets)
{
    stack->pairPhone();
    stack->approveOnPhone();
    const auto done = finalOrder(buy("ev-final")->getValue<std::string>("orderId"));
    ASSERT_EQ(done->getValue<std::string>("state"), "approved") << json(done);
    expectPlays("ev-final");

    ASSERT_EQ(stack->stb().stop(), 0) << stack->stb().output();
    {
        const auto data = stack->stb().dir() / "data/ppv";
        ASSERT_TRUE(std::filesystem::exists(data / "clock.state"));
        trust::TrustedClock ahead(data / "clock.state", std::make_shared<trust::MachineSecretSealer>(data / "machine-secret"),
                                  [] { return static_cast<wire::UnixTime>(::time(nullptr)) + 3600; });
        ahead.observe(ahead.now());
    }
    stack->stb().start();
    stack->connectTv();

    EXPECT_THAT(tv().refusal("ppv.1.watch", params({{"eventId", "ev-final"}})), HasSubstr("clock"));
    EXPECT_THAT(tv().refusal("descrambler.1.play", params({{"uri", "file://" + event("ev-final").stream.string()}})),
                HasSubstr("clock"));
    EXPECT_THAT(tv().refusal("ppv.1.event", params({{"eventId", "ev-final"}})), HasSubstr("clock"));
}

} // namespace
} // namespace boxoffice::e2e
