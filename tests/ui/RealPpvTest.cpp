// The TV UI against the REAL ppv plugin (plugins/ppv) with the real billing
// plugin; its catalog comes from tests/ui/feeder through ppv::Wallet (as sync
// would deliver it). No operator server and no sync: the real plugin's PIN
// check and its refusals (pin-wrong, no-line, window-closed) reach the screen,
// and, without a line, dormant tickets the feeder delivered are bought on
// credit (flow 5) under the real billing plugin's credit limit (50.00 EUR).

#include "TvUi.h"

#include <gmock/gmock.h>

using namespace boxoffice::tests::ui;
using ::testing::HasSubstr;

namespace {

class TvUiWithRealPpv : public TvUi {
protected:
    std::vector<std::filesystem::path> ppvPlugins() override { return {PPV_PLUGIN, CATALOG_FEEDER_PLUGIN}; }
    int guideRows() override { return 4; }
    std::string extraSections() override
    {
        const auto k = keys();
        return R"(, "ppv": {"deviceDirectory": ")" + (k / "devices" / "stb-1").string() + R"(",
                    "trustAnchor": ")" + (k / "root" / "root.json").string() + R"(", "pin": {"iterations": 1000}},
                  "ui-catalog-feeder": {"keys": ")" + k.string() + R"("})";
    }
};

TEST_F(TvUiWithRealPpv, GuidePinAndRefusalsComeFromTheRealPlugin)
{
    EXPECT_EQ(focused(), "ev-real");
    const auto row = browser_->text("return document.querySelector('[data-id=ev-real]').textContent");
    EXPECT_THAT(row, HasSubstr("Real Plugin Derby"));
    EXPECT_THAT(row, HasSubstr("€12.50"));
    EXPECT_THAT(row, HasSubstr("On sale until"));
    EXPECT_TRUE(waitFor("return document.querySelector('[data-id=ev-closed] .badge').dataset.state", "window-closed"));
    shot("guide");

    ASSERT_NO_FATAL_FAILURE(buy(0, "9999"));
    ASSERT_TRUE(waitForMessage("pin-wrong"));
    EXPECT_THAT(message(), HasSubstr("Wrong PIN. 2 attempts left."));
    press({key::Escape, key::Escape});
    ASSERT_TRUE(waitForScreen("guide"));

    // The right PIN (the plugin's initial 1234), but the box has no line to the operator.
    ASSERT_NO_FATAL_FAILURE(buy(0, "1234"));
    ASSERT_TRUE(waitForMessage("no-line"));
    EXPECT_THAT(message(), HasSubstr("no connection to the operator"));
    EXPECT_EQ(screen(), "event");
    shot("no-line");

    // The PIN counter was reset by the right PIN.
    EXPECT_EQ(admin("ppv.1.pinStatus")->getValue<int>("attemptsLeft"), 3);

    press({key::Escape, key::Down, key::Enter});
    ASSERT_TRUE(waitForScreen("event"));
    EXPECT_EQ(text("event-title"), "Yesterday's Final");
    press({key::Enter});
    ASSERT_TRUE(waitForMessage("window-closed"));
}

// Flow 5 on the TV: a ticket delivered ahead shows as "delivered — buy to watch";
// Buy (no line) buys it on credit at once; the history shows the payment method,
// that it waits for settlement, and the credit left; a purchase above the credit
// left is refused with its own sentence and stores nothing.
TEST_F(TvUiWithRealPpv, DormantTicketIsBoughtOnCreditAndTheHistoryShowsIt)
{
    EXPECT_TRUE(waitFor("return document.querySelector('[data-id=ev-dormant] .badge').dataset.state", "delivered"));
    EXPECT_THAT(browser_->text("return document.querySelector('[data-id=ev-dormant]').textContent"),
                HasSubstr("Delivered — buy to watch"));
    EXPECT_EQ(browser_->text("return document.querySelector('[data-id=ev-real] .badge').dataset.state"), "on-sale");
    shot("guide-delivered");

    press({key::Down, key::Down});
    EXPECT_EQ(focused(), "ev-dormant");
    press({key::Enter});
    ASSERT_TRUE(waitForScreen("event"));
    ASSERT_TRUE(waitFor("return document.getElementById('event-state').dataset.state", "delivered"));
    EXPECT_EQ(text("event-state"), "Delivered — buy to watch");
    EXPECT_THAT(text("event-note"), HasSubstr("bought on credit"));
    EXPECT_EQ(focused(), "buy-phone");
    shot("event-delivered");
    press({key::Escape});
    ASSERT_TRUE(waitForScreen("guide"));

    ASSERT_NO_FATAL_FAILURE(buy(0, "1234"));
    ASSERT_TRUE(waitForScreen("order"));
    ASSERT_TRUE(waitFor("return document.getElementById('order-state').dataset.state", "approved"));
    EXPECT_EQ(browser_->text("return document.getElementById('order-method').dataset.method"), "credit");
    EXPECT_THAT(text("order-state"), HasSubstr("Bought on credit"));
    EXPECT_EQ(browser_->text("return String(document.getElementById('transaction') === null)"), "true");
    EXPECT_EQ(focused(), "watch");
    shot("bought-on-credit");

    // The real billing plugin holds one deferred record; the screen says how it was paid.
    press({key::F3});
    ASSERT_TRUE(waitForScreen("history"));
    ASSERT_TRUE(waitFor("return String(document.querySelectorAll('#main .history').length)", "1"));
    const auto row = browser_->text("return document.querySelector('#main .history').textContent");
    EXPECT_THAT(row, HasSubstr("Delivered Derby"));
    EXPECT_THAT(row, HasSubstr("€19.99"));
    EXPECT_THAT(row, HasSubstr("waiting for settlement"));
    EXPECT_EQ(browser_->text("return document.querySelector('#main .history .method').dataset.method"), "credit");
    EXPECT_EQ(browser_->text("return document.querySelector('#main .history .settlement').dataset.state"), "unsettled");
    EXPECT_EQ(text("credit"), "€30.01 of €50.00");  // limit 50.00 minus the unsettled 19.99
    EXPECT_EQ(text("outstanding"), "€19.99");
    shot("history-credit");

    press({key::F1});
    ASSERT_TRUE(waitForScreen("guide"));
    EXPECT_TRUE(waitFor("return document.querySelector('[data-id=ev-dormant] .badge').dataset.state", "owned"));

    // 60.00 is over the 30.01 left: refused, nothing stored.
    press({key::Down, key::Down, key::Down});
    EXPECT_EQ(focused(), "ev-dear");
    ASSERT_NO_FATAL_FAILURE(buy(0, "1234"));
    ASSERT_TRUE(waitForMessage("over-credit-limit"));
    EXPECT_THAT(message(), HasSubstr("over your credit limit"));
    EXPECT_THAT(message(), HasSubstr("It costs €60.00; €30.01 of your €50.00 credit is left."));
    EXPECT_EQ(screen(), "event");
    EXPECT_EQ(text("event-state"), "Delivered — buy to watch");
    shot("over-credit-limit");
    EXPECT_EQ(admin("billing.1.credit")->getValue<int>("outstanding"), 1999);
    EXPECT_EQ(admin("billing.1.credit")->getValue<int>("lastSequence"), 1);
}

} // namespace
