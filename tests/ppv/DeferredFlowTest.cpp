// Flow 5 end to end with real parts: a real boxoffice-server process issues dormant
// tickets (POST /v1/operator/dormant-tickets) and settles history batches; the STB is
// the bluetooth, billing and ppv plugin libraries in a PluginHost with NO line (no
// sync plugin: no ServerLink); the fake org.bluez on a private dbus-daemon; the
// reference phone (phone-1's key) carrying the history with phone::Settler over its
// HTTPS line, or misbehaving in the ways an untrusted relay can.

#include "Rig.h"           // tests/bluetooth: EventLog, fake BlueZ
#include "BoxSetup.h"
#include "OperatorSetup.h"
#include "ServerProcess.h" // tests/server: the real server and its development keys

#include <boxoffice/base/Hex.h>
#include <boxoffice/billing/History.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/phone/Settler.h>
#include <boxoffice/ppv/Wallet.h>
#include <boxoffice/serversync/HistorySync.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/SettlementResult.h>

#include <Poco/JSON/Stringifier.h>

#include <gmock/gmock.h>

#include <atomic>
#include <sstream>

using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace boxoffice::ppv::test {
namespace {

using namespace std::chrono_literals;
using Poco::JSON::Object;
using server::test::DevKeys;
using server::test::ServerProcess;
namespace bt = boxoffice::bluetooth;

std::string text(const Poco::Dynamic::Var& v)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(v, out);
    return out.str();
}

constexpr wire::Amount kCreditLimit = 1000;

constexpr ServerEvent kEvents[] = {{"ev-final", "The Final", 450}, {"ev-opera", "Opera Night", 300},
                                   {"ev-boxing", "Title Fight", 400}};

class DeferredFlowTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto& keys = DevKeys::get().dir;
        now = ::time(nullptr);
        server = std::make_unique<ServerProcess>(dir.path(), "sqlite:" + (dir.path() / "server.db").string(), "server", true);
        setUpServer();

        config = ppv::test::boxConfig("stb-1", bus.address(), "Cabin");
        config->setInt64("plugins.billing.creditLimit", kCreditLimit);
        // What the history handed to the phone is sealed to.
        config->setString("plugins.billing.serverCertificate", (keys / "server/server.cert").string());
        config->setInt("plugins.billing.handoff.phoneTimeoutMs", 3000);
        config->setBool("plugins.billing.handoff.onConnect", false);
        startStb();
    }

    void TearDown() override
    {
        phone.phone.reset();
        host.reset();
    }

    void setUpServer() { setUpOperator(*server, now, {std::begin(kEvents), std::end(kEvents)}); }

    void startStb()
    {
        // No sync plugin: the box has no line to the server (unless a test gives it one).
        host = withLine ? ppv::test::startBox(*config, dir.path() / "stb", dispatcher, {"bluetooth", "billing", "sync", "ppv"})
                        : ppv::test::startBox(*config, dir.path() / "stb", dispatcher, {"bluetooth", "billing", "ppv"});
        for (const auto& p : host->plugins())
            ASSERT_EQ(p.state, host::PluginState::Activated) << p.name << ": " << p.reason;
        ASSERT_TRUE(fake.waitFor([](const fakebluez::FakeBluez::State& s) { return s.applicationActive; }, 10s));
        events = std::make_shared<testing::EventLog>();
        caller.client = "tv";
        caller.scopes = {"read", "control", "admin"};
        caller.session = events;
        result("host.1.subscribe", R"({"events":["ppv.1.orderChanged","ppv.1.ticketAdded","billing.1.recordAdded",)"
                                   R"("billing.1.settled","bluetooth.1.linkConfirmation","bluetooth.1.pairingCode"]})");
        // The catalog as the box cached it while it last had a line.
        std::vector<CatalogEvent> catalog;
        for (const auto& e : kEvents) {
            CatalogEvent c;
            c.eventId = e.id;
            c.title = e.title;
            c.payee = "studio";
            c.price = e.price;
            c.currency = "EUR";
            c.saleFrom = now - 3600;
            c.saleUntil = now + 86400;
            c.startsAt = now - 60;
            c.endsAt = now + 90000;
            c.eventKeyId = "ev-demo/1";
            c.dvbEventId = std::string(e.id) == "ev-final" ? 7 : 0;
            c.playUri = std::string(e.id) == "ev-final" ? "udp://127.0.0.1:5004" : "";
            catalog.push_back(c);
        }
        wallet()->replaceCatalog(catalog);
    }

    std::shared_ptr<Wallet> wallet() { return host->services().require<Wallet>(); }
    std::shared_ptr<billing::History> history() { return host->services().require<billing::History>(); }

    // The operator issues a dormant ticket to stb-1; it reached the box ahead (delivery
    // queue or a phone): into the wallet. Returns the server's answer.
    Object::Ptr deliverDormant(const std::string& eventId)
    {
        auto r = server->operatorClient().call("POST", "/v1/operator/dormant-tickets",
                                               R"({"deviceId":"stb-1","eventId":")" + eventId + R"("})");
        if (r.status != 201 && r.status != 200) throw std::runtime_error("dormant ticket: " + r.raw);
        auto answer = r.body.extract<Object::Ptr>();
        wallet()->addTicket(wire::fromBase64Url(answer->getValue<std::string>("ticket"), "ticket"));
        return answer;
    }

    Object::Ptr rpc(const std::string& method, const std::string& params = "{}")
    {
        const auto reply = dispatcher.handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}",
                                             caller);
        return Poco::JSON::Parser().parse(reply.value_or("{}")).extract<Object::Ptr>();
    }
    Poco::Dynamic::Var result(const std::string& method, const std::string& params = "{}")
    {
        const auto reply = rpc(method, params);
        if (reply->has("error")) throw std::runtime_error(method + ": " + text(reply->get("error")));
        return reply->get("result");
    }
    Object::Ptr object(const std::string& method, const std::string& params = "{}")
    {
        return result(method, params).extract<Object::Ptr>();
    }
    // The error of a call that must fail: {code keyword, message}.
    std::pair<std::string, std::string> refusal(const std::string& method, const std::string& params = "{}")
    {
        const auto reply = rpc(method, params);
        if (!reply->has("error")) return {"none", "no error: " + text(reply)};
        const auto error = reply->getObject("error");
        const auto data = error->getObject("data");
        return {data && data->has("error") ? data->getValue<std::string>("error") : "", error->getValue<std::string>("message")};
    }

    Object::Ptr buy(const std::string& eventId) { return object("ppv.1.buy", R"({"eventId":")" + eventId + R"(","pin":"2468"})"); }

    // The ledger as the server's operator sees it.
    std::int64_t balance(const std::string& account)
    {
        auto r = server->operatorClient().get("/v1/operator/accounts/" + account);
        return r.body.extract<Object::Ptr>()->getValue<std::int64_t>("balance");
    }
    void expectServerInvariants()
    {
        auto r = server->operatorClient().get("/v1/operator/invariants");
        ASSERT_EQ(r.status, 200) << r.raw;
        EXPECT_EQ(r.body.extract<Object::Ptr>()->getArray("violations")->size(), 0u) << r.raw;
    }

    // The server's own records (its SQLite file, read beside the running process): the
    // history-sync invariants hold, and the ledger transfers of the settled deferred
    // purchases as "amount state", by history sequence.
    std::vector<std::string> deferredTransfers()
    {
        storage::Database db("sqlite:" + (dir.path() / "server.db").string());
        return db.read([](storage::Transaction& tx) {
            const auto bad = serversync::HistorySync::checkInvariants(tx);
            EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
            std::vector<std::string> out;
            for (const auto& r : tx.query("SELECT t.amount, t.state, t.debit_account, t.credit_account FROM sync_record r"
                                          " JOIN ledger_transfer t ON t.id = r.transfer_id WHERE r.device_id = 'stb-1'"
                                          " ORDER BY r.sequence"))
                out.push_back(std::to_string(r.int64(0)) + " " + r.text(1) + " " + r.text(2) + "->" + r.text(3));
            return out;
        });
    }

    // Pairs phone-1; its messages go to `onMessage` (the Settler over its HTTPS line by default).
    void pairPhone()
    {
        const auto& keys = DevKeys::get().dir;
        phone.link = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{bus.address(), "AA:BB:CC:DD:EE:05", 185});
        phone.phone = std::make_unique<phone::Phone>(
            crypto::P256PrivateKey::fromPem(trust::readKeyFile(keys / "phones/phone-1/sign.key.pem")), "Alice");
        ASSERT_NO_FATAL_FAILURE(testing::pairOverRpc(
            phone, *events, [this](const std::string& m, const std::string& p) { result(m, p); },
            [this](const bt::Message& m) -> std::optional<bt::Message> {
                if (m.type == bt::MessageType::HistoryHandoff) {
                    ++handoffs;
                    std::lock_guard lock(phoneMutex);
                    lastHandoff = bt::HistoryHandoffBody::decode(m.body);
                    if (onHandoff) return onHandoff(m);
                }
                return settler->handle(m);
            }));
        ASSERT_TRUE(boxoffice::testing::eventually([&] {
            for (const auto& p : host->services().require<bt::PhoneChannel>()->phones())
                if (p.connected) return true;
            return false;
        }, 10s));
    }

    // A message the phone sends on its own (not a reply), and the STB's Result.
    bt::ResultBody phoneSends(bt::MessageType type, const Bytes& body)
    {
        const auto reply = phone.phone->request({type, 0, 0, body}, 10s);
        EXPECT_EQ(reply.type, bt::MessageType::Result);
        return bt::ResultBody::decode(reply.body);
    }

    std::shared_ptr<phone::ServerLine> line() { return std::make_shared<phone::HttpsServerLine>(server->phoneOptions()); }
    // The reference phone app (phone-1) with its own line to the server; it declines purchases.
    std::shared_ptr<phone::Settler> referencePhone()
    {
        const auto creds = trust::loadPhone(DevKeys::get().dir / "phones/phone-1");
        return std::make_shared<phone::Settler>(creds.certificate.subject, creds.key, line(),
                                                [](const phone::ServerOrder&) { return wire::Decision::Decline; });
    }

    // The honest phone hands off what is left: ev-final and ev-opera (450 + 300) settled, each
    // charged exactly once.
    void expectFinalAndOperaSettledOnce()
    {
        onHandoff = nullptr;
        EXPECT_EQ(object("billing.1.handoff")->getValue<std::uint64_t>("settledThrough"), 2u);
        EXPECT_EQ(history()->credit().outstanding, 0);
        EXPECT_EQ(balance("acct-alice"), 2000 - 750);
        EXPECT_EQ(balance("studio"), 750);
        EXPECT_EQ(deferredTransfers(), (std::vector<std::string>{"450 posted acct-alice->studio", "300 posted acct-alice->studio"}));
        expectServerInvariants();
    }

    boxoffice::testing::TempDir dir{"ppv-deferred"};
    wire::UnixTime now = 0;
    std::unique_ptr<ServerProcess> server;
    fakebluez::PrivateBus bus;
    fakebluez::FakeBluez fake{{bus.address(), 10s, 10s}};
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    std::unique_ptr<host::PluginHost> host;
    std::shared_ptr<testing::EventLog> events;
    rpc::Caller caller;
    testing::Rig::TestPhone phone;
    std::shared_ptr<phone::Settler> settler = std::make_shared<phone::Settler>(
        trust::loadPhone(DevKeys::get().dir / "phones/phone-1").certificate.subject,
        trust::loadPhone(DevKeys::get().dir / "phones/phone-1").key, nullptr, [](const phone::ServerOrder&) { return wire::Decision::Decline; });
    std::mutex phoneMutex;
    std::function<std::optional<bt::Message>(const bt::Message&)> onHandoff;   // a misbehaving phone
    std::optional<bt::HistoryHandoffBody> lastHandoff;
    std::atomic<int> handoffs{0};
    bool withLine = false;
};

