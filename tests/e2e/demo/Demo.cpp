// boxoffice-demo: the whole PPV story on one machine, with real processes over
// loopback (README's first command runs it through .ci/demo):
//
//   operator server (boxoffice-server: https + settlement, SQLite)
//   headend        (boxoffice-headend: a generated test video, CISSA-scrambled, ECMs under the event key)
//   STB            (boxofficed: bluetooth, billing, descrambler, sync, ppv; the TV UI)
//   fake BlueZ     (a private dbus-daemon with the test org.bluez: no radio on build machines)
//   phone          (the reference phone library, over the fake radio and its own HTTPS line)
//
// It registers the phone's key with the operator, registers the STB with the device-code flow
// (the TV shows a code, the phone presents it over its own line), pairs the phone, shows that the
// event does not play without a ticket, buys it with the purchase PIN, approves it on the
// phone, plays it, and prints the billing history and the phone's receipt. Artefacts in
// --out: before.png (what the screen shows without a ticket), after.png (a frame of the
// descrambled video), tv.png (the TV UI, headless Chromium). Exit 0 only if all happened.
//
//   boxoffice-demo [--out DIR]

#include "FakeBluez.h"     // tests/bluetooth/fakebluez: the fake org.bluez
#include "PrivateBus.h"    // tests/bluetooth/fakebluez: a private dbus-daemon
#include "ServerProcess.h" // tests/server: a real boxoffice-server and the development keys

#include <boxoffice/phone/FakeRadioLink.h>
#include <boxoffice/phone/Phone.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/testing/ChildProcess.h>

#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/rpc/Client.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/Receipt.h>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <future>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <unistd.h>

using namespace boxoffice;
using namespace std::chrono_literals;
using Poco::JSON::Object;
namespace fs = std::filesystem;

