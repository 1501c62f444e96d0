#pragma once
// The TV UI test fixture: a real boxofficed serving stb/ui/web with the real
// billing and input plugins and tests/ui/standin (a STAND-IN for plugins/ppv
// with canned data — see its header), and headless Chromium over WebDriver on
// the page. Tests drive it by key presses only, read the DOM through scripts
// and keep screenshots as artefacts.

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

namespace boxoffice::tests::ui {

using namespace boxoffice::testing;
using namespace std::chrono_literals;

inline constexpr const char* kTvToken = "tv-ui-token";      // what the TV's browser holds: read + control
inline constexpr const char* kTestToken = "ui-test-token";  // the test's own hooks: admin

// One development key set for the whole suite (the billing plugin's device identity).
inline const std::filesystem::path& keys()
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
    // What a derived fixture adds: plugin libraries and "name": {...} sections.
    virtual std::vector<std::filesystem::path> extraPlugins() { return {}; }
    virtual std::string extraSections() { return {}; }
    // The ppv plugin(s): the stand-in by default.
    virtual std::vector<std::filesystem::path> ppvPlugins() { return {STANDIN_PPV_PLUGIN}; }
    virtual int guideRows() { return 6; }

    void SetUp() override
    {
        const auto plugins = dir_ / "plugins";
        std::filesystem::create_directories(plugins);
        std::filesystem::create_symlink(BILLING_PLUGIN, plugins / std::filesystem::path(BILLING_PLUGIN).filename());
        for (const auto& ppv : ppvPlugins()) std::filesystem::create_symlink(ppv, plugins / ppv.filename());
        std::filesystem::create_symlink(INPUT_PLUGIN, plugins / std::filesystem::path(INPUT_PLUGIN).filename());
        for (const auto& extra : extraPlugins()) std::filesystem::create_symlink(extra, plugins / extra.filename());
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
              "input": {"devices": [")" + (dir_ / "ir-receiver").string() + R"("]})" + extraSections() + R"(}
})");
        ASSERT_NO_FATAL_FAILURE(startDaemon({}));

        browser_ = std::make_unique<WebDriver>();
        browser_->navigate("http://127.0.0.1:" + std::to_string(port_) + "/?token=" + kTvToken);
        ASSERT_TRUE(waitFor("return document.querySelectorAll('#main .row').length", std::to_string(guideRows()))) << daemon_->output();
        ASSERT_TRUE(waitFor("return document.getElementById('connection').dataset.state", "online"));
    }

    // Starts boxofficed on the configuration SetUp wrote; `extra` e.g. {"--set", "rpc.port=N"}.
    void startDaemon(const std::vector<std::string>& extra)
    {
        std::filesystem::remove(dir_ / "port");
        std::vector<std::string> args{"--config", (dir_ / "boxofficed.json").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        daemon_ = std::make_unique<ChildProcess>(BOXOFFICED, args);
        ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir_ / "port") || !daemon_->running(); }, 30s));
        ASSERT_TRUE(std::filesystem::exists(dir_ / "port")) << daemon_->output();
        port_ = static_cast<std::uint16_t>(std::stoi(readFile(dir_ / "port")));
    }

    void TearDown() override
    {
        if (::testing::Test::HasFailure() && browser_) shot("failure");
    }

    // Polls a script until it returns `expected` (as text).
    bool waitFor(const std::string& script, const std::string& expected)
    {
        std::string last;
        const bool ok = eventually([&] { return (last = browser_->text(script)) == expected; }, 10s);  // generous: CI runs ASan on 2 busy cores
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

} // namespace boxoffice::tests::ui