TEST_F(DeferredFlowTest, DormantTicketIsNotPlayableUntilBoughtOnCreditAndSurvivesRestart)
{
    const auto dormant = deliverDormant("ev-final");
    const auto ticketId = dormant->getValue<std::string>("ticketId");
    // Issuing a dormant ticket charges nothing; issuing again gives the same ticket.
    EXPECT_EQ(balance("acct-alice"), 2000);
    auto again = server->operatorClient().call("POST", "/v1/operator/dormant-tickets", R"({"deviceId":"stb-1","eventId":"ev-final"})");
    ASSERT_EQ(again.status, 200) << again.raw;
    EXPECT_EQ(again.body.extract<Object::Ptr>()->getValue<std::string>("ticketId"), ticketId);
    expectServerInvariants();

    // In the wallet but dormant: not playable, no control words, the event still on sale.
    const auto tickets = object("ppv.1.tickets")->getArray("tickets");
    ASSERT_EQ(tickets->size(), 1u);
    EXPECT_EQ(tickets->getObject(0)->getValue<std::string>("state"), "dormant");
    EXPECT_EQ(object("ppv.1.event", R"({"eventId":"ev-final"})")->getValue<std::string>("state"), "on-sale");
    const auto [code, message] = refusal("ppv.1.watch", R"({"eventId":"ev-final"})");
    EXPECT_EQ(code, "permission denied");
    EXPECT_THAT(message, HasSubstr("dormant"));

    auto keyText = trust::readKeyFile(DevKeys::get().dir / "events" / (trust::keyDirName("ev-demo/1") + ".key"));
    keyText.erase(keyText.find_last_not_of(" \n") + 1);
    mpegts::EcmHeader h;
    h.eventId = 7;
    h.serviceId = 1;
    h.cryptoPeriod = 2;
    const Bytes cw(16, 0x5a), next(16, 0xa5);
    const auto ecm = mpegts::sealEcm(h, cw, next, fromHex(keyText));
    std::string reason;
    EXPECT_FALSE(host->services().require<mpegts::KeyService>()->onEcm(ecm, reason));
    EXPECT_THAT(reason, HasSubstr("dormant"));

    // Without a line and with no dormant ticket for it, nothing can be bought.
    EXPECT_THAT(refusal("ppv.1.buy", R"({"eventId":"ev-opera","pin":"2468"})").second, StartsWith("no-line"));
    // A wrong PIN is refused before anything is recorded.
    EXPECT_THAT(refusal("ppv.1.buy", R"({"eventId":"ev-final","pin":"1111"})").second, StartsWith("pin-wrong"));
    EXPECT_EQ(history()->status().lastSequence, 0u);

    // Bought on credit: a deferred record at the catalog price, the ticket playable.
    const auto order = buy("ev-final");
    EXPECT_EQ(order->getValue<std::string>("state"), "approved");
    EXPECT_EQ(order->getValue<std::string>("method"), "credit");
    EXPECT_EQ(order->getValue<std::string>("ticketId"), ticketId);
    const auto records = history()->recent(10, 0);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(records[0].deferred);
    EXPECT_FALSE(records[0].settled);
    EXPECT_EQ(records[0].record.kind, wire::HistoryKind::Purchase);
    EXPECT_EQ(records[0].record.eventId, "ev-final");
    EXPECT_EQ(records[0].record.ticketId, ticketId);
    EXPECT_EQ(records[0].record.amount, 450);
    const auto credit = object("billing.1.credit");
    EXPECT_EQ(credit->getValue<std::int64_t>("outstanding"), 450);
    EXPECT_EQ(credit->getValue<std::int64_t>("available"), kCreditLimit - 450);
    EXPECT_EQ(object("ppv.1.watch", R"({"eventId":"ev-final"})")->getValue<std::string>("ticketId"), ticketId);
    auto words = host->services().require<mpegts::KeyService>()->onEcm(ecm, reason);
    ASSERT_TRUE(words) << reason;
    EXPECT_EQ(Bytes(words->even.view().begin(), words->even.view().end()), cw);
    EXPECT_EQ(refusal("ppv.1.buy", R"({"eventId":"ev-final","pin":"2468"})").first, "already exists");
    // The purchase, then the view the control words started (a signed play record).
    EXPECT_EQ(history()->status().lastSequence, 2u);
    EXPECT_EQ(history()->ofTicket(ticketId, wire::HistoryKind::Play).size(), 1u);
    // Nothing reached the server: the box has no line.
    EXPECT_EQ(balance("acct-alice"), 2000);

    // The activation is kept across a restart.
    host.reset();
    startStb();
    EXPECT_EQ(object("ppv.1.watch", R"({"eventId":"ev-final"})")->getValue<std::string>("ticketId"), ticketId);
    EXPECT_EQ(object("billing.1.credit")->getValue<std::int64_t>("outstanding"), 450);
}

