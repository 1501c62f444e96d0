// server_purchase_load: drives complete purchases against an in-process server
// (the real Server + Settlement, real TLS sockets, real database) and reports
// purchases/s and p50/p99 latency, next to a no-op endpoint that goes through
// the same TLS, authentication and JSON path, measured in the same run.
//
//   server_purchase_load [--clients N] [--seconds S] [--database CONNECTION] [--keytool PATH]
//
// A purchase = STB order (mTLS) + phone approval (signed request; posts the
// transfer, issues ticket and receipt, durably committed) + STB ticket fetch:
// three round trips. The baseline does three no-op round trips per iteration.
// Order ids are new in every run, and the studio's posted credits must grow by
// one price per purchase counted: replays of an earlier run's orders (answered
// idempotently) cannot pass for purchases.

#include <boxoffice/serverapi/Client.h>
#include <boxoffice/serverapi/Server.h>
#include <boxoffice/ledger/Invariants.h>
#include <boxoffice/settlement/Routes.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace boxoffice;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kPrice = 100; // of the one event, in minor units

struct Figures {
    double perSecond = 0;
    double p50Ms = 0;
    double p99Ms = 0;
    std::size_t count = 0;
    std::size_t failures = 0;
};

Figures run(int clients, double seconds, const std::function<std::function<void(std::size_t)>(int)>& makeWorker)
{
    std::mutex mutex;
    std::vector<double> latencies;
    std::atomic<std::size_t> failures{0};
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            auto work = makeWorker(c);
            std::vector<double> mine;
            for (std::size_t i = 0; Clock::now() < end; ++i) {
                const auto t0 = Clock::now();
                try {
                    work(i);
                    mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                } catch (const std::exception& e) {
                    if (++failures < 5) std::cerr << "failure: " << e.what() << "\n";
                }
            }
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    Figures f;
    f.count = latencies.size();
    f.failures = failures;
    f.perSecond = static_cast<double>(latencies.size()) / elapsed;
    std::sort(latencies.begin(), latencies.end());
    if (!latencies.empty()) {
        f.p50Ms = latencies[latencies.size() / 2];
        f.p99Ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
    }
    return f;
}

std::string body(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields)
{
    Poco::JSON::Object o;
    for (const auto& [k, v] : fields) o.set(k, v);
    std::ostringstream out;
    o.stringify(out);
    return out.str();
}

void sh(const std::string& command)
{
    if (std::system((command + " > /dev/null").c_str()) != 0) throw std::runtime_error("failed: " + command);
}

} // namespace

