#pragma once
// The whole BoxOffice system as real processes on one machine, for the demo
// (tests/e2e/demo) and the end-to-end benchmarks (tests/bench/e2e):
//
//   operator server (boxoffice-server: https + settlement, SQLite), with the development keys
//   headend        (ffmpeg test video, scrambled by boxoffice-headend under an event key)
//   STB            (boxofficed: bluetooth, billing, descrambler, sync, ppv; the TV UI)
//   fake BlueZ     (a private dbus-daemon with the test org.bluez)
//   phone          (the reference phone library over the fake radio and its own HTTPS line)
//
// Each step is a method, in the order the demo takes them; `say` gets the progress
// lines the demo prints (an empty function keeps them quiet).

#include "FakeBluez.h"     // tests/bluetooth/fakebluez: the fake org.bluez
#include "PrivateBus.h"    // tests/bluetooth/fakebluez: a private dbus-daemon
#include "ServerProcess.h" // tests/server: a real boxoffice-server and the development keys

#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/phone/FakeRadioLink.h>
#include <boxoffice/phone/Phone.h>
#include <boxoffice/phone/ServerLine.h>
#include <boxoffice/phone/Settler.h>
#include <boxoffice/rpc/Client.h>
#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Receipt.h>

#include <Poco/JSON/Object.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::e2e {

using Say = std::function<void(const std::string&)>;

// <build> (the parent of this program's bin/), also exported as BOXOFFICE_BUILD_DIR.
std::filesystem::path buildDir();
std::string json(const Poco::Dynamic::Var& v, bool pretty = false);
Poco::JSON::Object::Ptr parse(const std::string& text);
Poco::JSON::Object::Ptr params(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields);
std::string money(std::int64_t minor, const std::string& currency);
// Runs a shell command; throws naming `what` when it fails.
void run(const std::string& command, const std::string& what);

// boxofficed as a process with a JSON-RPC port.
class Stb {
public:
    // Writes `config` to <dir>/boxofficed.json; its rpc.portFile must be <dir>/rpc.port.
    Stb(const std::filesystem::path& dir, const std::string& config);
    int stop();
    void start();   // again, after stop(), on the same configuration and data
    const std::filesystem::path& dir() const { return dir_; }
    std::string output() const { return process_->output(); }
    pid_t pid() const { return process_->pid(); }
    std::uint16_t port = 0;

private:
    std::filesystem::path dir_;
    std::unique_ptr<testing::ChildProcess> process_;
};

// The TV's side of JSON-RPC: calls, and the events it subscribed to.
class Tv {
public:
    Tv(std::uint16_t port, const std::string& token) : ws_("127.0.0.1", port, token) {}
    Poco::Dynamic::Var call(const std::string& method, const Poco::Dynamic::Var& params = Poco::JSON::Object::Ptr(new Poco::JSON::Object));
    Poco::JSON::Object::Ptr object(const std::string& method,
                                   const Poco::Dynamic::Var& params = Poco::JSON::Object::Ptr(new Poco::JSON::Object));
    // The error text of a call that must fail (empty if it did not fail).
    std::string refusal(const std::string& method, const Poco::Dynamic::Var& params);
    void subscribe(const std::vector<std::string>& events);
    // The params of the next `method` notification matching `accept`, or null.
    Poco::JSON::Object::Ptr waitFor(const std::string& method, std::chrono::seconds timeout,
                                    const std::function<bool(const Poco::JSON::Object::Ptr&)>& accept = {});
    // Follows ppv.1.orderChanged (subscribed by Stack::startStb) until `orderId` is in a final
    // state; that Order, or ppv.1.order's answer when no final event came within `timeout`.
    Poco::JSON::Object::Ptr finalOrder(const std::string& orderId, std::chrono::seconds timeout);
    rpc::WebSocketClient& socket() { return ws_; }

private:
    rpc::WebSocketClient ws_;
};

// A pay-per-view event: on the server's catalog and in the STB's broadcast configuration.
struct Event {
    std::string eventId;                // the server's id, e.g. "ev-final"
    std::string title;
    std::int64_t price = 450;           // minor units, EUR
    int dvbEventId = 7;                 // the EIT event_id the headend puts in the stream and ECMs
    std::filesystem::path stream;       // the scrambled transport stream (Stack::scramble)
    std::int64_t endsAt = 0;            // Unix time (the server's tickets expire then); 0: two hours after the stack started
};

// What the phone saw of one settlement request (steady clock).
struct PhoneSettlement {
    std::string transactionId;
    std::chrono::steady_clock::time_point requested;  // the SettlementRequest arrived over Bluetooth
    std::chrono::steady_clock::time_point approved;   // the phone answered the STB: after the server took the decision (and the receipt's acknowledgement)
};

class Stack {
public:
    // Works in a fresh temp directory named after `name`.
    explicit Stack(const std::string& name, Say say = {});
    ~Stack();

    const std::filesystem::path& dir() const { return dir_.path(); }
    const std::filesystem::path& keys() const;
    std::int64_t startedAt() const { return now_; }

    // Headend: a `seconds` long test video once (ffmpeg), then scrambled copies with
    // DVB-CISSA and ECMs under the development event key ev-demo/1, one per event.
    std::filesystem::path generateVideo(int seconds);
    std::filesystem::path scramble(const Event& event, const std::string& fileName);