TEST_F(DeferredFlowTest, ActivationIsBelievedOnlyFromTheSignedHistoryAndRepairedAfterACrash)
{
    const auto final = deliverDormant("ev-final")->getValue<std::string>("ticketId");
    deliverDormant("ev-opera");
    buy("ev-opera");   // billing record 1
    const auto ppvDb = dir.path() / "stb" / "ppv" / "ppv.db";
    auto setActivation = [&](std::int64_t sequence) {
        storage::Database db("sqlite:" + ppvDb.string());
        db.write([&](storage::Transaction& tx) {
            return tx.execute("UPDATE ppv_ticket SET activation = ? WHERE ticket_id = ?", {sequence, final});
        });
    };

    // Someone edits ppv.db to mark the final bought, pointing at the opera's purchase record.
    host.reset();
    setActivation(1);
    startStb();
    EXPECT_THAT(refusal("ppv.1.watch", R"({"eventId":"ev-final"})").second, HasSubstr("dormant"));
    EXPECT_NO_THROW(object("ppv.1.watch", R"({"eventId":"ev-opera"})"));

    // The box recorded the purchase, then lost power before it activated the ticket.
    host.reset();
    setActivation(0);
    startStb();
    history()->append({wire::HistoryKind::Purchase, "ev-final", final, "stb-crashed", 450, "EUR", 0, true});
    EXPECT_THAT(refusal("ppv.1.watch", R"({"eventId":"ev-final"})").second, HasSubstr("dormant"));
    host.reset();
    startStb();   // repaired at start from the history
    EXPECT_EQ(object("ppv.1.watch", R"({"eventId":"ev-final"})")->getValue<std::string>("ticketId"), final);
    EXPECT_EQ(history()->status().lastSequence, 2u);   // and not bought twice
    EXPECT_EQ(history()->credit().outstanding, 750);
}

