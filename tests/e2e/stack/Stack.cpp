#include "Stack.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/trust/SealedApproval.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <future>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace boxoffice::e2e {

using namespace std::chrono_literals;
using Poco::JSON::Object;
namespace fs = std::filesystem;

fs::path buildDir()
{
    if (const char* b = std::getenv("BOXOFFICE_BUILD_DIR")) return b;
    const auto self = fs::read_symlink("/proc/self/exe");  // <build>/bin/<program>
    ::setenv("BOXOFFICE_BUILD_DIR", self.parent_path().parent_path().c_str(), 1);
    return self.parent_path().parent_path();
}

std::string json(const Poco::Dynamic::Var& v, bool pretty)
{
    std::ostringstream out;
    if (pretty)
        Poco::JSON::Stringifier::stringify(v, out, 2);
    else
        Poco::JSON::Stringifier::condense(v, out);
    return out.str();
}

Object::Ptr parse(const std::string& text) { return Poco::JSON::Parser().parse(text).extract<Object::Ptr>(); }

Object::Ptr params(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields)
{
    Object::Ptr o = new Object;
    for (const auto& [k, v] : fields) o->set(k, v);
    return o;
}

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

Stb::Stb(const fs::path& dir, const std::string& config) : dir_(dir)
{
    testing::writeFile(dir / "boxofficed.json", config);
    start();
}

void Stb::start()
{
    const auto portFile = dir_ / "rpc.port";
    fs::remove(portFile);   // (left by an earlier run of this box)
    process_ = std::make_unique<testing::ChildProcess>(buildDir() / "bin/boxofficed",
                                                       std::vector<std::string>{"--config", (dir_ / "boxofficed.json").string()});
    if (!testing::eventually([&] { return fs::exists(portFile) || !process_->running(); }, 60s) || !fs::exists(portFile))
        throw std::runtime_error("boxofficed did not start:\n" + process_->output());
    port = static_cast<std::uint16_t>(std::stoi(testing::readFile(portFile)));
}

int Stb::stop()
{
    process_->signal(SIGTERM);
    return process_->wait(30s).value_or(-1);
}

Poco::Dynamic::Var Tv::call(const std::string& method, const Poco::Dynamic::Var& params) { return ws_.call(method, params, 60s); }

Object::Ptr Tv::object(const std::string& method, const Poco::Dynamic::Var& params)
{
    return call(method, params).extract<Object::Ptr>();
}

std::string Tv::refusal(const std::string& method, const Poco::Dynamic::Var& params)
{
    try {
        call(method, params);
        return {};
    } catch (const Error& e) {
        return e.what();
    }
}

void Tv::subscribe(const std::vector<std::string>& events)
{
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& e : events) list->add(e);
    call("host.1.subscribe", params({{"events", list}}));
}

Object::Ptr Tv::waitFor(const std::string& method, std::chrono::seconds timeout, const std::function<bool(const Object::Ptr&)>& accept)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        auto n = ws_.nextNotification(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
        if (!n) break;
        if (n->method != method) continue;
        auto p = n->params.extract<Object::Ptr>();
        if (!accept || accept(p)) return p;
    }
    return nullptr;
}

Object::Ptr Tv::finalOrder(const std::string& orderId, std::chrono::seconds timeout)
{
    const auto isFinal = [&](const Object::Ptr& o) {
        const auto state = o->getValue<std::string>("state");
        return o->getValue<std::string>("orderId") == orderId && state != "ordering" && state != "awaiting-phone" && state != "awaiting-otp";
    };
    if (auto done = waitFor("ppv.1.orderChanged", timeout, isFinal)) return done;
    return object("ppv.1.order", params({{"orderId", orderId}}));
}

Stack::Stack(const std::string& name, Say say)
    : say_(say ? std::move(say) : [](const std::string&) {}), dir_(name), now_(::time(nullptr)),
      token_("demo-" + std::to_string(::getpid()) + "-" + std::to_string(now_))
{
    buildDir();  // exports BOXOFFICE_BUILD_DIR, where the server fixture finds its programs
}

Stack::~Stack()
{
    // The phone's handler uses the phone line and the log: it goes first.
    phone_.reset();
    link_.reset();
}

const fs::path& Stack::keys() const { return server::test::DevKeys::get().dir; }

