// What a billing record costs over a bare durable insert: HistoryStore::append
// (credit query, Ed25519 signature, SHA-256 chain, MAC, two statements, commit
// with synchronous=FULL) against raw sqlite3 inserting a row of the same size in
// its own BEGIN IMMEDIATE/COMMIT with the same pragmas. Both run interleaved in
// the same benchmark so the ratio is measured under the same load; also the cost
// of opening (integrity check + chain and signature verification) per record.

#include "HistoryStore.h"

#include <boxoffice/crypto/Random.h>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

using namespace boxoffice;
using namespace boxoffice::billing;
using Clock = std::chrono::steady_clock;

namespace {

struct Files {
    Files()
    {
        dir = std::filesystem::temp_directory_path() / ("boxoffice-billing-bench-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    ~Files() { std::filesystem::remove_all(dir); }
    std::filesystem::path dir;
};

trust::DeviceIdentity device()
{
    const trust::SigningKey root("root/bench", crypto::Ed25519PrivateKey::generate());
    auto sign = crypto::Ed25519PrivateKey::generate();
    auto agree = crypto::X25519PrivateKey::generate();
    wire::Certificate c;
    c.role = wire::CertificateRole::Device;
    c.subject = "stb-bench";
    c.keyId = "stb-bench";
    c.publicKey.assign(sign.publicKey().raw().begin(), sign.publicKey().raw().end());
    c.agreementKey.assign(agree.publicKey().raw().begin(), agree.publicKey().raw().end());
    c.notBefore = 0;
    c.notAfter = 4'000'000'000;
    return {"stb-bench", sign, agree, trust::issueCertificate(c, root)};
}

void check(int rc, sqlite3* db)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(db));
}

struct Raw {
    explicit Raw(const std::string& path)
    {
        check(sqlite3_open(path.c_str(), &db), db);
        for (const char* sql : {"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                                "PRAGMA foreign_keys = ON",
                                "CREATE TABLE raw (seq INTEGER PRIMARY KEY, encoded BLOB NOT NULL, hash BLOB NOT NULL)"})
            check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db);
        check(sqlite3_prepare_v2(db, "INSERT INTO raw (seq, encoded, hash) VALUES (?, ?, ?)", -1, &insert, nullptr), db);
    }
    ~Raw()
    {
        sqlite3_finalize(insert);
        sqlite3_close(db);
    }
    void write(std::int64_t seq, const Bytes& encoded, const Bytes& hash)
    {
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
        sqlite3_bind_int64(insert, 1, seq);
        sqlite3_bind_blob(insert, 2, encoded.data(), static_cast<int>(encoded.size()), SQLITE_STATIC);
        sqlite3_bind_blob(insert, 3, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
        check(sqlite3_step(insert), db);
        sqlite3_reset(insert);
        check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
    }
    sqlite3* db = nullptr;
    sqlite3_stmt* insert = nullptr;
};

Entry entry(std::int64_t i)
{
    Entry e;
    e.eventId = "ev-bench-" + std::to_string(i % 100);
    e.ticketId = "t-" + std::to_string(i);
    e.orderId = "o-" + std::to_string(i);
    e.amount = 499;
    e.recordedAt = 1'800'000'000 + i;
    e.deferred = (i % 2) == 0;
    return e;
}

void BM_AppendVersusRawInsert(benchmark::State& state)
{
    Files files;
    HistoryOptions options;
    options.creditLimit = wire::maxAmount;
    HistoryStore history(files.dir / "history.db", device(), options);
    Raw raw((files.dir / "raw.db").string());
    Clock::duration appendTime{}, rawTime{};
    std::int64_t n = 0;
    for (auto _ : state) {
        ++n;
        auto t0 = Clock::now();
        const auto record = history.append(entry(n));
        auto t1 = Clock::now();
        raw.write(n, record.encoded, Bytes(record.hash.begin(), record.hash.end()));
        auto t2 = Clock::now();
        appendTime += t1 - t0;
        rawTime += t2 - t1;
    }
    const double appendUs = std::chrono::duration<double, std::micro>(appendTime).count() / static_cast<double>(n);
    const double rawUs = std::chrono::duration<double, std::micro>(rawTime).count() / static_cast<double>(n);
    state.counters["append_us"] = appendUs;
    state.counters["raw_us"] = rawUs;
    state.counters["appends_per_s"] = 1e6 / appendUs;
    state.counters["raw_per_s"] = 1e6 / rawUs;
    state.counters["ratio"] = appendUs / rawUs;
}
BENCHMARK(BM_AppendVersusRawInsert)->Iterations(300)->Unit(benchmark::kMicrosecond);

// Opening a history of N records: integrity check, every record decoded, chained and verified.
void BM_OpenAndVerify(benchmark::State& state)
{
    Files files;
    const auto identity = device();
    HistoryOptions options;
    options.creditLimit = wire::maxAmount;
    {
        HistoryStore history(files.dir / "history.db", identity, options);
        for (std::int64_t i = 1; i <= state.range(0); ++i) history.append(entry(i));
    }
    for (auto _ : state) {
        HistoryStore history(files.dir / "history.db", identity, options);
        benchmark::DoNotOptimize(history.status().lastSequence);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));   // records verified per second
}
BENCHMARK(BM_OpenAndVerify)->Arg(1000)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