TEST_F(DeferredFlowTest, DormantTicketFromTheDeliveryQueueIsBoughtOnCreditOnceTheLineIsDown)
{
    // A box with a line (the real sync plugin, mTLS) fetches its deliveries, dormant ones too.
    host.reset();
    ppv::test::giveLine(*config, *server);
    withLine = true;
    startStb();
    auto issued = server->operatorClient().call("POST", "/v1/operator/dormant-tickets", R"({"deviceId":"stb-1","eventId":"ev-final"})");
    ASSERT_EQ(issued.status, 201) << issued.raw;
    const auto ticketId = issued.body.extract<Object::Ptr>()->getValue<std::string>("ticketId");
    object("ppv.1.refresh");   // (the plugin's own feeder may fetch it first)
    const auto tickets = object("ppv.1.tickets")->getArray("tickets");
    ASSERT_EQ(tickets->size(), 1u);
    EXPECT_EQ(tickets->getObject(0)->getValue<std::string>("ticketId"), ticketId);
    EXPECT_EQ(tickets->getObject(0)->getValue<std::string>("state"), "dormant");
    EXPECT_EQ(object("ppv.1.refresh")->getValue<int>("ticketsAdded"), 0);   // acknowledged: not offered again

    // The line goes down (the sync plugin notices it): the dormant ticket is bought on credit.
    server->kill();
    EXPECT_FALSE(object("sync.1.syncNow")->getValue<bool>("online"));
    const auto order = buy("ev-final");
    EXPECT_EQ(order->getValue<std::string>("method"), "credit");
    EXPECT_EQ(order->getValue<std::string>("state"), "approved");
    EXPECT_EQ(object("ppv.1.watch", R"({"eventId":"ev-final"})")->getValue<std::string>("ticketId"), ticketId);
    const auto records = history()->recent(10, 0);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(records[0].deferred);
    EXPECT_EQ(records[0].record.ticketId, ticketId);
    // Without a dormant ticket nothing is bought on credit (here: no phone for flow 3 either).
    EXPECT_NE(refusal("ppv.1.buy", R"({"eventId":"ev-opera","pin":"2468"})").first, "none");
    EXPECT_EQ(history()->status().lastSequence, 1u);
}