namespace {

int stepNumber = 0;
void step(const std::string& text) { std::cout << "\n[" << ++stepNumber << "] " << text << std::endl; }
void say(const std::string& text) { std::cout << "    " << text << std::endl; }

std::string json(const Poco::Dynamic::Var& v, bool pretty = false)
{
    std::ostringstream out;
    if (pretty)
        Poco::JSON::Stringifier::stringify(v, out, 2);
    else
        Poco::JSON::Stringifier::condense(v, out);
    return out.str();
}

Object::Ptr parse(const std::string& text) { return Poco::JSON::Parser().parse(text).extract<Object::Ptr>(); }

std::string money(std::int64_t minor, const std::string& currency)
{
    std::ostringstream out;
    out << minor / 100 << '.' << std::setw(2) << std::setfill('0') << minor % 100 << ' ' << currency;
    return out.str();
}

void run(const std::string& command, const std::string& what)
{
    if (std::system(command.c_str()) != 0) throw std::runtime_error(what + " failed: " + command);
}

fs::path buildDir()
{
    if (const char* b = std::getenv("BOXOFFICE_BUILD_DIR")) return b;
    const auto self = fs::read_symlink("/proc/self/exe");  // <build>/bin/boxoffice-demo
    ::setenv("BOXOFFICE_BUILD_DIR", self.parent_path().parent_path().c_str(), 1);
    return self.parent_path().parent_path();
}

// boxofficed as a process, on the private bus, with a JSON-RPC client token.
class Stb {
public:
    Stb(const fs::path& dir, const std::string& config)
    {
        boxoffice::testing::writeFile(dir / "boxofficed.json", config);
        portFile_ = dir / "rpc.port";
        process_ = std::make_unique<boxoffice::testing::ChildProcess>(buildDir() / "bin/boxofficed",
                                                           std::vector<std::string>{"--config", (dir / "boxofficed.json").string()});
        if (!boxoffice::testing::eventually([&] { return fs::exists(portFile_) || !process_->running(); }, 60s) || !fs::exists(portFile_))
            throw std::runtime_error("boxofficed did not start:\n" + process_->output());
        port = static_cast<std::uint16_t>(std::stoi(boxoffice::testing::readFile(portFile_)));
    }
    int stop()
    {
        process_->signal(SIGTERM);
        return process_->wait(30s).value_or(-1);
    }
    std::string output() const { return process_->output(); }
    std::uint16_t port = 0;

private:
    fs::path portFile_;
    std::unique_ptr<boxoffice::testing::ChildProcess> process_;
};

// The TV's side of JSON-RPC: calls, and the events it subscribed to.
class Tv {
public:
    Tv(std::uint16_t port, const std::string& token) : ws_("127.0.0.1", port, token) {}
    Poco::Dynamic::Var call(const std::string& method, const Poco::Dynamic::Var& params = Object::Ptr(new Object))
    {
        return ws_.call(method, params, 60s);
    }
    Object::Ptr object(const std::string& method, const Poco::Dynamic::Var& params = Object::Ptr(new Object))
    {
        return call(method, params).extract<Object::Ptr>();
    }
    // The error text of a call that must fail (empty if it did not fail).
    std::string refusal(const std::string& method, const Poco::Dynamic::Var& params)
    {
        try {
            call(method, params);
            return {};
        } catch (const Error& e) {
            return e.what();
        }
    }
    // The params of the next `method` notification matching `accept`, or null.
    Object::Ptr waitFor(const std::string& method, std::chrono::seconds timeout,
                        const std::function<bool(const Object::Ptr&)>& accept = {})
    {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            auto n = ws_.nextNotification(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
            if (!n) break;
            if (n->method != method) continue;
            auto params = n->params.extract<Object::Ptr>();
            if (!accept || accept(params)) return params;
        }
        return nullptr;
    }

private:
    rpc::WebSocketClient ws_;
};

Object::Ptr params(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields)
{
    Object::Ptr o = new Object;
    for (const auto& [k, v] : fields) o->set(k, v);
    return o;
}

int demo(const fs::path& out)
{
    const fs::path build = buildDir();
    fs::create_directories(out);
    boxoffice::testing::TempDir dir("demo");
    const auto now = static_cast<std::int64_t>(::time(nullptr));

    step("Operator keys: root, ticket issuer, server, STBs, a phone (boxoffice-keytool dev)");
    const auto& keys = server::test::DevKeys::get().dir;
    say("key set in " + keys.string());

    step("Headend: a 20 s test video (ffmpeg), scrambled with DVB-CISSA, ECMs under the event key of 'The Final'");
    const auto clear = dir / "clear.ts", scrambled = dir / "scrambled.ts";
    run("ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi "
        "-i sine=frequency=440:sample_rate=48000 -t 20 -c:v mpeg2video -b:v 1M -g 12 -c:a mp2 -f mpegts " + clear.string(),
        "ffmpeg");
    run((build / "bin/boxoffice-headend").string() + " --in " + clear.string() + " --out " + scrambled.string() +
            " --event-key-file " + (keys / "events/ev-demo_1.key").string() + " --event-id 7 --crypto-period 2" +
            " --ppv-event 7," + std::to_string(now - 60) + ",7200,The_Final >/dev/null",
        "boxoffice-headend");
    say("scrambled stream " + scrambled.string() + " (" + std::to_string(fs::file_size(scrambled) / 1024) + " KiB)");

    step("Operator server (boxoffice-server: https + settlement on SQLite), catalog and accounts");
    server::test::ServerProcess server(dir.path(), "sqlite:" + (dir / "server.db").string());
    say("REST API on https://localhost:" + std::to_string(server.port()));
    auto ops = server.operatorClient();
    auto post = [&](const std::string& method, const std::string& path, const std::string& body) {
        const auto r = ops.call(method, path, body);
        if (r.status >= 300) throw std::runtime_error(method + " " + path + " -> " + std::to_string(r.status) + " " + r.raw);
        return r;
    };
    post("POST", "/v1/operator/accounts", R"({"accountId":"acct-alice","kind":"wallet","currency":"EUR"})");
    post("POST", "/v1/operator/accounts", R"({"accountId":"studio","kind":"merchant","currency":"EUR"})");
    post("POST", "/v1/operator/deposits", R"({"transferId":"dep-1","accountId":"acct-alice","amount":2000,"currency":"EUR"})");
    post("PUT", "/v1/operator/events/ev-final",
         R"({"title":"The Final","payee":"studio","price":450,"currency":"EUR","saleFrom":)" + std::to_string(now - 3600) +
             R"(,"saleUntil":)" + std::to_string(now + 86400) + R"(,"startsAt":)" + std::to_string(now - 60) +
             R"(,"endsAt":)" + std::to_string(now + 7200) + R"(,"blackout":false,"eventKeyId":"ev-demo/1"})");
    say("account acct-alice with 20.00 EUR prepaid; event ev-final 'The Final' at 4.50 EUR");

    step("The phone's P-256 key registered for Alice's account (operator)");
    const auto phoneCreds = trust::loadPhone(keys / "phones/phone-1");
    post("POST", "/v1/operator/phones",
         R"({"certificate":")" + server::test::certificateField(keys / "phones/phone-1/phone.cert") + R"(","accountId":"acct-alice"})");
    say("phone " + phoneCreds.certificate.subject + " registered");
    auto phoneLine = server.phoneClient();  // the phone's own HTTPS line, requests signed with its key

    step("Fake BlueZ on a private dbus-daemon (no radio here), then boxofficed with its plugins and the TV UI");
    fakebluez::PrivateBus bus;
    fakebluez::FakeBluez bluez{{bus.address(), 60s, 10s}};
    const std::string token = "demo-" + std::to_string(::getpid()) + "-" + std::to_string(now);
    const auto stbDir = dir / "stb";
    fs::create_directories(stbDir);
    const std::string device = (keys / "devices/stb-1").string(), root = (keys / "root/root.json").string();
    const std::string webRoot = fs::path(BOXOFFICE_SOURCE_DIR) / "stb/ui/web";
    const std::string config = R"({
  "host": {"pluginDirectory": ")" + (build / "lib/boxoffice/plugins").string() + R"(", "dataDirectory": ")" + (stbDir / "data").string() + R"("},
  "logging": {"level": "warning"},
  "rpc": {"port": 0, "portFile": ")" + (stbDir / "rpc.port").string() + R"(", "webRoot": ")" + webRoot + R"(",
          "tokens": [{"client": "tv", "sha256": ")" + rpc::TokenStore::digest(token) + R"(", "scopes": ["read", "control", "admin"]}]},
  "plugins": {
    "input": {"enabled": false},
    "bluetooth": {"busAddress": ")" + bus.address() + R"(", "name": "Living room"},
    "billing": {"deviceDirectory": ")" + device + R"(", "trustAnchor": ")" + root + R"(",
                "serverCertificate": ")" + (keys / "server/server.cert").string() + R"(", "currency": "EUR", "creditLimit": 5000},
    "descrambler": {"ticketTimeoutMs": 5000},
    "sync": {"host": "localhost", "port": )" + std::to_string(server.port()) + R"(, "deviceDirectory": ")" + device + R"(",
             "trustAnchor": ")" + root + R"(", "serverCertificate": ")" + (keys / "server/server.cert").string() + R"("},
    "ppv": {"deviceDirectory": ")" + device + R"(", "trustAnchor": ")" + root + R"(", "pin": {"initial": "1234"},
            "pollIntervalMs": 200,
            "broadcast": {"ev-final": {"uri": "file://)" + scrambled.string() + R"(", "dvbEventId": 7}}}
  }
})";
    Stb stb(stbDir, config);
    Tv tv(stb.port, token);
    tv.call("host.1.subscribe", params({{"events", Poco::JSON::Array::Ptr([] {
                                                    Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
                                                    for (const char* e : {"ppv.1.orderChanged", "ppv.1.ticketAdded", "sync.1.registrationChanged",
                                                                          "bluetooth.1.linkConfirmation", "bluetooth.1.pairingCode"})
                                                        a->add(std::string(e));
                                                    return a;
                                                }())}}));
    const auto plugins = tv.call("host.1.plugins").extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < plugins->size(); ++i) {
        const auto p = plugins->getObject(static_cast<unsigned>(i));
        const auto name = p->getValue<std::string>("name"), state = p->getValue<std::string>("state");
        say("plugin " + name + ": " + state + (p->optValue<std::string>("reason", "").empty() ? "" : " (" + p->getValue<std::string>("reason") + ")"));
        const bool needed = name == "bluetooth" || name == "billing" || name == "descrambler" || name == "sync" || name == "ppv";
        if (needed && state != "activated") throw std::runtime_error("plugin " + name + " is " + state);
    }
    say("TV UI at http://127.0.0.1:" + std::to_string(stb.port) + "/");

    step("Registering the STB: the TV shows a short code, the phone presents it over its own line");
    const auto registration = tv.object("sync.1.register");
    const auto registrationCode = registration->getValue<std::string>("code");
    say("TV shows registration code " + registrationCode);
    Object::Ptr presented = new Object;
    presented->set("code", registrationCode);
    const auto bound = phoneLine.call("POST", "/v1/phone/registrations", json(presented));
    if (bound.status != 200) throw std::runtime_error("the server refused the code: " + bound.raw);
    const auto registered = tv.waitFor("sync.1.registrationChanged", 30s, [](const Object::Ptr& p) {
        return p->getValue<std::string>("state") == "registered";
    });
    if (!registered) throw std::runtime_error("the STB never learnt that it is registered");
    say("stb-1 registered to account " + registered->getValue<std::string>("accountId"));

    step("Pairing the phone: numeric comparison at the link layer, then the application code, both confirmed on the TV");
    auto link = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{bus.address(), "AA:BB:CC:DD:EE:01", 185});
    phone::Phone phone(crypto::P256PrivateKey::fromPem(trust::readKeyFile(keys / "phones/phone-1/sign.key.pem")), "Alice's phone");
    tv.call("bluetooth.1.startPairing");
    auto linked = std::async(std::launch::async, [&] { return link->pairLink(123456); });
    auto confirmLink = tv.waitFor("bluetooth.1.linkConfirmation", 20s);
    if (!confirmLink) throw std::runtime_error("the TV never showed the Bluetooth passkey");
    say("TV shows passkey " + json(confirmLink->get("passkey")) + " for " + confirmLink->getValue<std::string>("device") + ": OK pressed");
    tv.call("bluetooth.1.confirmLink", params({{"device", confirmLink->getValue<std::string>("device")}, {"accept", true}}));
    if (!linked.get()) throw std::runtime_error("link-layer pairing failed");
    phone.attach(link);
    auto paired = std::async(std::launch::async, [&] { return phone.pair([](const std::string& code) {
        say("phone shows pairing code " + code + ": the viewer confirms it matches the TV");
        return true;
    }); });
    auto code = tv.waitFor("bluetooth.1.pairingCode", 20s);
    if (!code) throw std::runtime_error("the TV never showed the pairing code");
    say("TV shows pairing code " + json(code->get("code")) + ": OK pressed");
    tv.call("bluetooth.1.confirmPairing", params({{"phoneId", phone.id()}, {"accept", true}}));
    const auto stbName = paired.get();
    if (!phone.hasSession()) phone.openSession(stbName);
    say("phone " + phone.id() + " paired with \"" + stbName + "\"");

    // The phone: shows each settlement request, approves it with its key over its own HTTPS line.
    std::mutex phoneMutex;
    std::vector<std::string> phoneLog;
    std::optional<wire::Receipt> receipt;
    phone.onMessage([&](const bluetooth::Message& m) -> std::optional<bluetooth::Message> {
        using bluetooth::MessageType;
        std::lock_guard lock(phoneMutex);
        if (m.type == MessageType::SettlementRequest) {
            const auto request = bluetooth::SettlementRequestBody::decode(m.body);
            phoneLog.push_back("settlement request " + request.transactionId + ": " +
                               money(static_cast<std::int64_t>(request.amountMinor), request.currency) + " to " + request.payee +
                               " for '" + request.title + "' -> approved");
            const auto order = parse(std::string(request.order.begin(), request.order.end()));
            wire::Approval a;
            a.transactionNumber = request.transactionId;
            a.orderId = order->getValue<std::string>("orderId");
            a.accountId = order->getValue<std::string>("accountId");
            a.phoneId = phoneCreds.certificate.subject;
            a.payee = request.payee;
            a.amount = static_cast<wire::Amount>(request.amountMinor);
            a.currency = request.currency;
            a.decision = wire::Decision::Approve;
            a.decidedAt = ::time(nullptr);
            trust::sign(a, phoneCreds.key);
            Object::Ptr body = new Object;
            body->set("approval", wire::toBase64Url(a.encode()));
            const auto r = phoneLine.call("POST", "/v1/phone/approvals", json(body));
            phoneLog.push_back("approval sent over the phone's own line: HTTP " + std::to_string(r.status));
            if (r.status == 200 && r.body.type() == typeid(Object::Ptr)) {
                const auto answer = r.body.extract<Object::Ptr>();
                if (answer->has("receipt")) {
                    receipt = wire::Receipt::decode(wire::fromBase64Url(answer->getValue<std::string>("receipt"), "receipt"));
                    // The signed acknowledgement closes the purchase on the server.
                    wire::Acknowledgement ack;
                    ack.receiptId = receipt->receiptId;
                    ack.orderId = receipt->orderId;
                    ack.phoneId = phoneCreds.certificate.subject;
                    ack.acknowledgedAt = ::time(nullptr);
                    trust::sign(ack, phoneCreds.key);
                    Object::Ptr ackBody = new Object;
                    ackBody->set("acknowledgement", wire::toBase64Url(ack.encode()));
                    const auto closed = phoneLine.call("POST", "/v1/phone/acknowledgements", json(ackBody));
                    phoneLog.push_back("receipt " + receipt->receiptId + " acknowledged (signed): HTTP " + std::to_string(closed.status) +
                                       ", order " + (closed.status == 200 ? closed.body.extract<Object::Ptr>()->getValue<std::string>("state") : "?"));
                }
            }
            return bluetooth::Message{MessageType::Result, 0, 0,
                                      bluetooth::ResultBody{r.status == 200, "", "approved on the phone", {}}.encode()};
        }
        if (m.type == MessageType::Receipt) {
            const auto body = bluetooth::ReceiptBody::decode(m.body);
            receipt = wire::Receipt::decode(body.receipt);
            phoneLog.push_back("receipt for " + body.transactionId + " received over Bluetooth");
        }
        return bluetooth::Message{MessageType::Result, 0, 0, bluetooth::ResultBody{true, "", "ok", {}}.encode()};
    });

    step("The guide: catalog from the server (ppv.1.refresh, ppv.1.catalog)");
    tv.call("ppv.1.refresh");
    const auto catalog = tv.object("ppv.1.catalog")->getArray("events");
    for (std::size_t i = 0; i < catalog->size(); ++i) {
        const auto e = catalog->getObject(static_cast<unsigned>(i));
        say(e->getValue<std::string>("eventId") + "  '" + e->getValue<std::string>("title") + "'  " +
            money(e->getValue<std::int64_t>("price"), e->getValue<std::string>("currency")) + "  " + e->getValue<std::string>("state"));
    }

    step("Before buying: the event does not play (no ticket: the descrambler holds every scrambled packet)");
    const auto play = params({{"uri", "file://" + scrambled.string()}});
    const auto refused = tv.refusal("descrambler.1.play", play);
    if (refused.empty()) throw std::runtime_error("the scrambled event played without a ticket");
    say("descrambler.1.play refused: " + refused);
    const auto noPicture = tv.refusal("descrambler.1.snapshot", params({{"name", "before"}}));
    say("descrambler.1.snapshot: " + noPicture);
    // What the screen shows: no decoded picture, i.e. black, at the stream's size.
    run("gst-launch-1.0 -q videotestsrc pattern=black num-buffers=1 ! video/x-raw,width=320,height=240 ! pngenc ! filesink location=" +
            (out / "before.png").string(),
        "gst-launch-1.0 (before.png)");
    say("saved " + (out / "before.png").string() + " (no picture)");

    step("Buying 'The Final' with the remote: purchase PIN, order over the STB's line, settlement on the phone");
    const auto order = tv.object("ppv.1.buy", params({{"eventId", "ev-final"}, {"pin", "1234"}}));
    const auto orderId = order->getValue<std::string>("orderId");
    say("order " + orderId + ": " + order->getValue<std::string>("state") + ", transaction number " +
        order->getValue<std::string>("transactionNumber") + " shown on the TV");
    Object::Ptr final;
    for (auto e = tv.waitFor("ppv.1.orderChanged", 60s); e; e = tv.waitFor("ppv.1.orderChanged", 60s)) {
        if (e->getValue<std::string>("orderId") != orderId) continue;
        say("order " + e->getValue<std::string>("state"));
        const auto state = e->getValue<std::string>("state");
        if (state != "ordering" && state != "awaiting-phone" && state != "awaiting-otp") {
            final = e;
            break;
        }
    }
    {
        std::lock_guard lock(phoneMutex);
        for (const auto& line : phoneLog) say("phone: " + line);
    }
    if (!final || final->getValue<std::string>("state") != "approved")
        throw std::runtime_error("the purchase did not complete: " + (final ? json(final) : std::string("no answer")));
    say("ticket " + final->getValue<std::string>("ticketId") + " in the wallet");

    step("Watching: ppv.1.watch, then descrambler.1.play with control words from the ticket's event key");
    const auto watch = tv.object("ppv.1.watch", params({{"eventId", "ev-final"}}));
    const auto started = tv.object("descrambler.1.play", watch->getObject("play"));
    say("playback " + started->getValue<std::string>("state"));
    // Let it run (the file plays faster than real time into a fakesink) so the frame
    // is from the middle of a GOP sequence, not the first decoded one.
    boxoffice::testing::eventually([&] {
        const auto s = tv.object("descrambler.1.status");
        return s->getValue<std::string>("state") == "ended" || s->getValue<std::uint64_t>("descrambled") > 4000;
    }, 30s);
    Object::Ptr snapshot;
    boxoffice::testing::eventually([&] {
        try {
            snapshot = tv.object("descrambler.1.snapshot", params({{"name", "after"}}));
            return true;
        } catch (const Error&) {
            return false;
        }
    }, 20s);
    if (!snapshot) throw std::runtime_error("no decoded frame after the purchase");
    fs::copy_file(snapshot->getValue<std::string>("path"), out / "after.png", fs::copy_options::overwrite_existing);
    say("saved " + (out / "after.png").string() + " (" + json(snapshot->get("width")) + "x" + json(snapshot->get("height")) +
        ", a frame of the descrambled video)");
    const auto status = tv.object("descrambler.1.status");
    say("descrambler: " + json(status));

    step("The TV screen (headless Chromium on the STB's web UI)");
    const auto tvPng = out / "tv.png";
    const std::string chromium =
        "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,720 --virtual-time-budget=5000 "
        "--screenshot=" + tvPng.string() + " 'http://127.0.0.1:" + std::to_string(stb.port) + "/?token=" + token + "' >/dev/null 2>&1";
    if (std::system(chromium.c_str()) == 0 && fs::exists(tvPng))
        say("saved " + tvPng.string());
    else
        throw std::runtime_error("chromium could not take the TV screenshot");

    step("Billing history on the STB (signed, hash-chained records) and the phone's receipt");
    const auto history = tv.call("billing.1.history");
    say(json(history, true));
    boxoffice::testing::eventually([&] { std::lock_guard lock(phoneMutex); return receipt.has_value(); }, 10s);
    {
        std::lock_guard lock(phoneMutex);
        if (!receipt) throw std::runtime_error("the phone has no receipt");
        say("receipt " + receipt->receiptId + ": order " + receipt->orderId + ", transaction " + receipt->transactionNumber +
            ", ticket " + receipt->ticketId + ", " + money(receipt->amount, receipt->currency) + " from " + receipt->accountId +
            " to " + receipt->payee);
    }
    const auto balance = ops.get("/v1/operator/accounts/acct-alice");
    say("server: acct-alice " + balance.raw);

    step("Stopping");
    tv.call("descrambler.1.stop");
    const int exit = stb.stop();
    if (exit != 0) throw std::runtime_error("boxofficed exited with " + std::to_string(exit) + ":\n" + stb.output());
    std::cout << "\ndemo: done — artefacts in " << out.string() << std::endl;
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    fs::path out = "demo-output";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--out" && i + 1 < argc)
            out = argv[++i];
        else {
            std::cerr << "usage: boxoffice-demo [--out DIR]\n";
            return 2;
        }
    }
    try {
        return demo(fs::absolute(out));
    } catch (const std::exception& e) {
        std::cerr << "\ndemo: FAILED: " << e.what() << std::endl;
        return 1;
    }
}
