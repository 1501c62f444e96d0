// The TV UI end to end: a real boxofficed serving stb/ui/web, the real billing
// plugin, and tests/ui/standin (a STAND-IN for plugins/ppv with canned data —
// see its header) — driven in headless Chromium over WebDriver by key presses
// only. The DOM is read through scripts; screenshots are kept as artefacts.

#include "WebDriver.h"

#include <boxoffice/rpc/Client.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/testing/ChildProcess.h>

#include <Poco/JSON/Object.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/input.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <iostream>

using namespace boxoffice;
using namespace boxoffice::testing;
using namespace boxoffice::tests::ui;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr const char* kTvToken = "tv-ui-token";      // what the TV's browser holds: read + control
constexpr const char* kTestToken = "ui-test-token";  // the test's own hooks: admin

// One development key set for the whole suite (the billing plugin's device identity).
const std::filesystem::path& keys()
{
    static TempDir dir("boxoffice-ui-keys");
    static const bool made = [] {
        ChildProcess tool(KEYTOOL, {"dev", "--out", (dir / "keys").string()});
        return tool.wait(60s) == 0;
    }();
    static const auto path = dir / "keys";
    if (!made) throw std::runtime_error("boxoffice-keytool dev failed");
    return path;
}

class TvUi : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto plugins = dir_ / "plugins";
        std::filesystem::create_directories(plugins);
        std::filesystem::create_symlink(BILLING_PLUGIN, plugins / std::filesystem::path(BILLING_PLUGIN).filename());
        std::filesystem::create_symlink(STANDIN_PPV_PLUGIN, plugins / std::filesystem::path(STANDIN_PPV_PLUGIN).filename());
        std::filesystem::create_symlink(INPUT_PLUGIN, plugins / std::filesystem::path(INPUT_PLUGIN).filename());
        // The IR receiver: a FIFO stands in for /dev/input/eventN (no uinput here).
        ASSERT_EQ(::mkfifo((dir_ / "ir-receiver").c_str(), 0600), 0);
        const auto k = keys();
        writeFile(dir_ / "boxofficed.json", R"({
  "host": {"pluginDirectory": ")" + plugins.string() + R"(", "dataDirectory": "data"},
  "rpc": {"port": 0, "portFile": "port", "webRoot": ")" UI_WEB_ROOT R"(",
          "tokens": [{"client": "tv", "sha256": ")" + rpc::TokenStore::digest(kTvToken) + R"(", "scopes": ["read", "control"]},
                     {"client": "test", "sha256": ")" + rpc::TokenStore::digest(kTestToken) + R"(", "scopes": ["read", "control", "admin"]}]},
  "plugins": {"billing": {"deviceDirectory": ")" + (k / "devices" / "stb-1").string() + R"(",
                          "trustAnchor": ")" + (k / "root" / "root.json").string() + R"(", "creditLimit": 5000},
              "input": {"devices": [")" + (dir_ / "ir-receiver").string() + R"("]}}
})");
        daemon_ = std::make_unique<ChildProcess>(BOXOFFICED, std::vector<std::string>{"--config", (dir_ / "boxofficed.json").string()});
        ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir_ / "port") || !daemon_->running(); }, 30s));
        ASSERT_TRUE(std::filesystem::exists(dir_ / "port")) << daemon_->output();
        port_ = static_cast<std::uint16_t>(std::stoi(readFile(dir_ / "port")));

        browser_ = std::make_unique<WebDriver>();
        browser_->navigate("http://127.0.0.1:" + std::to_string(port_) + "/?token=" + kTvToken);
        ASSERT_TRUE(waitFor("return document.querySelectorAll('#main .row').length", "6")) << daemon_->output();
        ASSERT_TRUE(waitFor("return document.getElementById('connection').dataset.state", "online"));
    }

    void TearDown() override
    {
        if (::testing::Test::HasFailure() && browser_) shot("failure");
    }

    // Polls a script until it returns `expected` (as text).
    bool waitFor(const std::string& script, const std::string& expected)
    {
        std::string last;
        const bool ok = eventually([&] { return (last = browser_->text(script)) == expected; }, 5s);
        if (!ok) std::cerr << "waited for '" << expected << "', got '" << last << "' from: " << script << '\n';
        return ok;
    }
    bool waitForScreen(const std::string& screen) { return waitFor("return document.body.dataset.screen", screen); }

    std::string screen() { return browser_->text("return document.body.dataset.screen"); }
    std::string focused() { return browser_->text("const f = document.querySelector('#main .focused'); return f ? f.dataset.id : ''"); }
    std::string text(const std::string& id)
    {
        return browser_->text("const n = document.getElementById('" + id + "'); return n ? n.textContent : ''");
    }
    // The refusal or notice on screen: "<reason>|<sentence>", or "" when none.
    std::string message()
    {
        return browser_->text("const m = document.getElementById('message');"
                              "return m.hidden ? '' : m.dataset.reason + '|' + m.textContent");
    }
    bool waitForMessage(const std::string& reason)
    {
        return waitFor("const m = document.getElementById('message'); return m.hidden ? '' : m.dataset.reason", reason);
    }

    void press(const std::vector<std::string>& keys) { browser_->press(keys); }

    // Key presses from the IR receiver: press + release events, as the kernel writes them.
    void remote(const std::vector<unsigned>& codes)
    {
        std::string bytes;
        for (const auto code : codes) {
            for (const int value : {1, 0}) {
                for (const auto& ev : {input_event{{}, EV_KEY, static_cast<__u16>(code), value}, input_event{{}, EV_SYN, SYN_REPORT, 0}})
                    bytes.append(reinterpret_cast<const char*>(&ev), sizeof ev);
            }
        }
        const int fd = ::open((dir_ / "ir-receiver").c_str(), O_WRONLY | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        ::close(fd);
    }

    void shot(const std::string& name)
    {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        const auto png = std::filesystem::path(UI_ARTIFACTS) / (std::string(info->name()) + "-" + name + ".png");
        browser_->screenshot(png);
        std::cout << "screenshot: " << png.string() << std::endl;
    }

    Poco::JSON::Object::Ptr admin(const std::string& method, const std::string& key = {}, const std::string& value = {},
                                  const std::string& key2 = {}, const std::string& value2 = {})
    {
        rpc::HttpClient client("127.0.0.1", port_, kTestToken);
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        if (!key.empty()) params->set(key, value);
        if (!key2.empty()) params->set(key2, value2);
        return client.call(method, params).extract<Poco::JSON::Object::Ptr>();
    }

    // From the guide: the focused event's page, then its Buy button (index 0 phone, 1 OTP), then the PIN.
    void buy(int button, const std::string& pin)
    {
        press({key::Enter});
        ASSERT_TRUE(waitForScreen("event"));
        for (int i = 0; i < button; ++i) press({key::Right});
        press({key::Enter});
        ASSERT_TRUE(waitForScreen("pin"));
        for (char c : pin) press({std::string(1, c)});
    }

    TempDir dir_{"boxoffice-ui"};
    std::unique_ptr<ChildProcess> daemon_;
    std::uint16_t port_ = 0;
    std::unique_ptr<WebDriver> browser_;
};

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
    EXPECT_THAT(row, HasSubstr("unsettled"));
    EXPECT_THAT(text("unsettled"), HasSubstr("1 record"));
    shot("history");

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

} // namespace