fs::path Stack::generateVideo(int seconds)
{
    clear_ = dir() / "clear.ts";
    run("ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi "
        "-i sine=frequency=440:sample_rate=48000 -t " + std::to_string(seconds) +
            " -c:v mpeg2video -b:v 1M -g 12 -c:a mp2 -f mpegts " + clear_.string(),
        "ffmpeg");
    return clear_;
}

fs::path Stack::scramble(const Event& event, const std::string& fileName)
{
    std::string title = event.title;
    for (auto& c : title)
        if (c == ' ') c = '_';
    const auto scrambled = dir() / fileName;
    run((buildDir() / "bin/boxoffice-headend").string() + " --in " + clear_.string() + " --out " + scrambled.string() +
            " --event-key-file " + (keys() / "events/ev-demo_1.key").string() + " --event-id " + std::to_string(event.dvbEventId) +
            " --crypto-period 2 --ppv-event " + std::to_string(event.dvbEventId) + "," + std::to_string(now_ - 60) + ",7200," + title +
            " >/dev/null",
        "boxoffice-headend");
    return scrambled;
}

server::test::ServerProcess& Stack::startServer(bool historySync)
{
    server_ = std::make_unique<server::test::ServerProcess>(dir(), "sqlite:" + (dir() / "server.db").string(), "server", historySync);
    connectToServer();
    return *server_;
}

void Stack::connectToServer()
{
    auto operatorOptions = server_->base();
    operatorOptions.operatorToken = server::test::kOperatorToken;
    operator_ = std::make_unique<serverapi::Client>(operatorOptions);
    phoneLine_ = std::make_unique<serverapi::Client>(server_->phoneOptions());  // the phone's own HTTPS line, signed requests
    say_("REST API on https://localhost:" + std::to_string(server_->port()));
}

void Stack::moveServer()
{
    const auto dead = server_->port();
    server_->kill();
    server_->start();
    while (server_->port() == dead) {   // (port 0: the kernel may hand back the old one, reviving the STB's line)
        server_->kill();
        server_->start();
    }
    connectToServer();
}

serverapi::ClientResponse Stack::operatorCall(const std::string& method, const std::string& path, const std::string& body)
{
    auto r = operator_->call(method, path, body);
    if (r.status >= 300) throw std::runtime_error(method + " " + path + " -> " + std::to_string(r.status) + " " + r.raw);
    return r;
}

void Stack::createAccounts(std::int64_t depositMinor)
{
    operatorCall("POST", "/v1/operator/accounts", R"({"accountId":"acct-alice","kind":"wallet","currency":"EUR"})");
    operatorCall("POST", "/v1/operator/accounts", R"({"accountId":"studio","kind":"merchant","currency":"EUR"})");
    operatorCall("POST", "/v1/operator/deposits",
                 R"({"transferId":"dep-1","accountId":"acct-alice","amount":)" + std::to_string(depositMinor) + R"(,"currency":"EUR"})");
}

void Stack::putEvent(const Event& event)
{
    Object::Ptr body = new Object;
    body->set("title", event.title);
    body->set("payee", "studio");
    body->set("price", event.price);
    body->set("currency", "EUR");
    body->set("saleFrom", now_ - 3600);
    body->set("saleUntil", now_ + 86400);
    body->set("startsAt", now_ - 60);
    body->set("endsAt", event.endsAt ? event.endsAt : now_ + 7200);
    body->set("blackout", false);
    body->set("eventKeyId", "ev-demo/1");
    operatorCall("PUT", "/v1/operator/events/" + event.eventId, json(body));
}

std::string Stack::registerPhoneKey()
{
    const auto creds = trust::loadPhone(keys() / "phones/phone-1");
    operatorCall("POST", "/v1/operator/phones",
                 R"({"certificate":")" + server::test::certificateField(keys() / "phones/phone-1/phone.cert") + R"(","accountId":"acct-alice"})");
    phoneSubject_ = creds.certificate.subject;
    return phoneSubject_;
}

