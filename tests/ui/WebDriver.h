#pragma once
// A small W3C WebDriver client (HTTP + JSON over Poco) for the TV UI tests:
// starts chromedriver as a child process and one headless Chromium session
// with a 1280x720 viewport; navigates, presses keys through the Actions API,
// runs scripts to read the DOM, saves screenshots.

#include <boxoffice/testing/ChildProcess.h>

#include <Poco/Dynamic/Var.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace boxoffice::tests::ui {

// WebDriver key values (W3C WebDriver §17.4.2, "keyboard actions").
namespace key {
inline constexpr const char* Up = "\xEE\x80\x93";        // U+E013
inline constexpr const char* Down = "\xEE\x80\x95";      // U+E015
inline constexpr const char* Left = "\xEE\x80\x92";      // U+E012
inline constexpr const char* Right = "\xEE\x80\x94";     // U+E014
inline constexpr const char* Enter = "\xEE\x80\x87";     // U+E007: OK
inline constexpr const char* Backspace = "\xEE\x80\x83"; // U+E003: BACK
inline constexpr const char* Escape = "\xEE\x80\x8C";    // U+E00C: BACK
inline constexpr const char* F1 = "\xEE\x80\xB1";        // U+E031: red
inline constexpr const char* F2 = "\xEE\x80\xB2";        // U+E032: green
inline constexpr const char* F3 = "\xEE\x80\xB3";        // U+E033: yellow
inline constexpr const char* F4 = "\xEE\x80\xB4";        // U+E034: blue
} // namespace key

class WebDriver {
public:
    // Starts chromedriver and a headless Chromium session; throws Error naming what failed.
    WebDriver();
    ~WebDriver();  // ends the session, stops chromedriver
    WebDriver(const WebDriver&) = delete;
    WebDriver& operator=(const WebDriver&) = delete;

    void navigate(const std::string& url);
    // One key down + up per entry, in order (a digit, or a key:: value).
    void press(const std::vector<std::string>& keys);
    // Runs `script` (a function body; `return` gives the result) in the page.
    Poco::Dynamic::Var execute(const std::string& script);
    std::string text(const std::string& script);  // execute() as a string ("" for null)
    void screenshot(const std::filesystem::path& png);

private:
    Poco::Dynamic::Var request(const std::string& method, const std::string& path, const std::string& body = {});

    testing::TempDir profile_;
    std::unique_ptr<testing::ChildProcess> driver_;
    std::uint16_t port_ = 0;
    std::string session_;
};

} // namespace boxoffice::tests::ui
