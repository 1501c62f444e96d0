// The TV UI end to end, key presses only (fixture: TvUi.h): guide, event page,
// PIN, approve on the phone with the status pushed over WebSocket, OTP, what is
// playing, history from the real billing plugin, refusals, IR remote keys.

#include "TvUi.h"

#include <gmock/gmock.h>

#include <csignal>

using namespace boxoffice::tests::ui;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

TEST_F(TvUi, GuideListsEventsWithPriceAndWindowAndArrowsMoveFocus)
{
    EXPECT_EQ(screen(), "guide");
    EXPECT_EQ(focused(), "ev-final");
    const auto first = browser_->text("return document.querySelector('#main .row').textContent");
    EXPECT_THAT(first, HasSubstr("Cup Final"));
    EXPECT_THAT(first, HasSubstr("€12.99"));  // 1299 minor units of EUR
    EXPECT_THAT(first, HasSubstr("On sale until"));
    EXPECT_THAT(browser_->text("return document.querySelector('[data-id=ev-classic]').textContent"), HasSubstr("Sale closed"));
    shot("guide");

    press({key::Down, key::Down});
    EXPECT_EQ(focused(), "ev-fight");
    press({key::Up});
    EXPECT_EQ(focused(), "ev-concert");
    press({key::Up, key::Up, key::Up});  // stops at the top
    EXPECT_EQ(focused(), "ev-final");

    press({key::Enter});
    ASSERT_TRUE(waitForScreen("event"));
    EXPECT_EQ(text("event-title"), "Cup Final");
    EXPECT_EQ(text("event-price"), "€12.99");
    EXPECT_EQ(text("event-terms"), "Rental: 48 h from the first play. 2 views.");   // shown before buying
    EXPECT_EQ(focused(), "buy-phone");
    press({key::Right});
    EXPECT_EQ(focused(), "buy-otp");
    shot("event");
    press({key::Escape});
    ASSERT_TRUE(waitForScreen("guide"));
}

TEST_F(TvUi, IrRemoteKeysFromTheInputPluginDriveTheUi)
{
    remote({KEY_DOWN, KEY_DOWN});
    ASSERT_TRUE(waitFor("const f = document.querySelector('#main .focused'); return f ? f.dataset.id : ''", "ev-fight"));
    remote({KEY_UP, KEY_OK});
    ASSERT_TRUE(waitForScreen("event"));
    EXPECT_EQ(text("event-title"), "Live Concert");
    remote({KEY_EXIT, KEY_YELLOW});
    ASSERT_TRUE(waitForScreen("history"));
    remote({KEY_RED, KEY_NUMERIC_1});  // a digit on the guide does nothing
    ASSERT_TRUE(waitForScreen("guide"));
    EXPECT_EQ(focused(), "ev-concert");
}

TEST_F(TvUi, PhonePurchaseShowsTheTransactionNumberAndTheStatusPushedOverWebSocket)
{
    ASSERT_NO_FATAL_FAILURE(buy(0, "123"));
    // Masked: three dots, none of the digits.
    EXPECT_EQ(text("digits"), "•••");
    shot("pin");
    press({"4"});
    ASSERT_TRUE(waitForScreen("order"));

    const auto order = admin("ppv.1.order", "orderId", "ord-1");
    const auto number = order->getValue<std::string>("transactionNumber");
    EXPECT_EQ(order->getValue<std::string>("state"), "awaiting-phone");
    EXPECT_EQ(text("transaction"), number);
    EXPECT_TRUE(waitFor("return document.getElementById('order-state').dataset.state", "awaiting-phone"));
    shot("approve-on-phone");

    // The phone approves (the stand-in's hook): ppv.1.orderChanged reaches the screen.
    admin("ppv.1.standInResolve", "orderId", "ord-1", "state", "approved");
    ASSERT_TRUE(waitFor("return document.getElementById('order-state').dataset.state", "approved"));
    EXPECT_THAT(text("order-state"), HasSubstr("Approved"));
    EXPECT_EQ(focused(), "watch");
    shot("approved");

    press({key::Enter});  // Watch now
    ASSERT_TRUE(waitForScreen("playing"));
    EXPECT_EQ(text("now-playing"), "Cup Final");
    ASSERT_TRUE(waitFor("return String(document.querySelectorAll('#main .ticket').length)", "3"));
    shot("playing");

    // The real billing plugin holds the signed record the purchase appended.
    press({key::F3});
    ASSERT_TRUE(waitForScreen("history"));
    ASSERT_TRUE(waitFor("return String(document.querySelectorAll('#main .history').length)", "1"));
    const auto row = browser_->text("return document.querySelector('#main .history').textContent");
    EXPECT_THAT(row, HasSubstr("Cup Final"));
    EXPECT_THAT(row, HasSubstr("purchase"));
    EXPECT_THAT(row, HasSubstr("€12.99"));
    EXPECT_THAT(row, HasSubstr("waiting for settlement"));
    // Paid on the phone (ppv's order), not on credit: the credit is untouched.
    ASSERT_TRUE(waitFor("return document.querySelector('#main .history .method').dataset.method", "phone"));
    EXPECT_THAT(row, HasSubstr("phone"));
    EXPECT_EQ(browser_->text("return document.querySelector('#main .history .settlement').dataset.state"), "unsettled");
    EXPECT_THAT(text("unsettled"), HasSubstr("1 record"));
    EXPECT_EQ(text("credit"), "€50.00 of €50.00");
    EXPECT_EQ(text("outstanding"), "€0.00");
    shot("history");

    // The server's settlement result comes back (the stand-in's hook): billing.1.settled
    // reaches the screen and the record shows as settled.
    admin("ppv.1.standInSettle", "keys", keys().string());
    ASSERT_TRUE(waitFor("return document.querySelector('#main .history .settlement').dataset.state", "settled"));
    EXPECT_EQ(browser_->text("return document.querySelector('#main .history .settlement').textContent"), "settled");
    EXPECT_THAT(text("unsettled"), HasSubstr("0 records"));
    shot("history-settled");

    press({key::F1});
    ASSERT_TRUE(waitForScreen("guide"));
    EXPECT_TRUE(waitFor("return document.querySelector('[data-id=ev-final] .badge').dataset.state", "owned"));
}