std::string Stack::stbConfig(const fs::path& stbDir, const std::vector<Event>& events, const StbOptions& options) const
{
    const std::string device = (keys() / "devices" / options.device).string(), root = (keys() / "root/root.json").string();
    const std::string webRoot = fs::path(BOXOFFICE_SOURCE_DIR) / "stb/ui/web";
    Object::Ptr broadcast = new Object;
    for (const auto& e : events) broadcast->set(e.eventId, params({{"uri", "file://" + e.stream.string()}, {"dvbEventId", e.dvbEventId}}));
    const std::string bluetooth = options.bluetooth ? R"({"busAddress": ")" + bus_->address() + R"(", "name": "Living room"})"
                                                    : R"({"enabled": false})";
    return R"({
  "host": {"pluginDirectory": ")" + (buildDir() / "lib/boxoffice/plugins").string() + R"(", "dataDirectory": ")" + (stbDir / "data").string() + R"("},
  "logging": {"level": "warning"},
  "rpc": {"port": 0, "portFile": ")" + (stbDir / "rpc.port").string() + R"(", "webRoot": ")" + webRoot + R"(",
          "tokens": [{"client": "tv", "sha256": ")" + rpc::TokenStore::digest(token_) + R"(", "scopes": ["read", "control", "admin"]}]},
  "plugins": {
    "input": {"enabled": false},
    "bluetooth": )" + bluetooth + R"(,
    "billing": {"deviceDirectory": ")" + device + R"(", "trustAnchor": ")" + root + R"(",
                "serverCertificate": ")" + (keys() / "server/server.cert").string() + R"(", "currency": "EUR", "creditLimit": 5000,
                "handoff": {"phoneTimeoutMs": 5000}},
    "descrambler": {"ticketTimeoutMs": 5000, "videoSink": )" + json(options.videoSink) + R"(, "audioSink": )" + json(options.audioSink) + R"(},
    "sync": {"host": "localhost", "port": )" + std::to_string(server_->port()) + R"(, "deviceDirectory": ")" + device + R"(",
             "trustAnchor": ")" + root + R"(", "serverCertificate": ")" + (keys() / "server/server.cert").string() + R"("},
    "ppv": {"deviceDirectory": ")" + device + R"(", "trustAnchor": ")" + root + R"(", "pin": {"initial": "1234"},
            "pollIntervalMs": 200, "serverCertificate": ")" + (keys() / "server/server.cert").string() + R"(",
            "revocationsFile": ")" + (stbDir / "data/sync/revocations.bin").string() + R"(",
            "broadcast": )" + json(broadcast) + R"(}
  }
})";
}

Stb& Stack::startStb(const std::vector<Event>& events, const StbOptions& options)
{
    bus_ = std::make_unique<fakebluez::PrivateBus>();
    bluez_ = std::make_unique<fakebluez::FakeBluez>(fakebluez::FakeBluez::Options{bus_->address(), 60s, 10s});
    const auto stbDir = dir() / "stb";
    fs::create_directories(stbDir);
    stb_ = std::make_unique<Stb>(stbDir, stbConfig(stbDir, events, options));
    connectTv();
    return *stb_;
}

void Stack::connectTv()
{
    tv_ = std::make_unique<Tv>(stb_->port, token_);
    tv_->subscribe({"ppv.1.orderChanged", "ppv.1.ticketAdded", "sync.1.registrationChanged", "bluetooth.1.linkConfirmation",
                    "bluetooth.1.pairingCode"});
}

std::unique_ptr<Stb> Stack::startOtherStb(const std::vector<Event>& events, const StbOptions& options)
{
    const auto stbDir = dir() / options.device;
    fs::create_directories(stbDir);
    return std::make_unique<Stb>(stbDir, stbConfig(stbDir, events, options));
}

void Stack::checkPlugins()
{
    const auto plugins = tv_->call("host.1.plugins").extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < plugins->size(); ++i) {
        const auto p = plugins->getObject(static_cast<unsigned>(i));
        const auto name = p->getValue<std::string>("name"), state = p->getValue<std::string>("state");
        say_("plugin " + name + ": " + state + (p->optValue<std::string>("reason", "").empty() ? "" : " (" + p->getValue<std::string>("reason") + ")"));
        const bool needed = name == "bluetooth" || name == "billing" || name == "descrambler" || name == "sync" || name == "ppv";
        if (needed && state != "activated") throw std::runtime_error("plugin " + name + " is " + state);
    }
}

