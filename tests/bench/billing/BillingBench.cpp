// What a billing record costs over a bare durable insert: HistoryStore::append
// (credit query, Ed25519 signature, SHA-256 chain, MAC, two statements, commit
// with synchronous=FULL) against raw sqlite3 inserting a row of the same size in
// its own BEGIN IMMEDIATE/COMMIT with the same pragmas. Both run interleaved in
// the same benchmark so the ratio is measured under the same load; also the cost
// of opening (integrity check + chain and signature verification) per record.

#include "HistoryStore.h"

#include <boxoffice/crypto/Random.h>
#include <boxoffice/wire/SettlementResult.h>

#include <cstdlib>
#include <memory>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
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

const trust::SigningKey& benchRoot()
{
    static const trust::SigningKey root("root/bench", crypto::Ed25519PrivateKey::generate());
    return root;
}

trust::DeviceIdentity device()
{
    const auto& root = benchRoot();
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

// A history of `size` records, ~1000 per month, everything settled but the last 100.
struct LoadedHistory {
    explicit LoadedHistory(std::int64_t size)
    {
        const auto identity = device();
        const auto serverKey = crypto::Ed25519PrivateKey::generate();
        wire::Certificate c;
        c.role = wire::CertificateRole::Server;
        c.subject = "server";
        c.keyId = "server/bench";
        c.publicKey.assign(serverKey.publicKey().raw().begin(), serverKey.publicKey().raw().end());
        c.notBefore = 0;
        c.notAfter = 4'000'000'000;
        HistoryOptions options;
        options.creditLimit = wire::maxAmount;
        options.root = trust::TrustAnchor{benchRoot().keyId(),
                                          crypto::Ed25519PublicKey::fromRaw(benchRoot().verifyingKey().publicKey())};
        options.serverCertificate = trust::issueCertificate(c, benchRoot());
        history = std::make_unique<HistoryStore>(files.dir / "history.db", identity, options);
        std::vector<Entry> chunk;
        Record last;
        for (std::int64_t i = 1; i <= size; ++i) {
            Entry e = entry(i);
            e.recordedAt = 1'800'000'000 + i * 2592;   // 1000 records per 30 days
            chunk.push_back(e);
            if (chunk.size() == 5000 || i == size) {
                auto records = history->appendAll(chunk);
                chunk.clear();
                for (auto& r : records)
                    if (static_cast<std::int64_t>(r.record.sequence) == size - 100) last = std::move(r);
            }
        }
        wire::SettlementResult result;
        result.settlementId = "bench";
        result.deviceId = identity.deviceId;
        result.settledThrough = last.record.sequence;
        result.lastRecordHash = last.hash;
        result.currency = "EUR";
        result.settledAt = 1'800'000'000;
        trust::sign(result, trust::SigningKey(c.keyId, serverKey));
        history->applySettlement(result.encode());
        const auto newest = history->recent(1).at(0).record.recordedAt;
        const std::time_t t = static_cast<std::time_t>(newest);
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        year = tm.tm_year + 1900;
        month = tm.tm_mon + 1;
        recentTicket = entry(size - 50).ticketId;
    }
    Files files;
    std::unique_ptr<HistoryStore> history;
    int year = 0, month = 0;
    std::string recentTicket;   // what playback asks about: a ticket's records
};

// Statement of the newest month and the unsettled queries (credit, records after
// settledThrough) and one ticket's records (ofTicket, read at each playback) on 1,000
// records against BILLING_BENCH_LARGE (default 1,000,000), interleaved. Goal: the large
// history costs at most 3x the small one.
void BM_QueriesSmallVersusLarge(benchmark::State& state)
{
    const char* env = std::getenv("BILLING_BENCH_LARGE");
    const std::int64_t largeSize = env ? std::atoll(env) : 1'000'000;
    LoadedHistory small(1000), large(largeSize);
    Clock::duration statementTime[2]{}, unsettledTime[2]{}, ticketTime[2]{};
    std::int64_t n = 0;
    for (auto _ : state) {
        ++n;
        LoadedHistory* both[2] = {&small, &large};
        for (int k = 0; k < 2; ++k) {
            auto t0 = Clock::now();
            benchmark::DoNotOptimize(both[k]->history->statement(both[k]->year, both[k]->month).purchased);
            auto t1 = Clock::now();
            benchmark::DoNotOptimize(both[k]->history->credit().outstanding);
            benchmark::DoNotOptimize(both[k]->history->records(both[k]->history->status().settledThrough, 1000).size());
            auto t2 = Clock::now();
            benchmark::DoNotOptimize(both[k]->history->ofTicket(both[k]->recentTicket, wire::HistoryKind::Purchase).size());
            auto t3 = Clock::now();
            statementTime[k] += t1 - t0;
            unsettledTime[k] += t2 - t1;
            ticketTime[k] += t3 - t2;
        }
    }
    auto us = [&](Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(n); };
    state.counters["records_large"] = static_cast<double>(largeSize);
    state.counters["statement_small_us"] = us(statementTime[0]);
    state.counters["statement_large_us"] = us(statementTime[1]);
    state.counters["statement_ratio"] = us(statementTime[1]) / us(statementTime[0]);
    state.counters["unsettled_small_us"] = us(unsettledTime[0]);
    state.counters["unsettled_large_us"] = us(unsettledTime[1]);
    state.counters["unsettled_ratio"] = us(unsettledTime[1]) / us(unsettledTime[0]);
    state.counters["ticket_small_us"] = us(ticketTime[0]);
    state.counters["ticket_large_us"] = us(ticketTime[1]);
    state.counters["ticket_ratio"] = us(ticketTime[1]) / us(ticketTime[0]);
}
BENCHMARK(BM_QueriesSmallVersusLarge)->Iterations(50)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
