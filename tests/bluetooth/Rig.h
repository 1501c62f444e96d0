#pragma once
// The integration rig: a private dbus-daemon, the fake org.bluez on it, and the
// real bluetooth plugin (.so) loaded into a PluginHost with a JSON-RPC
// dispatcher, the way boxofficed runs it. Phones are reference phones over
// FakeRadioLink. Shared by the tests and the benchmark.

#include "FakeBluez.h"
#include "PrivateBus.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/PhoneChannel.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/host/PluginHost.h>
#include <boxoffice/phone/FakeRadioLink.h>
#include <boxoffice/phone/Phone.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Logger.h>
#include <Poco/Util/MapConfiguration.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace boxoffice::testing {

using namespace std::chrono_literals;

// Collects the JSON-RPC events a subscribed session receives.
class EventLog : public rpc::EventSink {
public:
    void send(const std::string& text) override
    {
        Poco::JSON::Parser parser;
        auto note = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
        std::lock_guard lock(mutex_);
        events_.push_back(note);
        cv_.notify_all();
    }

    // The params of the next `method` event (consumed), or null after `timeout`.
    Poco::JSON::Object::Ptr waitFor(const std::string& method, std::chrono::milliseconds timeout = 5s)
    {
        std::unique_lock lock(mutex_);
        Poco::JSON::Object::Ptr found;
        cv_.wait_for(lock, timeout, [&] {
            for (auto it = events_.begin(); it != events_.end(); ++it) {
                if ((*it)->getValue<std::string>("method") == method) {
                    found = (*it)->getObject("params");
                    events_.erase(it);
                    return true;
                }
            }
            return false;
        });
        return found;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Poco::JSON::Object::Ptr> events_;
};

struct RigOptions {
    double pairingTimeoutSeconds = 2;
    double linkConfirmTimeoutSeconds = 2;
    std::chrono::milliseconds agentTimeout = 10s;
    std::chrono::milliseconds trustedSetDelay{0};  // the fake BlueZ answers Device1.Trusted this late
    double handshakeTimeoutSeconds = 10;
};

class Rig {
public:
    explicit Rig(RigOptions options = {})
        : fake_({bus_.address(), options.agentTimeout, 10s, options.trustedSetDelay}),
          dataRoot_(std::filesystem::temp_directory_path() /
                    ("bo-bt-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))),
          config_(new Poco::Util::MapConfiguration), dispatcher_(Poco::Logger::get("test.rpc"))
    {
        std::filesystem::create_directories(dataRoot_);
        if (std::getenv("BOXOFFICE_TEST_LOG")) {
            Poco::Logger::root().setChannel(new Poco::ConsoleChannel);
            Poco::Logger::setLevel("", Poco::Message::PRIO_DEBUG);
        }
        config_->setString("plugins.bluetooth.busAddress", bus_.address());
        config_->setString("plugins.bluetooth.name", "Living room");
        config_->setDouble("plugins.bluetooth.pairingTimeoutSeconds", options.pairingTimeoutSeconds);
        config_->setDouble("plugins.bluetooth.linkConfirmTimeoutSeconds", options.linkConfirmTimeoutSeconds);
        config_->setDouble("plugins.bluetooth.handshakeTimeoutSeconds", options.handshakeTimeoutSeconds);
        host::PluginHost::Options hostOptions;
        hostOptions.config = config_.get();
        hostOptions.dataRoot = dataRoot_;
        hostOptions.dispatcher = &dispatcher_;
        host_ = std::make_unique<host::PluginHost>(hostOptions);
        host_->load(pluginPath());
        host_->startAll();
        if (host_->state("bluetooth") != host::PluginState::Activated) {
            std::string reason;
            for (const auto& p : host_->plugins()) reason += p.name + ": " + p.reason + "; ";
            throw std::runtime_error("bluetooth plugin did not start: " + reason);
        }
        events_ = std::make_shared<EventLog>();
        caller_.client = "test";
        caller_.scopes = {"read", "control", "admin", "purchase"};
        caller_.session = events_;
        call("host.1.subscribe",
             R"({"events":["bluetooth.1.linkConfirmation","bluetooth.1.pairingCode","bluetooth.1.pairingResult",)"
             R"("bluetooth.1.phoneConnected","bluetooth.1.phoneDisconnected"]})");
        if (!waitRegistered(1)) throw std::runtime_error("the plugin did not register with the fake BlueZ");
    }

    ~Rig()
    {
        host_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dataRoot_, ec);
    }

    static std::filesystem::path pluginPath()
    {
        const char* build = std::getenv("BOXOFFICE_BUILD_DIR");
        return std::filesystem::path(build ? build : ".") / "lib/boxoffice/plugins/libboxoffice-bluetooth.so";
    }

    // A JSON-RPC call; returns the result, throws std::runtime_error with the error message.
    Poco::Dynamic::Var call(const std::string& method, const std::string& params = "{}")
    {
        const auto text = dispatcher_.handle(
            R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}", caller_);
        Poco::JSON::Parser parser;
        auto response = parser.parse(*text).extract<Poco::JSON::Object::Ptr>();
        if (response->has("error"))
            throw std::runtime_error(response->getObject("error")->getValue<std::string>("message"));
        return response->get("result");
    }

    bool waitRegistered(int registrations, std::chrono::milliseconds timeout = 10s)
    {
        return fake_.waitFor(
            [&](const fakebluez::FakeBluez::State& s) {
                return s.applicationActive && s.applicationsRegistered >= registrations && s.agentCapability == "DisplayYesNo";
            },
            timeout);
    }

    std::shared_ptr<bluetooth::PhoneChannel> channel() { return host_->services().require<bluetooth::PhoneChannel>(); }

    struct TestPhone {
        std::shared_ptr<phone::FakeRadioLink> link;
        std::unique_ptr<phone::Phone> phone;
        std::string stbName;
        std::string code;  // the code the phone showed
    };

    TestPhone connect(const std::string& address, std::uint16_t mtu = 185)
    {
        TestPhone t;
        t.link = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{bus_.address(), address, mtu});
        t.phone = std::make_unique<phone::Phone>(crypto::P256PrivateKey::generate(), "Phone " + address.substr(15));
        return t;
    }