void Stack::registerStb()
{
    const auto registration = tv_->object("sync.1.register");
    const auto registrationCode = registration->getValue<std::string>("code");
    say_("TV shows registration code " + registrationCode);
    Object::Ptr presented = new Object;
    presented->set("code", registrationCode);
    const auto bound = phoneLine_->call("POST", "/v1/phone/registrations", json(presented));
    if (bound.status != 200) throw std::runtime_error("the server refused the code: " + bound.raw);
    const auto registered = tv_->waitFor("sync.1.registrationChanged", 30s, [](const Object::Ptr& p) {
        return p->getValue<std::string>("state") == "registered";
    });
    if (!registered) throw std::runtime_error("the STB never learnt that it is registered");
    say_("stb-1 registered to account " + registered->getValue<std::string>("accountId"));
}

phone::Phone& Stack::pairPhone(bool acceptOnTv)
{
    auto& tv = *tv_;
    tv.call("bluetooth.1.startPairing");
    if (!link_) {   // (a link bonded by an earlier attempt stays bonded: only the application pairing again)
        link_ = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{bus_->address(), "AA:BB:CC:DD:EE:01", 185});
        phone_ = std::make_unique<phone::Phone>(
            crypto::P256PrivateKey::fromPem(trust::readKeyFile(keys() / "phones/phone-1/sign.key.pem")), "Alice's phone");
        auto linked = std::async(std::launch::async, [&] { return link_->pairLink(123456); });
        auto confirmLink = tv.waitFor("bluetooth.1.linkConfirmation", 20s);
        if (!confirmLink) throw std::runtime_error("the TV never showed the Bluetooth passkey");
        say_("TV shows passkey " + json(confirmLink->get("passkey")) + " for " + confirmLink->getValue<std::string>("device") +
             ": OK pressed");
        tv.call("bluetooth.1.confirmLink", params({{"device", confirmLink->getValue<std::string>("device")}, {"accept", true}}));
        if (!linked.get()) throw std::runtime_error("link-layer pairing failed");
        phone_->attach(link_);
    }
    auto paired = std::async(std::launch::async, [&] {
        return phone_->pair([&](const std::string& code) {
            say_("phone shows pairing code " + code + ": the viewer confirms it matches the TV");
            return true;
        });
    });
    auto code = tv.waitFor("bluetooth.1.pairingCode", 20s);
    if (!code) throw std::runtime_error("the TV never showed the pairing code");
    say_("TV shows pairing code " + json(code->get("code")) + (acceptOnTv ? ": OK pressed" : ": Cancel pressed"));
    tv.call("bluetooth.1.confirmPairing", params({{"phoneId", phone_->id()}, {"accept", acceptOnTv}}));
    if (!acceptOnTv) {
        try {
            paired.get();
        } catch (const Error& e) {
            if (e.code() != ErrorCode::PermissionDenied) throw;
            say_("phone: pairing refused (" + std::string(e.what()) + ")");
            return *phone_;
        }
        throw std::runtime_error("the phone paired although the TV declined");
    }
    const auto stbName = paired.get();
    if (!phone_->hasSession()) phone_->openSession(stbName);
    say_("phone " + phone_->id() + " paired with \"" + stbName + "\"");
    return *phone_;
}

void Stack::onPhoneMessage(std::function<std::optional<bluetooth::Message>(const bluetooth::Message&)> handler)
{
    phone_->onMessage([this, handler](const bluetooth::Message& m) -> std::optional<bluetooth::Message> {
        {
            std::lock_guard lock(phoneMutex_);
            ++phoneReceived_[m.type];
        }
        return handler(m);
    });
}

void Stack::approveOnPhone(std::function<void(const PhoneSettlement&)> seen)
{
    decideOnPhone(wire::Decision::Approve, Via::OwnLine, std::move(seen));
}

void Stack::decideOnPhone(wire::Decision decision, Via via, std::function<void(const PhoneSettlement&)> seen)
{
    // The reference phone app; without its own line it hands the sealed decision to the STB to relay.
    std::shared_ptr<phone::ServerLine> line = std::make_shared<phone::OfflineServerLine>();
    if (via == Via::OwnLine) line = phoneServerLine();
    runPhoneApp(
        std::move(line),
        [this, decision](const phone::ServerOrder& o) {
            std::lock_guard lock(phoneMutex_);
            phoneLog_.push_back("settlement request " + o.transactionNumber + ": " + money(o.amount, o.currency) +
                                " to " + o.payee + " for " + o.eventId + " -> " + std::string(wire::toString(decision)));
            return decision;
        },
        std::move(seen));
}