TEST_F(DeferredFlowTest, PurchaseAboveTheCreditLimitIsRefusedWithNothingStored)
{
    deliverDormant("ev-final");
    deliverDormant("ev-opera");
    deliverDormant("ev-boxing");
    buy("ev-final");    // 450
    buy("ev-opera");    // 300: 750 of 1000 used
    const auto before = history()->status();
    const auto [code, message] = refusal("ppv.1.buy", R"({"eventId":"ev-boxing","pin":"2468"})");   // 400 > 250 left
    EXPECT_EQ(code, "limit exceeded");
    EXPECT_THAT(message, StartsWith("over-credit-limit"));
    // Nothing stored: no record, no order, the ticket still dormant and unplayable.
    EXPECT_EQ(history()->status().lastSequence, before.lastSequence);
    EXPECT_EQ(history()->credit().outstanding, 750);
    const auto tickets = object("ppv.1.tickets")->getArray("tickets");
    int dormant = 0;
    for (std::size_t i = 0; i < tickets->size(); ++i) {
        const auto t = tickets->getObject(static_cast<unsigned>(i));
        if (t->getValue<std::string>("eventId") == "ev-boxing") {
            EXPECT_EQ(t->getValue<std::string>("state"), "dormant");
        }
        if (t->getValue<std::string>("state") == "dormant") ++dormant;
    }
    EXPECT_EQ(dormant, 1);
    EXPECT_EQ(refusal("ppv.1.watch", R"({"eventId":"ev-boxing"})").first, "permission denied");
}

TEST_F(DeferredFlowTest, PhoneCarriesTheHistoryAndTheSettlementFreesCredit)
{
    deliverDormant("ev-final");
    deliverDormant("ev-opera");
    deliverDormant("ev-boxing");
    buy("ev-final");
    buy("ev-opera");
    EXPECT_EQ(history()->credit().outstanding, 750);
    const auto [code, message] = refusal("billing.1.handoff");   // nobody to carry it yet
    EXPECT_EQ(code, "unavailable");
    EXPECT_THAT(message, HasSubstr("phone"));

    settler = referencePhone();
    pairPhone();
    const auto done = object("billing.1.handoff");
    EXPECT_EQ(done->getValue<std::string>("phoneId"), phone.phone->id());
    EXPECT_EQ(done->getValue<std::uint64_t>("firstSequence"), 1u);
    EXPECT_EQ(done->getValue<std::uint64_t>("lastSequence"), 2u);
    EXPECT_EQ(done->getValue<std::uint64_t>("settledThrough"), 2u);
    EXPECT_EQ(handoffs.load(), 1);

    // The STB: settled, credit free again.
    const auto status = history()->status();
    EXPECT_EQ(status.settledThrough, 2u);
    EXPECT_EQ(history()->credit().outstanding, 0);
    for (const auto& r : history()->recent(10, 0)) EXPECT_TRUE(r.settled) << r.record.sequence;
    ASSERT_TRUE(events->waitFor("billing.1.settled", 5s));
    // The server: one posted transfer per deferred purchase, at the catalog price.
    EXPECT_EQ(balance("acct-alice"), 2000 - 750);
    EXPECT_EQ(balance("studio"), 750);
    EXPECT_EQ(deferredTransfers(), (std::vector<std::string>{"450 posted acct-alice->studio", "300 posted acct-alice->studio"}));
    expectServerInvariants();

    // The freed credit buys again; nothing left to hand off once that is settled too.
    buy("ev-boxing");
    EXPECT_EQ(object("billing.1.handoff")->getValue<std::uint64_t>("settledThrough"), 3u);
    EXPECT_EQ(balance("acct-alice"), 2000 - 1150);
    EXPECT_EQ(deferredTransfers().size(), 3u);
    EXPECT_EQ(refusal("billing.1.handoff").first, "not found");
    expectServerInvariants();
}

