#include "WebDriver.h"

#include <boxoffice/base/Error.h>

#include <Poco/Base64Decoder.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace boxoffice::tests::ui {

using namespace std::chrono_literals;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::string stringify(const Poco::Dynamic::Var& v)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(v, out);
    return out.str();
}

std::uint16_t freePort()
{
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    const auto port = socket.address().port();
    socket.close();
    return port;
}

std::string chromiumBinary()
{
    // Debian's /usr/bin/chromium is a wrapper script; chromedriver wants the program.
    for (const char* candidate : {"/usr/lib/chromium/chromium", "/usr/bin/chromium"})
        if (std::filesystem::exists(candidate)) return candidate;
    throw Error(ErrorCode::NotFound, "chromium is not installed (Debian package chromium)");
}

} // namespace

WebDriver::WebDriver() : profile_("boxoffice-ui-chromium")
{
    const std::filesystem::path program = "/usr/bin/chromedriver";
    if (!std::filesystem::exists(program))
        throw Error(ErrorCode::NotFound, "chromedriver is not installed (Debian package chromium-driver)");
    port_ = freePort();
    driver_ = std::make_unique<testing::ChildProcess>(program, std::vector<std::string>{"--port=" + std::to_string(port_)});
    if (!driver_->waitForOutput("started successfully", 20s))
        throw Error(ErrorCode::Unavailable, "chromedriver did not start: " + driver_->output());

    Array::Ptr args = new Array;
    for (const auto& arg : std::vector<std::string>{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                  "--window-size=1280,720", "--force-device-scale-factor=1", "--hide-scrollbars",
                                  "--no-first-run", "--user-data-dir=" + profile_.path().string()})
        args->add(arg);
    Object::Ptr chrome = new Object;
    chrome->set("binary", chromiumBinary());
    chrome->set("args", args);
    Object::Ptr always = new Object;
    always->set("browserName", "chrome");
    always->set("goog:chromeOptions", chrome);
    Object::Ptr capabilities = new Object;
    capabilities->set("alwaysMatch", always);
    Object::Ptr body = new Object;
    body->set("capabilities", capabilities);
    const auto value = request("POST", "/session", stringify(body)).extract<Object::Ptr>();
    session_ = value->getValue<std::string>("sessionId");

    // --window-size sets the window, not the page: grow it by the browser's own frame
    // so that the page gets exactly 1280x720.
    const auto frame = execute("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
                           .extract<Poco::JSON::Array::Ptr>();
    Object::Ptr rect = new Object;
    rect->set("width", 1280 + frame->getElement<int>(0));
    rect->set("height", 720 + frame->getElement<int>(1));
    request("POST", "/session/" + session_ + "/window/rect", stringify(rect));
}

WebDriver::~WebDriver()
{
    try {
        if (!session_.empty()) request("DELETE", "/session/" + session_);
    } catch (...) {
        // chromedriver is killed below anyway
    }
    driver_.reset();
}

Poco::Dynamic::Var WebDriver::request(const std::string& method, const std::string& path, const std::string& body)
{
    Poco::Net::HTTPClientSession http("127.0.0.1", port_);
    http.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (method == "POST") {
        req.setContentType("application/json; charset=utf-8");
        req.setContentLength(static_cast<std::streamsize>(body.size()));
        http.sendRequest(req) << body;
    } else {
        http.sendRequest(req);
    }
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(http.receiveResponse(response), text);
    Poco::Dynamic::Var value;
    try {
        value = Poco::JSON::Parser().parse(text).extract<Object::Ptr>()->get("value");
    } catch (const Poco::Exception&) {
        throw Error(ErrorCode::Malformed, "WebDriver " + method + " " + path + ": not JSON: " + text.substr(0, 200));
    }
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        std::string message = text;
        if (value.type() == typeid(Object::Ptr)) {
            const auto o = value.extract<Object::Ptr>();
            message = o->optValue<std::string>("error", "") + ": " + o->optValue<std::string>("message", "");
        }
        throw Error(ErrorCode::Unavailable, "WebDriver " + method + " " + path + " failed: " + message);
    }
    return value;
}

void WebDriver::navigate(const std::string& url)
{
    Object::Ptr body = new Object;
    body->set("url", url);
    request("POST", "/session/" + session_ + "/url", stringify(body));
}

void WebDriver::press(const std::vector<std::string>& keys)
{
    Array::Ptr steps = new Array;
    for (const auto& k : keys) {
        for (const char* type : {"keyDown", "keyUp"}) {
            Object::Ptr step = new Object;
            step->set("type", type);
            step->set("value", k);
            steps->add(step);
        }
    }
    Object::Ptr keyboard = new Object;
    keyboard->set("type", "key");
    keyboard->set("id", "remote");
    keyboard->set("actions", steps);
    Array::Ptr actions = new Array;
    actions->add(keyboard);
    Object::Ptr body = new Object;
    body->set("actions", actions);
    request("POST", "/session/" + session_ + "/actions", stringify(body));
    request("DELETE", "/session/" + session_ + "/actions");
}

Poco::Dynamic::Var WebDriver::execute(const std::string& script)
{
    Object::Ptr body = new Object;
    body->set("script", script);
    body->set("args", Array::Ptr(new Array));
    return request("POST", "/session/" + session_ + "/execute/sync", stringify(body));
}

std::string WebDriver::text(const std::string& script)
{
    const auto v = execute(script);
    return v.isEmpty() ? std::string() : v.convert<std::string>();
}

void WebDriver::screenshot(const std::filesystem::path& png)
{
    const auto base64 = request("GET", "/session/" + session_ + "/screenshot").convert<std::string>();
    std::istringstream in(base64);
    Poco::Base64Decoder decoder(in);
    std::filesystem::create_directories(png.parent_path());
    std::ofstream out(png, std::ios::binary | std::ios::trunc);
    Poco::StreamCopier::copyStream(decoder, out);
    if (!out) throw Error(ErrorCode::Io, "cannot write " + png.string());
}

} // namespace boxoffice::tests::ui