void Stack::runPhoneApp(std::shared_ptr<phone::ServerLine> line, phone::Settler::Confirm confirm,
                        std::function<void(const PhoneSettlement&)> seen)
{
    const auto phoneCreds = trust::loadPhone(keys() / "phones/phone-1");
    // Provisioned with the operator's server certificate: without a line it seals approvals to it.
    auto settler = std::make_shared<phone::Settler>(phoneCreds.certificate.subject, phoneCreds.key, std::move(line),
                                                    std::move(confirm), trust::loadCertificate(keys() / "server/server.cert"));
    settler->onReceipt([this](const wire::Receipt& r) {
        std::lock_guard lock(phoneMutex_);
        receipt_ = r;
        phoneLog_.push_back("receipt " + r.receiptId + " for " + money(r.amount, r.currency) + " acknowledged (signed)");
    });
    onPhoneMessage([this, settler, seen](const bluetooth::Message& m) -> std::optional<bluetooth::Message> {
        const auto arrived = std::chrono::steady_clock::now();
        auto reply = settler->handle(m);
        if (m.type != bluetooth::MessageType::SettlementRequest || !reply) return reply;
        {
            std::lock_guard lock(phoneMutex_);
            if (reply->type == bluetooth::MessageType::Approval)
                phoneLog_.push_back("decision sealed to the server, handed to the STB to relay");
            else if (reply->type == bluetooth::MessageType::Result) {
                const auto r = bluetooth::ResultBody::decode(reply->body);
                phoneLog_.push_back(std::string(r.ok ? "done: " : "refused: ") + r.text);
            }
        }
        if (seen)
            seen(PhoneSettlement{bluetooth::SettlementRequestBody::decode(m.body).transactionId, arrived,
                                 std::chrono::steady_clock::now()});
        return reply;
    });
}

std::string Stack::approveOtpOnPhone(const std::string& orderId)
{
    const auto otps = phoneLine_->get("/v1/phone/otps");
    if (otps.status != 200) throw std::runtime_error("GET /v1/phone/otps -> " + std::to_string(otps.status) + " " + otps.raw);
    const auto list = otps.body.extract<Object::Ptr>()->getArray("otps");
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto challenge = list->getObject(static_cast<unsigned>(i));
        if (challenge->getValue<std::string>("orderId") != orderId) continue;
        // The acknowledge code proves the phone got this order's codes over its own line.
        const auto phoneCreds = trust::loadPhone(keys() / "phones/phone-1");
        wire::Approval a;
        a.transactionNumber = challenge->getValue<std::string>("transactionNumber");
        a.orderId = orderId;
        a.accountId = challenge->getValue<std::string>("accountId");
        a.phoneId = phoneCreds.certificate.subject;
        a.payee = challenge->getValue<std::string>("payee");
        a.amount = challenge->getValue<wire::Amount>("amount");
        a.currency = challenge->getValue<std::string>("currency");
        a.decision = wire::Decision::Approve;
        a.oneTimePassword = challenge->getValue<std::string>("acknowledgeCode");
        a.decidedAt = ::time(nullptr);
        trust::sign(a, phoneCreds.key);
        Object::Ptr body = new Object;
        body->set("approval", wire::toBase64Url(a.encode()));
        const auto r = phoneLine_->call("POST", "/v1/phone/approvals", json(body));
        if (r.status != 200) throw std::runtime_error("the server refused the OTP approval: " + r.raw);
        return challenge->getValue<std::string>("oneTimePassword");
    }
    throw std::runtime_error("no one-time password for order " + orderId + " at the phone: " + otps.raw);
}

int Stack::phoneReceived(bluetooth::MessageType type)
{
    std::lock_guard lock(phoneMutex_);
    const auto it = phoneReceived_.find(type);
    return it == phoneReceived_.end() ? 0 : it->second;
}

std::shared_ptr<phone::ServerLine> Stack::phoneServerLine() { return std::make_shared<phone::HttpsServerLine>(server_->phoneOptions()); }

std::vector<std::string> Stack::phoneLog()
{
    std::lock_guard lock(phoneMutex_);
    return phoneLog_;
}

std::optional<wire::Receipt> Stack::receipt()
{
    std::lock_guard lock(phoneMutex_);
    return receipt_;
}

} // namespace boxoffice::e2e