int main(int argc, char** argv)
{
    int clients = 8;
    double seconds = 5;
    std::string database;
    std::string keytool = std::getenv("BOXOFFICE_BUILD_DIR") ? std::string(std::getenv("BOXOFFICE_BUILD_DIR")) + "/bin/boxoffice-keytool"
                                                             : (fs::path(argv[0]).parent_path() / "boxoffice-keytool").string();
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--clients") clients = std::atoi(argv[i + 1]);
        else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
        else if (a == "--database") database = argv[i + 1];
        else if (a == "--keytool") keytool = argv[i + 1];
        else {
            std::cerr << "usage: " << argv[0] << " [--clients N] [--seconds S] [--database CONNECTION] [--keytool PATH]\n";
            return 64;
        }
    }
    try {
        const auto dir = fs::temp_directory_path() / ("boxoffice-load-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        const auto keys = dir / "keys";
        sh(keytool + " dev --out " + keys.string());
        sh(keytool + " device issue --dir " + keys.string() + " --id load --count " + std::to_string(clients));
        for (int c = 1; c <= clients; ++c) {
            char id[32];
            std::snprintf(id, sizeof id, "phone-load-%d", c);
            sh(keytool + " phone issue --dir " + keys.string() + " --id " + id);
        }
        if (database.empty()) database = "sqlite:" + (dir / "load.db").string();

        storage::Database db(database);
        ledger::Ledger ledger(db);
        settlement::Settlement settlement(ledger, settlement::Keys::load(keys), {600});
        serverapi::ServerOptions o;
        o.address = "127.0.0.1";
        o.port = 0;
        o.certificate = keys / "server/tls.crt";
        o.privateKey = keys / "server/tls.key.pem";
        o.clientCa = keys / "server/tls-ca.crt";
        o.requestsPerSecond = 1e9;
        o.requestBurst = 1e9;
        o.maxThreads = std::max(16, clients * 2);
        auto& logger = Poco::Logger::get("load");
        logger.setLevel("warning");
        // A 5xx's cause goes to the log, not to the client: show it.
        logger.setChannel(Poco::AutoPtr<Poco::ConsoleChannel>(new Poco::ConsoleChannel));
        serverapi::Server server(o, db, logger);
        const auto signer = trust::loadServerSigner(keys / "server");
        settlement::addRoutes(server, settlement, signer, "settlement");
        server.setPhoneKeyLookup([&](const std::string& id) { return settlement.phoneKey(id); });
        server.setDeviceCheck([&](const std::string& id) { settlement.checkDevice(id); });
        server.add({"POST", "/v1/bench/noop", serverapi::Auth::Device,
                    [](const serverapi::Request& r) {
                        r.json();
                        return serverapi::Response{200, {}};
                    },
                    "bench", "no-op"});
        server.start();

        ledger.open({"studio", ledger::AccountKind::Merchant, "EUR", std::nullopt});
        ledger.open({"funding", ledger::AccountKind::Funding, "EUR", std::nullopt});
        const auto now = settlement.nowSeconds();
        std::vector<std::string> devices, phones;
        for (int c = 1; c <= clients; ++c) {
            char device[32], phone[32], account[32];
            std::snprintf(device, sizeof device, "load-%04d", c);
            std::snprintf(phone, sizeof phone, "phone-load-%d", c);
            std::snprintf(account, sizeof account, "acct-%d", c);
            ledger.open({account, ledger::AccountKind::Wallet, "EUR", std::nullopt});
            ledger.create({std::string("dep-") + account, "funding", account, 1'000'000'000'000, "EUR", 0, "load"});
            settlement.registerDevice(trust::loadCertificate(keys / "devices" / device / "device.cert"), account);
            settlement.registerPhone(trust::loadPhone(keys / "phones" / phone).certificate, account);
            devices.push_back(device);
            phones.push_back(phone);
        }
        settlement.putEvent({"ev-load", "Load", "studio", kPrice, "EUR", now - 60, now + 86400, now, now + 9000, 0, false,
                             "ev-demo/1"});

        auto options = [&](int c, bool phone) {
            serverapi::ClientOptions co;
            co.host = "localhost";
            co.port = server.port();
            co.serverCa = keys / "server/tls-ca.crt";
            if (phone) {
                co.phoneId = phones[c];
                co.phoneKey = crypto::P256PrivateKey::fromPem(trust::readKeyFile(keys / "phones" / phones[c] / "sign.key.pem"));
            } else {
                co.clientCertificate = keys / "devices" / devices[c] / "tls.crt";
                co.clientKey = keys / "devices" / devices[c] / "tls.key.pem";
            }
            return co;
        };

        const auto noop = run(clients, seconds, [&](int c) {
            auto stb = std::make_shared<serverapi::Client>(options(c, false));
            return [stb](std::size_t) {
                for (int k = 0; k < 3; ++k) {
                    const auto r = stb->call("POST", "/v1/bench/noop", "{}");
                    if (r.status != 200) throw std::runtime_error("no-op: " + std::to_string(r.status) + " " + r.raw);
                }
            };
        });

        // Order ids unique to this run: on a database kept from an earlier run, reused ids would be
        // answered as idempotent replays and counted as purchases without doing one.
        const auto runId = std::to_string(::getpid()) + "-" + std::to_string(now);
        const auto postedBefore = ledger.account("studio").creditsPosted;
        const auto purchases = run(clients, seconds, [&](int c) {
            auto stb = std::make_shared<serverapi::Client>(options(c, false));
            auto phone = std::make_shared<serverapi::Client>(options(c, true));
            auto creds = std::make_shared<trust::Credentials>(trust::loadPhone(keys / "phones" / phones[c]));
            const std::string account = "acct-" + std::to_string(c + 1);
            return [=](std::size_t i) {
                const auto orderId = "o-" + runId + "-" + std::to_string(c) + "-" + std::to_string(i);
                auto r = stb->call("POST", "/v1/stb/orders",
                                   body({{"orderId", orderId}, {"eventId", "ev-load"}, {"amount", kPrice}, {"currency", "EUR"}}));
                if (r.status != 201) throw std::runtime_error("order: " + r.raw);
                auto order = r.body.extract<Poco::JSON::Object::Ptr>();
                wire::Approval a;
                a.transactionNumber = order->getValue<std::string>("transactionNumber");
                a.orderId = orderId;
                a.accountId = account;
                a.phoneId = creds->certificate.subject;
                a.payee = "studio";
                a.amount = kPrice;
                a.currency = "EUR";
                a.decidedAt = 1;
                trust::sign(a, creds->key);
                r = phone->call("POST", "/v1/phone/approvals", body({{"approval", wire::toBase64Url(a.encode())}}));
                if (r.status != 200) throw std::runtime_error("approval: " + r.raw);
                r = stb->call("GET", "/v1/stb/orders/" + orderId);
                if (r.status != 200) throw std::runtime_error("ticket: " + r.raw);
            };
        });
        server.stop();

        std::printf("backend: %s, clients: %d, seconds: %.1f\n", db.description().c_str(), clients, seconds);
        std::printf("no-op (3 round trips): %8.1f /s  p50 %6.2f ms  p99 %6.2f ms  (%zu, %zu failed)\n", noop.perSecond,
                    noop.p50Ms, noop.p99Ms, noop.count, noop.failures);
        std::printf("purchases:             %8.1f /s  p50 %6.2f ms  p99 %6.2f ms  (%zu, %zu failed)\n",
                    purchases.perSecond, purchases.p50Ms, purchases.p99Ms, purchases.count, purchases.failures);
        std::printf("ratio purchases/no-op: %.3f\n", noop.perSecond > 0 ? purchases.perSecond / noop.perSecond : 0.0);
        const auto bad = ledger::checkInvariants(db);
        std::printf("invariants: %s\n", bad.empty() ? "hold" : bad.front().c_str());
        // Every purchase counted must have posted its price to the studio once (a failed one may have too).
        const auto posted = static_cast<std::size_t>((ledger.account("studio").creditsPosted - postedBefore) / kPrice);
        const bool allPosted = posted >= purchases.count && posted <= purchases.count + purchases.failures;
        std::printf("purchases posted in the ledger: %zu%s\n", posted, allPosted ? "" : " (MISMATCH)");
        std::error_code ignored;
        fs::remove_all(dir, ignored);
        return bad.empty() && allPosted && purchases.failures == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "server_purchase_load: " << e.what() << "\n";
        return 1;
    }
}