TEST_F(TvUi, DeclineOnThePhoneIsShown)
{
    ASSERT_NO_FATAL_FAILURE(buy(0, "1234"));
    ASSERT_TRUE(waitForScreen("order"));
    admin("ppv.1.standInResolve", "orderId", "ord-1", "state", "declined");
    ASSERT_TRUE(waitFor("return document.getElementById('order-state').dataset.state", "declined"));
    EXPECT_THAT(message(), HasSubstr("declined on your phone"));
    EXPECT_EQ(focused(), "guide");
    shot("declined");
}

TEST_F(TvUi, OtpPurchaseTakesTheOneTimePasswordFromTheDigits)
{
    ASSERT_NO_FATAL_FAILURE(buy(1, "1234"));
    ASSERT_TRUE(waitForScreen("otp"));
    EXPECT_FALSE(text("transaction").empty());
    press({"6", "5", "4", "3", "2", "1"});  // wrong
    ASSERT_TRUE(waitFor("return document.getElementById('message').hidden ? '' : 'shown'", "shown"));
    EXPECT_THAT(message(), HasSubstr("one-time password is wrong"));
    EXPECT_EQ(screen(), "otp");
    press({"1", "2", "3"});
    EXPECT_EQ(text("digits"), "123");
    shot("otp");
    press({"4", "5", "6"});
    ASSERT_TRUE(waitFor("return document.getElementById('order-state').dataset.state", "approved"));
    EXPECT_EQ(screen(), "order");
    EXPECT_EQ(browser_->text("return document.getElementById('order-method').dataset.method"), "otp");

    // The history says it was paid with a one-time password.
    press({key::F3});
    ASSERT_TRUE(waitForScreen("history"));
    ASSERT_TRUE(waitFor("const m = document.querySelector('#main .history .method'); return m ? m.dataset.method : ''", "otp"));
    EXPECT_THAT(browser_->text("return document.querySelector('#main .history').textContent"), HasSubstr("one-time password"));
    shot("history-otp");
}

