// Crash and concurrency: clients drive complete purchases with retries while
// boxoffice-server processes are killed with SIGKILL at random moments and
// restarted; afterwards every order has exactly one effect and the invariants
// hold. On SQLite, on PostgreSQL, and with two server processes sharing
// PostgreSQL (both clients buying the same orders at the same time).

#include "ServerBackend.h"
#include "ServerProcess.h"

#include <boxoffice/testsupport/Postgres.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Receipt.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::server::test;
using Poco::JSON::Object;

namespace {

constexpr std::int64_t kPrice = 100;

// The issue asks for 1,000 purchases; CI's time budget takes fewer by default.
// BOXOFFICE_SERVER_CRASH_PURCHASES=1000 runs the full count.
int purchases(int fallback)
{
    const char* env = std::getenv("BOXOFFICE_SERVER_CRASH_PURCHASES");
    return env ? std::atoi(env) : fallback;
}

Object::Ptr obj(const serverapi::ClientResponse& r) { return r.body.extract<Object::Ptr>(); }

std::string body(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields)
{
    Object::Ptr o = new Object;
    for (const auto& [k, v] : fields) o->set(k, v);
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

void setUp(ServerProcess& server, std::int64_t funds)
{
    const auto& keys = DevKeys::get().dir;
    auto ops = server.operatorClient();
    auto ok = [](const serverapi::ClientResponse& r) {
        if (r.status >= 300) throw std::runtime_error("setup failed: " + r.raw);
    };
    ok(ops.call("POST", "/v1/operator/accounts", body({{"accountId", "acct-alice"}, {"kind", "wallet"}, {"currency", "EUR"}})));
    ok(ops.call("POST", "/v1/operator/accounts", body({{"accountId", "studio"}, {"kind", "merchant"}, {"currency", "EUR"}})));
    ok(ops.call("POST", "/v1/operator/deposits",
                body({{"transferId", "dep-1"}, {"accountId", "acct-alice"}, {"amount", funds}, {"currency", "EUR"}})));
    ok(ops.call("POST", "/v1/operator/devices",
                body({{"certificate", certificateField(keys / "devices/stb-1/device.cert")}, {"accountId", "acct-alice"}})));
    ok(ops.call("POST", "/v1/operator/phones",
                body({{"certificate", certificateField(keys / "phones/phone-1/phone.cert")}, {"accountId", "acct-alice"}})));
    const std::int64_t now = ::time(nullptr);
    ok(ops.call("PUT", "/v1/operator/events/ev-1",
                R"({"title":"Crash","payee":"studio","price":100,"currency":"EUR","saleFrom":)" + std::to_string(now - 3600) +
                    R"(,"saleUntil":)" + std::to_string(now + 86400) + R"(,"startsAt":)" + std::to_string(now) +
                    R"(,"endsAt":)" + std::to_string(now + 9000) + R"(,"eventKeyId":"ev-demo/1"})"));
}

// One purchase, every step retried until the server answers (it may be dead or
// restarting); each step is idempotent by its ids, so retries are safe.
class Buyer {
public:
    explicit Buyer(ServerProcess& server) : server_(server), phone_(trust::loadPhone(DevKeys::get().dir / "phones/phone-1")) {}

    void buy(const std::string& orderId)
    {
        auto order = step([&](serverapi::Client& stb, serverapi::Client&) {
            return stb.call("POST", "/v1/stb/orders",
                            body({{"orderId", orderId}, {"eventId", "ev-1"}, {"amount", kPrice}, {"currency", "EUR"}}));
        });
        wire::Approval a;
        a.transactionNumber = order->getValue<std::string>("transactionNumber");
        a.orderId = orderId;
        a.accountId = "acct-alice";
        a.phoneId = phone_.certificate.subject;
        a.payee = "studio";
        a.amount = kPrice;
        a.currency = "EUR";
        a.decidedAt = 1; // fixed: the same approval whoever sends it
        trust::sign(a, phone_.key);
        const auto approval = wire::toBase64Url(a.encode());
        auto approved = step([&](serverapi::Client&, serverapi::Client& phone) {
            return phone.call("POST", "/v1/phone/approvals", body({{"approval", approval}}));
        });
        step([&](serverapi::Client& stb, serverapi::Client&) { return stb.get("/v1/stb/orders/" + orderId); });
        const auto receipt = wire::Receipt::decode(wire::fromBase64Url(approved->getValue<std::string>("receipt")));
        wire::Acknowledgement k;
        k.receiptId = receipt.receiptId;
        k.orderId = orderId;
        k.phoneId = phone_.certificate.subject;
        k.acknowledgedAt = 1;
        trust::sign(k, phone_.key);
        const auto ack = wire::toBase64Url(k.encode());
        step([&](serverapi::Client&, serverapi::Client& phone) {
            return phone.call("POST", "/v1/phone/acknowledgements", body({{"acknowledgement", ack}}));
        });
    }

private:
    template <class F>
    Object::Ptr step(F&& request)
    {
        for (int attempt = 0; attempt < 2000; ++attempt) {
            try {
                if (!stb_ || port_ != server_.port()) {
                    port_ = server_.port();
                    stb_ = std::make_unique<serverapi::Client>(server_.stbOptions("stb-1"));
                    phone_client_ = std::make_unique<serverapi::Client>(server_.phoneOptions());
                }
                auto r = request(*stb_, *phone_client_);
                if (r.status < 300) return obj(r);
                // 5xx from a server going down is retried; a 4xx is a real refusal.
                if (r.status < 500) throw std::runtime_error("refused: " + std::to_string(r.status) + " " + r.raw);
            } catch (const Error&) {
                stb_.reset(); // transport failure: the server died; reconnect
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        throw std::runtime_error("server never answered");
    }

    ServerProcess& server_;
    trust::Credentials phone_;
    std::uint16_t port_ = 0;
    std::unique_ptr<serverapi::Client> stb_;
    std::unique_ptr<serverapi::Client> phone_client_;
};

// Kills one of `servers` at random moments and restarts it, until stopped.
class Killer {
public:
    Killer(std::vector<ServerProcess*> servers, unsigned seed) : servers_(std::move(servers)), random_(seed)
    {
        thread_ = std::thread([this] {
            while (!stop_) {
                std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1200)(random_)));
                if (stop_) break;
                auto* victim = servers_[std::uniform_int_distribution<std::size_t>(0, servers_.size() - 1)(random_)];
                victim->kill();
                ++kills_;
                try {
                    victim->start();
                } catch (const std::exception& e) {
                    // Never terminate the test process from this thread: report and stop killing.
                    ADD_FAILURE() << "restart failed: " << e.what();
                    return;
                }
            }
        });
    }
    ~Killer() { stopNow(); }
    int kills() const { return kills_; }
    int stopNow()
    {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        return kills_;
    }

private:
    std::vector<ServerProcess*> servers_;
    std::mt19937 random_;
    std::atomic<bool> stop_{false};
    std::atomic<int> kills_{0};
    std::thread thread_;
};

void expectOneEffectEach(ServerProcess& server, int purchases, std::int64_t funds)
{
    auto ops = server.operatorClient();
    auto r = ops.get("/v1/operator/invariants");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getArray("violations")->size(), 0u) << r.raw;
    r = ops.get("/v1/operator/accounts/acct-alice");
    EXPECT_EQ(obj(r)->getValue<std::int64_t>("balance"), funds - purchases * kPrice);
    EXPECT_EQ(obj(r)->getValue<std::int64_t>("available"), funds - purchases * kPrice);
    r = ops.get("/v1/operator/accounts/studio");
    EXPECT_EQ(obj(r)->getValue<std::int64_t>("balance"), purchases * kPrice);
    auto history = server.phoneClient().get("/v1/phone/purchases");
    ASSERT_EQ(history.status, 200);
    // The history endpoint lists at most 100; all of those are closed.
    for (const auto& o : *obj(history)->getArray("orders"))
        EXPECT_EQ(o.extract<Object::Ptr>()->getValue<std::string>("state"), "closed");
}