TEST_F(DeferredFlowTest, HandoffHappensWhenThePhoneConnects)
{
    host.reset();
    config->setBool("plugins.billing.handoff.onConnect", true);
    startStb();
    deliverDormant("ev-opera");
    buy("ev-opera");
    settler = referencePhone();
    pairPhone();
    auto settled = events->waitFor("billing.1.settled", 20s);
    ASSERT_TRUE(settled);
    EXPECT_EQ(history()->status().settledThrough, 1u);
    EXPECT_EQ(balance("acct-alice"), 2000 - 300);
    expectServerInvariants();
}

TEST_F(DeferredFlowTest, AHistoryLargerThanOneMessageIsHandedOffInBatchesOnConnect)
{
    host.reset();
    config->setBool("plugins.billing.handoff.onConnect", true);
    startStb();
    // Views recorded while offline, then a purchase on credit: more than one handoff body.
    std::vector<billing::Entry> plays(150, billing::Entry{wire::HistoryKind::Play, "ev-opera", "", "", 0, "EUR", 0, false});
    history()->appendAll(plays);
    deliverDormant("ev-final");
    buy("ev-final");
    const auto last = history()->status().lastSequence;
    ASSERT_EQ(last, 151u);
    const auto first = history()->exportUnsettled(15 * 1024);
    ASSERT_TRUE(first);
    ASSERT_LT(first->lastSequence, last) << "the test needs a history that does not fit one message";

    settler = referencePhone();
    pairPhone();
    ASSERT_TRUE(boxoffice::testing::eventually([&] { return history()->status().settledThrough == last; }, 30s))
        << "settled through " << history()->status().settledThrough;
    EXPECT_GE(handoffs.load(), 2);
    EXPECT_EQ(history()->credit().outstanding, 0);
    EXPECT_EQ(balance("acct-alice"), 2000 - 450);
    expectServerInvariants();
}