TEST_F(TvUi, EveryRefusalHasAClearMessage)
{
    // Wrong PIN: stays on the PIN screen with the attempts left.
    ASSERT_NO_FATAL_FAILURE(buy(0, "9999"));
    ASSERT_TRUE(waitForMessage("pin-wrong"));
    EXPECT_THAT(message(), HasSubstr("Wrong PIN. 2 attempts left."));
    EXPECT_EQ(screen(), "pin");
    EXPECT_EQ(text("digits"), "");
    shot("pin-wrong");
    press({key::Escape});  // leave the PIN screen (nothing typed)
    ASSERT_TRUE(waitForScreen("event"));
    press({key::Escape});
    ASSERT_TRUE(waitForScreen("guide"));

    // No credit.
    press({key::Down});
    ASSERT_NO_FATAL_FAILURE(buy(0, "1234"));
    ASSERT_TRUE(waitForMessage("no-credit"));
    EXPECT_THAT(message(), HasSubstr("Not enough credit"));
    EXPECT_EQ(screen(), "event");
    shot("no-credit");
    press({key::Escape});
    ASSERT_TRUE(waitForScreen("guide"));

    // Phone not paired.
    press({key::Down});
    EXPECT_EQ(focused(), "ev-fight");
    ASSERT_NO_FATAL_FAILURE(buy(0, "1234"));
    ASSERT_TRUE(waitForMessage("phone-not-paired"));
    EXPECT_THAT(message(), HasSubstr("No phone is paired"));
    shot("phone-not-paired");
    press({key::Escape});
    ASSERT_TRUE(waitForScreen("guide"));

    // Window closed: the event page says so at once.
    press({key::Down});
    EXPECT_EQ(focused(), "ev-classic");
    press({key::Enter});
    ASSERT_TRUE(waitForScreen("event"));
    EXPECT_EQ(text("event-state"), "Sale closed");
    press({key::Enter});
    ASSERT_TRUE(waitForMessage("window-closed"));
    EXPECT_THAT(message(), HasSubstr("no longer on sale"));
    EXPECT_EQ(screen(), "event");
    shot("window-closed");

    // Ticket expired: from the tickets on the "playing" screen (green).
    press({key::F2});
    ASSERT_TRUE(waitForScreen("playing"));
    ASSERT_TRUE(waitFor("return String(document.querySelectorAll('#main .ticket').length)", "2"));
    press({key::Down});
    EXPECT_EQ(focused(), "tk-lastweek");
    press({key::Enter});
    ASSERT_TRUE(waitForMessage("ticket-expired"));
    EXPECT_THAT(message(), HasSubstr("ticket for this event has expired"));
    shot("ticket-expired");
}

TEST_F(TvUi, PinLocksAfterThreeWrongAttempts)
{
    ASSERT_NO_FATAL_FAILURE(buy(0, "1111"));
    ASSERT_TRUE(waitForMessage("pin-wrong"));
    press({"2", "2", "2", "2"});
    ASSERT_TRUE(waitFor("const m = document.getElementById('message'); return m.textContent.includes('1 attempt left') ? 'y' : 'n'", "y"));
    press({"3", "3", "3", "3"});
    ASSERT_TRUE(waitForMessage("pin-locked"));
    EXPECT_THAT(message(), HasSubstr("PIN locked"));
    EXPECT_THAT(message(), HasSubstr("Try again after"));
    EXPECT_EQ(screen(), "event");
    shot("pin-locked");

    // Even the right PIN is refused while locked.
    press({key::Enter});
    ASSERT_TRUE(waitForScreen("pin"));
    press({"1", "2", "3", "4"});
    ASSERT_TRUE(waitForMessage("pin-locked"));
    EXPECT_THAT(message(), Not(HasSubstr("Wrong PIN")));
}

TEST_F(TvUi, ReconnectsWhenTheDaemonComesBack)
{
    press({key::Down});
    daemon_->signal(SIGTERM);
    ASSERT_TRUE(daemon_->wait(30s).has_value());
    ASSERT_TRUE(waitFor("return document.getElementById('connection').dataset.state", "offline"));
    // A call while the box is away fails with a clear message, not a hang.
    press({key::F3});
    ASSERT_TRUE(waitForScreen("history"));
    ASSERT_TRUE(waitForMessage("unavailable"));
    EXPECT_THAT(message(), HasSubstr("not answering"));
    shot("offline");

    const auto port = port_;
    ASSERT_NO_FATAL_FAILURE(startDaemon({"--set", "rpc.port=" + std::to_string(port)}));
    ASSERT_EQ(port_, port);
    ASSERT_TRUE(waitFor("return document.getElementById('connection').dataset.state", "online"));
    press({key::F3});
    ASSERT_TRUE(waitFor("const n = document.getElementById('unsettled'); return n ? n.textContent : ''", "0 records"));
    press({key::F1});
    ASSERT_TRUE(waitFor("return String(document.querySelectorAll('#main .row').length)", "6"));
    EXPECT_EQ(focused(), "ev-concert");  // the guide kept its place
    // Events flow again on the new connection: IR keys arrive as input.1.key.
    remote({KEY_DOWN});
    ASSERT_TRUE(waitFor("const f = document.querySelector('#main .focused'); return f ? f.dataset.id : ''", "ev-fight"));
}

} // namespace
