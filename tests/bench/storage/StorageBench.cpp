// What BoxOffice::storage (Poco::Data underneath) costs over raw sqlite3 on the
// same file with the same pragmas: a one-row write transaction (dominated by
// the fsync of synchronous=FULL) and a one-row point read. Both sides run in the
// same benchmark, interleaved, so the ratio is measured under the same load.
// BM_ConcurrentWriters: durable writes/s from N threads with group commit
// against without it (ratio = speed-up).
//
//   build-bench/bin/storage_bench

#include <boxoffice/storage/Database.h>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

using namespace boxoffice;
using namespace boxoffice::storage;
using Clock = std::chrono::steady_clock;

namespace {

struct Files {
    Files() {
        dir = std::filesystem::temp_directory_path() / ("boxoffice-storage-bench-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
    }
    ~Files() { std::filesystem::remove_all(dir); }
    std::filesystem::path dir;
};

void check(int rc, sqlite3* db) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(db));
}

struct Raw {
    explicit Raw(const std::string& path) {
        check(sqlite3_open(path.c_str(), &db), db);
        for (const char* pragma : {"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL",
                                   "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"})
            check(sqlite3_exec(db, pragma, nullptr, nullptr, nullptr), db);
        check(sqlite3_prepare_v2(db, "INSERT INTO raw (k, v) VALUES (?, ?)", -1, &insert, nullptr), db);
        check(sqlite3_prepare_v2(db, "SELECT v FROM raw WHERE k = ?", -1, &select, nullptr), db);
    }
    ~Raw() {
        sqlite3_finalize(insert);
        sqlite3_finalize(select);
        sqlite3_close(db);
    }
    void write(std::int64_t k, const Bytes& v) {
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
        sqlite3_bind_int64(insert, 1, k);
        sqlite3_bind_blob(insert, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        check(sqlite3_step(insert), db);
        sqlite3_reset(insert);
        check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
    }
    std::size_t read(std::int64_t k) {
        check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
        sqlite3_bind_int64(select, 1, k);
        std::size_t n = sqlite3_step(select) == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_bytes(select, 0)) : 0;
        sqlite3_reset(select);
        check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
        return n;
    }
    sqlite3* db = nullptr;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* select = nullptr;
};

const Schema kSchema{"bench",
                     {{"tables",
                       {"CREATE TABLE layer (k BIGINT PRIMARY KEY, v {blob} NOT NULL)",
                        "CREATE TABLE raw (k BIGINT PRIMARY KEY, v {blob} NOT NULL)"}}}};

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void BM_WriteTransaction(benchmark::State& state) {
    Files files;
    const std::string path = (files.dir / "bench.db").string();
    Database db("sqlite:" + path);
    db.migrate(kSchema);
    Raw raw(path);
    const Bytes value(64, 0xab);
    Clock::duration layerTime{}, rawTime{};
    std::int64_t k = 0;
    for (auto _ : state) {
        ++k;
        auto t0 = Clock::now();
        raw.write(k, value);
        auto t1 = Clock::now();
        db.write([&](Transaction& tx) { tx.execute("INSERT INTO layer (k, v) VALUES (?, ?)", {k, value}); });
        auto t2 = Clock::now();
        rawTime += t1 - t0;
        layerTime += t2 - t1;
    }
    state.counters["raw_us"] = micros(rawTime) / static_cast<double>(k);
    state.counters["layer_us"] = micros(layerTime) / static_cast<double>(k);
    state.counters["ratio"] = micros(layerTime) / micros(rawTime);
}
BENCHMARK(BM_WriteTransaction)->Iterations(300)->Unit(benchmark::kMicrosecond);

void BM_PointRead(benchmark::State& state) {
    Files files;
    const std::string path = (files.dir / "bench.db").string();
    Database db("sqlite:" + path);
    db.migrate(kSchema);
    Raw raw(path);
    const Bytes value(64, 0xab);
    db.write([&](Transaction& tx) {
        for (std::int64_t k = 0; k < 1000; ++k) {
            tx.execute("INSERT INTO layer (k, v) VALUES (?, ?)", {k, value});
            tx.execute("INSERT INTO raw (k, v) VALUES (?, ?)", {k, value});
        }
    });
    Clock::duration layerTime{}, rawTime{};
    std::int64_t n = 0;
    for (auto _ : state) {
        const std::int64_t k = n++ % 1000;
        auto t0 = Clock::now();
        benchmark::DoNotOptimize(raw.read(k));
        auto t1 = Clock::now();
        benchmark::DoNotOptimize(db.read([&](Transaction& tx) {
            return tx.query("SELECT v FROM layer WHERE k = ?", {k}).single()->blob(0).size();
        }));
        auto t2 = Clock::now();
        rawTime += t1 - t0;
        layerTime += t2 - t1;
    }
    state.counters["raw_us"] = micros(rawTime) / static_cast<double>(n);
    state.counters["layer_us"] = micros(layerTime) / static_cast<double>(n);
    state.counters["ratio"] = micros(layerTime) / micros(rawTime);
}
BENCHMARK(BM_PointRead)->Iterations(5000)->Unit(benchmark::kMicrosecond);

// Durable one-row write transactions per second from N concurrent threads, with
// group commit (the default) against the same Database without it, alternated
// in the same run: the fsync of synchronous=FULL shared by a group vs one each.
void BM_ConcurrentWriters(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    constexpr int kEach = 100;
    Files files;
    auto run = [&](bool group, std::int64_t base) {
        Options options;
        options.groupCommit = group;
        Database db("sqlite:" + (files.dir / (group ? "group.db" : "single.db")).string(), options);
        db.migrate(kSchema);
        const Bytes value(64, 0xab);
        const auto t0 = Clock::now();
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i) {
                    const std::int64_t k = base + t * kEach + i;
                    db.write([&](Transaction& tx) { tx.execute("INSERT INTO layer (k, v) VALUES (?, ?)", {k, value}); });
                }
            });
        for (auto& w : workers) w.join();
        return Clock::now() - t0;
    };
    Clock::duration groupTime{}, singleTime{};
    std::int64_t base = 0;
    for (auto _ : state) {
        singleTime += run(false, base);
        groupTime += run(true, base);
        base += threads * kEach;
    }
    const double writes = static_cast<double>(base);
    state.counters["single_per_s"] = writes / (micros(singleTime) / 1e6);
    state.counters["group_per_s"] = writes / (micros(groupTime) / 1e6);
    state.counters["ratio"] = micros(singleTime) / micros(groupTime);
}
BENCHMARK(BM_ConcurrentWriters)->Arg(1)->Arg(16)->Arg(64)->Iterations(3)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