    // Operator server with accounts acct-alice (wallet, `depositMinor` EUR prepaid) and studio.
    // `historySync`: with the server's sync plugin (history uploads and phone-carried batches, flow 5).
    server::test::ServerProcess& startServer(bool historySync = false);
    // The server dies and comes back (same database) on another port: the STB's configured
    // line is dead from then on, while the operator's and the phone's lines follow it.
    void moveServer();
    void createAccounts(std::int64_t depositMinor);
    void putEvent(const Event& event);  // on sale from an hour ago for a day, started a minute ago, ending at endsAt
    // The phone's key registered for acct-alice: its subject.
    std::string registerPhoneKey();
    serverapi::ClientResponse operatorCall(const std::string& method, const std::string& path, const std::string& body);
    serverapi::Client& operatorLine() { return *operator_; }
    // The phone's own HTTPS line (requests signed with phone-1's key): raw, and as the phone library's ServerLine.
    serverapi::Client& phoneLine() { return *phoneLine_; }
    std::shared_ptr<phone::ServerLine> phoneServerLine();
    server::test::ServerProcess& server() { return *server_; }

    // The private bus and fake BlueZ, then boxofficed with every STB plugin playing `events`
    // and a TV connection subscribed to the events the steps wait for.
    struct StbOptions {
        std::string videoSink = "fakesink";   // plugins.descrambler.videoSink
        std::string audioSink = "fakesink";
        std::string device = "stb-1";         // the development keys' device identity; also its folder
        bool bluetooth = true;                // false: no bluetooth plugin (a box no phone pairs with)
    };
    Stb& startStb(const std::vector<Event>& events, const StbOptions& options);
    // The TV connects (again, e.g. after stb().stop() and start()), subscribed to those events.
    void connectTv();
    // Another box in its own folder (e.g. device stb-2, bluetooth off) on the same server and TV token;
    // the caller owns it and talks to it with Tv(box->port, token()).
    std::unique_ptr<Stb> startOtherStb(const std::vector<Event>& events, const StbOptions& options);
    Stb& stb() { return *stb_; }
    Tv& tv() { return *tv_; }
    const std::string& token() const { return token_; }
    // Throws unless bluetooth, billing, descrambler, sync and ppv are activated.
    void checkPlugins();

    // The device-code flow: the TV shows a code, the phone presents it over its own line.
    void registerStb();
    // Link-layer then application pairing, both confirmed on the TV; the phone opens a session.
    // `acceptOnTv` false: the viewer declines the pairing code on the TV; the phone is left
    // unpaired, without a session (throws if it paired anyway).
    phone::Phone& pairPhone(bool acceptOnTv = true);
    // From now on the phone approves every settlement request at once over its own line and
    // acknowledges the receipt; `seen` (optional) is told about each, from the phone's thread.
    void approveOnPhone(std::function<void(const PhoneSettlement&)> seen = {});
    // The same with another signed decision (decline, "not me"); no receipt then. `via` Stb: the
    // phone has no line, it seals its decision to the server and hands it to the STB to relay.
    enum class Via { OwnLine, Stb };
    void decideOnPhone(wire::Decision decision, Via via = Via::OwnLine, std::function<void(const PhoneSettlement&)> seen = {});
    // From now on the reference phone app (phone::Settler) over `line` answers the STB:
    // settlement requests (`confirm` is the user), receipts, history handoffs; the phone
    // log and receipt() follow what it does. With an OfflineServerLine it makes the STB relay.
    void runPhoneApp(std::shared_ptr<phone::ServerLine> line, phone::Settler::Confirm confirm,
                     std::function<void(const PhoneSettlement&)> seen = {});
    // The phone's side of an OTP order (flow 4): it fetches the order's codes over its own line
    // and approves with the acknowledge code; returns the one-time password it shows the viewer.
    std::string approveOtpOnPhone(const std::string& orderId);
    // Any other phone (one that misbehaves): counts what reached it, then `handler`'s answer.
    void onPhoneMessage(std::function<std::optional<bluetooth::Message>(const bluetooth::Message&)> handler);
    // How many messages of `type` the phone received from the STB (any handler above).
    int phoneReceived(bluetooth::MessageType type);
    std::vector<std::string> phoneLog();
    std::optional<wire::Receipt> receipt();

private:
    void connectToServer();   // the operator's and the phone's lines to server_
    std::string stbConfig(const std::filesystem::path& stbDir, const std::vector<Event>& events, const StbOptions& options) const;

    Say say_;
    testing::TempDir dir_;
    std::int64_t now_;
    std::filesystem::path clear_;
    std::unique_ptr<server::test::ServerProcess> server_;
    std::unique_ptr<serverapi::Client> operator_;
    std::unique_ptr<serverapi::Client> phoneLine_;
    std::string phoneSubject_;
    std::unique_ptr<fakebluez::PrivateBus> bus_;
    std::unique_ptr<fakebluez::FakeBluez> bluez_;
    std::string token_;
    std::unique_ptr<Stb> stb_;
    std::unique_ptr<Tv> tv_;
    std::shared_ptr<phone::FakeRadioLink> link_;
    std::unique_ptr<phone::Phone> phone_;
    std::mutex phoneMutex_;
    std::vector<std::string> phoneLog_;
    std::optional<wire::Receipt> receipt_;
    std::map<bluetooth::MessageType, int> phoneReceived_;
};

} // namespace boxoffice::e2e