TEST_F(DeferredFlowTest, UntrustedRelayCanDelayButNotAlterReplayOrRedirect)
{
    deliverDormant("ev-final");
    deliverDormant("ev-opera");
    buy("ev-final");
    settler = referencePhone();
    pairPhone();
    auto serverLine = line();

    // 1. The phone alters the batch before uploading: the server refuses, nothing settles.
    onHandoff = [&](const bt::Message& m) -> std::optional<bt::Message> {
        auto body = bt::HistoryHandoffBody::decode(m.body);
        body.history[body.history.size() / 2] ^= 0x01;
        return settler->handle({m.type, m.id, m.replyTo, body.encode()});
    };
    auto refused = refusal("billing.1.handoff");
    EXPECT_NE(refused.first, "none") << refused.second;
    EXPECT_EQ(history()->status().settledThrough, 0u);
    EXPECT_EQ(history()->credit().outstanding, 450);
    EXPECT_EQ(balance("acct-alice"), 2000);

    // 2. The phone drops it (no answer): nothing settles; the STB keeps the records.
    onHandoff = [](const bt::Message&) -> std::optional<bt::Message> { return std::nullopt; };
    EXPECT_EQ(refusal("billing.1.handoff").first, "unavailable");
    EXPECT_EQ(history()->status().settledThrough, 0u);
    EXPECT_EQ(balance("acct-alice"), 2000);

    // 3. It uploads the same batch twice: settled once on the server; the STB applies it once.
    onHandoff = [&](const bt::Message& m) -> std::optional<bt::Message> {
        const auto body = bt::HistoryHandoffBody::decode(m.body);
        serverLine->settleHistory(body.history);
        return settler->handle(m);
    };
    EXPECT_EQ(object("billing.1.handoff")->getValue<std::uint64_t>("settledThrough"), 1u);   // the retry works
    EXPECT_EQ(balance("acct-alice"), 2000 - 450);
    EXPECT_EQ(deferredTransfers(), (std::vector<std::string>{"450 posted acct-alice->studio"}));
    expectServerInvariants();
    Bytes oldBatch;
    {
        std::lock_guard lock(phoneMutex);
        oldBatch = lastHandoff->history;
    }
    const auto oldResult = serverLine->settleHistory(oldBatch);   // a third time: the same signed result
    EXPECT_EQ(balance("acct-alice"), 2000 - 450);

    // 4. It replays that old result later: refused, nothing changes.
    const auto replayed = phoneSends(bt::MessageType::SettlementResult, bt::SettlementResultBody{1, oldResult.result, {}}.encode());
    EXPECT_FALSE(replayed.ok);
    EXPECT_EQ(replayed.error, "replayed");
    buy("ev-opera");
    const auto replayedAgain = phoneSends(bt::MessageType::SettlementResult, bt::SettlementResultBody{2, oldResult.result, {}}.encode());
    EXPECT_FALSE(replayedAgain.ok);
    EXPECT_TRUE(replayedAgain.error == "replayed" || replayedAgain.error == "conflict") << replayedAgain.error;
    EXPECT_EQ(history()->status().settledThrough, 1u);
    EXPECT_EQ(history()->credit().outstanding, 300);

    // 5. A genuine server signature, but for another box: wrong audience.
    const auto serverSigner = trust::loadServerSigner(DevKeys::get().dir / "server");
    wire::SettlementResult other;
    other.settlementId = "settle-other-box-2";
    other.deviceId = "stb-2";
    other.settledThrough = 2;
    other.lastRecordHash = history()->status().lastHash;
    other.recordCount = 1;
    other.totalAmount = 300;
    other.currency = "EUR";
    other.settledAt = ::time(nullptr);
    trust::sign(other, serverSigner.key);
    const auto foreign = phoneSends(bt::MessageType::SettlementResult, bt::SettlementResultBody{2, other.encode(), {}}.encode());
    EXPECT_FALSE(foreign.ok);
    EXPECT_EQ(foreign.error, "wrong audience");
    // ... and a forged one (our device id, the phone's own key): bad signature or unknown key.
    other.deviceId = "stb-1";
    trust::sign(other, trust::loadPhone(DevKeys::get().dir / "phones/phone-1").key);
    const auto forged = phoneSends(bt::MessageType::SettlementResult, bt::SettlementResultBody{2, other.encode(), {}}.encode());
    EXPECT_FALSE(forged.ok);
    EXPECT_EQ(history()->status().settledThrough, 1u);
    EXPECT_EQ(history()->credit().outstanding, 300);

    // The honest phone settles the rest; the server charged each purchase exactly once.
    expectFinalAndOperaSettledOnce();
}

TEST_F(DeferredFlowTest, AfterAServerKeyRotationThePhoneBringsTheCertificateTheBoxHasNotLearnt)
{
    deliverDormant("ev-final");
    deliverDormant("ev-opera");
    buy("ev-final");
    buy("ev-opera");

    // The operator rotates the server key while the box has no line: it knows only the
    // configured certificate, and seals to that key (the server keeps it retired).
    const auto rotatedKeys = server::test::rotatedServerKeys(dir.path() / "rotated-keys");
    const auto rotated = trust::loadCertificate(rotatedKeys / "server/server.cert");
    ASSERT_NE(rotated.keyId, trust::loadCertificate(DevKeys::get().dir / "server/server.cert").keyId);
    server->restartWithServerKeys(rotatedKeys);
    settler = referencePhone();
    settler->trustRoot(trust::loadTrustAnchor(DevKeys::get().dir / "root/root.json"));
    EXPECT_FALSE(settler->serverCertificate());
    pairPhone();

    // A phone that brings the result alone (an app from before the certificate field): the box
    // cannot check the new key's signature. Refused, nothing settled on the box.
    Bytes result;
    onHandoff = [&](const bt::Message& m) -> std::optional<bt::Message> {
        auto reply = settler->handle(m);
        if (!reply || reply->type != bt::MessageType::SettlementResult) return reply;
        auto body = bt::SettlementResultBody::decode(reply->body);
        EXPECT_EQ(trust::loadCertificate(rotatedKeys / "server/server.cert").encode(), body.serverCertificate);
        result = body.result;
        body.serverCertificate.clear();
        reply->body = body.encode();
        return reply;
    };
    const auto [code, message] = refusal("billing.1.handoff");
    EXPECT_EQ(code, "not found") << message;
    ASSERT_FALSE(result.empty());
    // The phone itself follows the certificate its line presented (it checks under the root).
    ASSERT_TRUE(settler->serverCertificate());
    EXPECT_EQ(settler->serverCertificate()->keyId, rotated.keyId);
    EXPECT_EQ(wire::SettlementResult::decode(result).signer.keyId, rotated.keyId);
    EXPECT_EQ(history()->status().settledThrough, 0u);
    EXPECT_EQ(history()->credit().outstanding, 750);
    EXPECT_EQ(balance("acct-alice"), 2000 - 750);   // the server settled the batch it opened

    // The phone cannot vouch for a key itself: a certificate for that key id that is not a server
    // certificate the operator root issued changes nothing.
    const auto sends = [&](const Bytes& certificate) {
        return phoneSends(bt::MessageType::SettlementResult, bt::SettlementResultBody{2, result, certificate}.encode());
    };
    auto notAServer = rotated;
    notAServer.role = wire::CertificateRole::Phone;
    const auto wrongRole = sends(trust::issueCertificate(notAServer, trust::loadRootKey(DevKeys::get().dir / "root")).encode());
    EXPECT_FALSE(wrongRole.ok);
    EXPECT_EQ(wrongRole.error, "permission denied") << wrongRole.text;
    EXPECT_THAT(wrongRole.text, HasSubstr("role"));
    auto altered = rotated;
    altered.notAfter += 86400;   // the root's signature no longer covers it
    const auto alteredAnswer = sends(altered.encode());
    EXPECT_FALSE(alteredAnswer.ok);
    EXPECT_EQ(alteredAnswer.error, "permission denied") << alteredAnswer.text;
    EXPECT_THAT(alteredAnswer.text, HasSubstr("not from the operator root"));
    const auto foreignAnswer = sends(trust::issueCertificate(rotated, trust::loadRootKey(DevKeys::get().foreign / "root")).encode());
    EXPECT_FALSE(foreignAnswer.ok);
    EXPECT_EQ(foreignAnswer.error, "permission denied") << foreignAnswer.text;
    const auto garbage = sends(Bytes(40, 0x5a));
    EXPECT_FALSE(garbage.ok);
    EXPECT_EQ(garbage.error, "malformed") << garbage.text;
    EXPECT_EQ(history()->status().settledThrough, 0u);
    EXPECT_EQ(history()->credit().outstanding, 750);

    // The honest phone: the same batch again (the server answers with the same result), now
    // with the certificate the server gave it. It checks against the root: settled.
    expectFinalAndOperaSettledOnce();
}