    // Link pairing with the viewer answering `accept` on the TV; returns what the phone saw.
    bool pairLink(TestPhone& t, bool accept, const std::string& method = "confirmation")
    {
        auto result = std::async(std::launch::async, [&] { return t.link->pairLink(123456, method); });
        if (method == "confirmation") {
            auto event = events_->waitFor("bluetooth.1.linkConfirmation");
            if (event && event->getValue<std::string>("passkey") == "123456")
                call("bluetooth.1.confirmLink",
                     R"({"device":")" + event->getValue<std::string>("device") + R"(","accept":)" +
                         (accept ? "true" : "false") + "}");
        }
        return result.get();
    }

    // Opens the pairing window, pairs the link and the application, confirming on the TV.
    void pairFully(TestPhone& t)
    {
        call("bluetooth.1.startPairing");
        if (!pairLink(t, true)) throw std::runtime_error("link pairing failed");
        t.phone->attach(t.link);
        auto done = std::async(std::launch::async, [&] {
            return t.phone->pair([&](const std::string& code) {
                t.code = code;
                return true;
            });
        });
        auto event = events_->waitFor("bluetooth.1.pairingCode");
        if (!event) throw std::runtime_error("no pairing code on the TV");
        call("bluetooth.1.confirmPairing", R"({"phoneId":")" + t.phone->id() + R"(","accept":true})");
        t.stbName = done.get();
        if (event->getValue<std::string>("code") != t.code) throw std::runtime_error("codes differ");
    }

    fakebluez::PrivateBus& bus() { return bus_; }
    fakebluez::FakeBluez& fake() { return fake_; }
    host::PluginHost& host() { return *host_; }
    EventLog& events() { return *events_; }
    const std::filesystem::path& dataRoot() const { return dataRoot_; }

private:
    static int& counter()
    {
        static int value = 0;
        return value;
    }

    fakebluez::PrivateBus bus_;
    fakebluez::FakeBluez fake_;
    std::filesystem::path dataRoot_;
    Poco::AutoPtr<Poco::Util::MapConfiguration> config_;
    rpc::Dispatcher dispatcher_;
    std::unique_ptr<host::PluginHost> host_;
    std::shared_ptr<EventLog> events_;
    rpc::Caller caller_;
};

// Pairs `phone` (link and Phone already made) with the bluetooth plugin of a host the
// test runs itself, the way a viewer does: the link's numeric comparison and the
// application pairing code, each confirmed on the TV through `call` (its JSON-RPC), then
// opens the session; the phone's incoming messages go to `onMessage`. `events`
// must be subscribed to bluetooth.1.linkConfirmation and bluetooth.1.pairingCode.
inline void pairOverRpc(Rig::TestPhone& phone, EventLog& events,
                        const std::function<void(const std::string& method, const std::string& params)>& call,
                        phone::Phone::Handler onMessage)
{
    using namespace std::chrono_literals;
    call("bluetooth.1.startPairing", "{}");
    auto linked = std::async(std::launch::async, [&] { return phone.link->pairLink(123456); });
    auto confirm = events.waitFor("bluetooth.1.linkConfirmation", 10s);
    ASSERT_TRUE(confirm);
    call("bluetooth.1.confirmLink", R"({"device":")" + confirm->getValue<std::string>("device") + R"(","accept":true})");
    ASSERT_TRUE(linked.get());
    phone.phone->attach(phone.link);
    // Before the session opens: the STB may send at once when the phone connects (e.g. a history handoff).
    phone.phone->onMessage(std::move(onMessage));
    auto paired = std::async(std::launch::async, [&] { return phone.phone->pair([](const std::string&) { return true; }); });
    auto code = events.waitFor("bluetooth.1.pairingCode", 10s);
    ASSERT_TRUE(code);
    call("bluetooth.1.confirmPairing", R"({"phoneId":")" + phone.phone->id() + R"(","accept":true})");
    phone.stbName = paired.get();
    if (!phone.phone->hasSession()) phone.phone->openSession(phone.stbName);
}

} // namespace boxoffice::testing