// Buys at least `count` purchases, and on until the killer has struck at least
// once (a fast server can finish `count` before the first kill); returns how many.
int buyThroughKills(Buyer& buyer, const Killer& killer, int count)
{
    int bought = 0;
    while (bought < count || (killer.kills() == 0 && bought < 10 * count)) buyer.buy("c-" + std::to_string(bought++));
    return bought;
}

class CrashTest : public ::testing::Test {
protected:
    ScratchDir dir_;
    static constexpr std::int64_t kFunds = 1'000'000;
};

TEST_F(CrashTest, SqliteServerKilledAtRandomWhileBuying) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUp(server, kFunds);
    const int kPurchases = purchases(150);
    Killer killer({&server}, 1);
    Buyer buyer(server);
    const int bought = buyThroughKills(buyer, killer, kPurchases);
    EXPECT_GT(killer.stopNow(), 0);
    expectOneEffectEach(server, bought, kFunds);
}

TEST_F(CrashTest, PostgresServerKilledAtRandomWhileBuying) {
    testsupport::PostgresDatabase pg;
    ServerProcess server(dir_.path(), pg.connection());
    setUp(server, kFunds);
    const int kPurchases = purchases(150);
    Killer killer({&server}, 2);
    Buyer buyer(server);
    const int bought = buyThroughKills(buyer, killer, kPurchases);
    EXPECT_GT(killer.stopNow(), 0);
    expectOneEffectEach(server, bought, kFunds);
}

TEST_F(CrashTest, TwoPostgresServersBuyingTheSameOrdersWhileKilled) {
    testsupport::PostgresDatabase pg;
    ServerProcess first(dir_.path(), pg.connection(), "first");
    ServerProcess second(dir_.path(), pg.connection(), "second");
    setUp(first, kFunds);
    const int kPurchases = purchases(80);
    Killer killer({&first, &second}, 3);
    // Two clients, one per server, buy the same orders at the same time.
    std::atomic<int> failures{0};
    auto drive = [&](ServerProcess& server) {
        try {
            Buyer buyer(server);
            for (int i = 0; i < kPurchases; ++i) buyer.buy("c-" + std::to_string(i));
        } catch (const std::exception& e) {
            ++failures;
            ADD_FAILURE() << e.what();
        }
    };
    std::thread a(drive, std::ref(first));
    std::thread b(drive, std::ref(second));
    a.join();
    b.join();
    killer.stopNow();
    EXPECT_EQ(failures.load(), 0);
    expectOneEffectEach(first, kPurchases, kFunds);
}

} // namespace