// A batch the server settled before a rotation, whose result did not reach the box, is carried
// again afterwards: the server answers with the result it kept (signed by the old key) and its
// current certificate. The box checks the result with the old certificate it knows; the phone
// does not follow a certificate that does not verify the result it came with.
TEST_F(DeferredFlowTest, AResultSignedBeforeARotationStillAppliesWhenItComesWithTheNewCertificate)
{
    deliverDormant("ev-final");
    buy("ev-final");
    settler = referencePhone();
    settler->trustRoot(trust::loadTrustAnchor(DevKeys::get().dir / "root/root.json"));
    pairPhone();
    // The phone uploads, the server settles; the answer is lost on the way back.
    onHandoff = [&](const bt::Message& m) -> std::optional<bt::Message> {
        settler->handle(m);
        return bt::Message{bt::MessageType::Result, 0, 0, bt::ResultBody{false, "unavailable", "answer lost", {}}.encode()};
    };
    EXPECT_EQ(refusal("billing.1.handoff").first, "unavailable");
    EXPECT_EQ(balance("acct-alice"), 2000 - 450);
    EXPECT_EQ(history()->status().settledThrough, 0u);
    const auto oldKey = trust::loadCertificate(DevKeys::get().dir / "server/server.cert").keyId;
    ASSERT_TRUE(settler->serverCertificate());
    EXPECT_EQ(settler->serverCertificate()->keyId, oldKey);

    const auto rotatedKeys = server::test::rotatedServerKeys(dir.path() / "rotated-keys");
    server->restartWithServerKeys(rotatedKeys);
    settler = referencePhone();
    settler->trustRoot(trust::loadTrustAnchor(DevKeys::get().dir / "root/root.json"));
    Bytes result, certificate;
    onHandoff = [&](const bt::Message& m) -> std::optional<bt::Message> {
        auto reply = settler->handle(m);
        if (reply && reply->type == bt::MessageType::SettlementResult) {
            const auto body = bt::SettlementResultBody::decode(reply->body);
            result = body.result;
            certificate = body.serverCertificate;
        }
        return reply;
    };
    EXPECT_EQ(object("billing.1.handoff")->getValue<std::uint64_t>("settledThrough"), 1u);
    EXPECT_EQ(wire::SettlementResult::decode(result).signer.keyId, oldKey);
    EXPECT_EQ(certificate, trust::loadCertificate(rotatedKeys / "server/server.cert").encode());
    EXPECT_FALSE(settler->serverCertificate()) << "a certificate that does not verify the result is not followed";
    EXPECT_EQ(history()->credit().outstanding, 0);
    EXPECT_EQ(balance("acct-alice"), 2000 - 450);
    EXPECT_EQ(deferredTransfers(), (std::vector<std::string>{"450 posted acct-alice->studio"}));
    expectServerInvariants();
}

} // namespace
} // namespace boxoffice::ppv::test
