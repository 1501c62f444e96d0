// The TV UI against the REAL ppv plugin (plugins/ppv) with the real billing
// plugin; its catalog comes from tests/ui/feeder through ppv::Wallet (as sync
// would deliver it). No operator server and no sync: the real plugin's PIN
// check and its refusals (pin-wrong, no-line, window-closed) reach the screen.

#include "TvUi.h"

#include <gmock/gmock.h>

using namespace boxoffice::tests::ui;
using ::testing::HasSubstr;

namespace {

class TvUiWithRealPpv : public TvUi {
protected:
    std::vector<std::filesystem::path> ppvPlugins() override { return {PPV_PLUGIN, CATALOG_FEEDER_PLUGIN}; }
    int guideRows() override { return 2; }
    std::string extraSections() override
    {
        const auto k = keys();
        return R"(, "ppv": {"deviceDirectory": ")" + (k / "devices" / "stb-1").string() + R"(",
                    "trustAnchor": ")" + (k / "root" / "root.json").string() + R"(", "pin": {"iterations": 1000}})";
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

} // namespace
