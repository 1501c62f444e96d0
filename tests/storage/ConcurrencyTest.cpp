// Writers and readers from many threads, and from several Database objects on
// the same data (as several processes would be), on both backends.

#include "BackendFixture.h"

#include <atomic>
#include <chrono>
#include <thread>

namespace boxoffice::storage::test {
namespace {

using StorageConcurrencyTest = BackendTest;
BOXOFFICE_ON_BOTH_BACKENDS(StorageConcurrencyTest);

const Schema kCounter{"counter",
                      {{"counter and log",
                        {"CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)",
                         "INSERT INTO counter VALUES (1, 0)",
                         "CREATE TABLE log (id {id_pk}, writer BIGINT NOT NULL, seen BIGINT NOT NULL UNIQUE)"}}}};

// Each write reads the counter, increments it and logs the value it saw: a lost
// update or a non-serializable interleaving shows up as a duplicate `seen`
// (a unique violation) or a final count that does not add up.
void increment(Database& db, int writer) {
    db.write([&](Transaction& tx) {
        const auto seen = tx.query("SELECT value FROM counter WHERE id = 1").single()->int64(0);
        tx.execute("UPDATE counter SET value = ? WHERE id = 1", {seen + 1});
        tx.execute("INSERT INTO log (writer, seen) VALUES (?, ?)", {writer, seen});
    });
}

TEST_P(StorageConcurrencyTest, ConcurrentWritersLoseNoUpdate) {
    db().migrate(kCounter);
    constexpr int kThreads = 4;
    constexpr int kEach = 25;
    // Two Databases (as two processes); a generous retry budget, since on a
    // loaded CI machine a writer may lose many serialization races in a row.
    Options patient;
    patient.maxAttempts = 1000;
    Database first(connection(), patient);
    Database second(connection(), patient);
    std::atomic<bool> stop{false};
    std::atomic<int> snapshots{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            Database& target = t % 2 ? second : first;
            for (int i = 0; i < kEach; ++i) {
                try {
                    increment(target, t);
                } catch (const std::exception& e) {
                    ADD_FAILURE() << "writer " << t << ": " << e.what();
                    return;
                }
            }
        });
    // A reader runs alongside and must always see counter == rows in log.
    std::thread reader([&] {
        while (!stop) {
            db().read([&](Transaction& tx) {
                const auto value = tx.query("SELECT value FROM counter WHERE id = 1").single()->int64(0);
                const auto rows = tx.query("SELECT count(*) FROM log").single()->int64(0);
                EXPECT_EQ(value, rows);
            });
            ++snapshots;
        }
    });
    for (auto& t : threads) t.join();
    stop = true;
    reader.join();
    EXPECT_GT(snapshots.load(), 0);
    const auto total = kThreads * kEach;
    EXPECT_EQ(db().read([](Transaction& tx) { return tx.query("SELECT value FROM counter").single()->int64(0); }), total);
    auto seen = db().read([](Transaction& tx) { return tx.query("SELECT min(seen), max(seen), count(*) FROM log"); });
    EXPECT_EQ(seen[0].int64(0), 0);
    EXPECT_EQ(seen[0].int64(1), total - 1);
    EXPECT_EQ(seen[0].int64(2), total);
}

TEST_P(StorageConcurrencyTest, ManyConcurrentReaders) {
    db().migrate(kCounter);
    for (int i = 0; i < 10; ++i) increment(db(), 0);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i)
                if (db().read([](Transaction& tx) { return tx.query("SELECT count(*) FROM log").single()->int64(0); }) == 10)
                    ++ok;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 8 * 20);
}

TEST_P(StorageConcurrencyTest, ContentionIsATransientErrorThatWriteRetries) {
    db().migrate(kCounter);
    Options impatient;
    impatient.busyTimeout = std::chrono::milliseconds(50);
    Database other(connection(), impatient);
    unsigned attempts = 0;
    if (GetParam() == Backend::Sqlite) {
        // Another Database (as another process) holds the write lock for a while.
        auto holder = db().begin(Access::Write);
        holder.execute("UPDATE counter SET value = 100");
        EXPECT_STORAGE_ERROR(other.begin(Access::Write), ErrorCode::Unavailable);
        std::thread release([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            holder.commit();
        });
        // Each BEGIN IMMEDIATE gives up after 50 ms; only retrying outlasts the 300 ms.
        other.write([&](Transaction& tx) {
            ++attempts;
            tx.execute("UPDATE counter SET value = value + 1");
        });
        release.join();
        EXPECT_EQ(attempts, 1u); // the retries happened before the work could start
    } else {
        // Two serializable transactions update the same row: the second to commit fails.
        auto first = db().begin(Access::Write);
        auto second = other.begin(Access::Write);
        first.query("SELECT value FROM counter");
        second.query("SELECT value FROM counter");
        first.execute("UPDATE counter SET value = 100");
        first.commit();
        try {
            second.execute("UPDATE counter SET value = value + 1");
            second.commit();
            ADD_FAILURE() << "no serialization failure";
        } catch (const TransientError& e) {
            EXPECT_EQ(e.code(), ErrorCode::Unavailable);
            EXPECT_NE(std::string(e.what()).find("serialize"), std::string::npos) << e.what();
        }
        // write() runs the work again after such a failure.
        other.write([&](Transaction& tx) {
            ++attempts;
            tx.query("SELECT value FROM counter");
            if (attempts == 1)
                db().write([](Transaction& t) { t.execute("UPDATE counter SET value = value + 0"); });
            tx.execute("UPDATE counter SET value = value + 1");
        });
        EXPECT_EQ(attempts, 2u);
    }
    EXPECT_EQ(db().read([](Transaction& t) { return t.query("SELECT value FROM counter").single()->int64(0); }), 101);
}

TEST_P(StorageConcurrencyTest, SessionPoolIsBounded) {
    Options small;
    small.maxSessions = 3; // SQLite: 2 readers + the writer; PostgreSQL: 3 sessions
    small.sessionWait = std::chrono::milliseconds(100);
    Database bounded(connection(), small);
    std::vector<Transaction> held;
    held.push_back(bounded.begin(Access::Read));
    held.push_back(bounded.begin(Access::Read));
    if (GetParam() == Backend::Postgres) held.push_back(bounded.begin(Access::Write));
    auto message = EXPECT_STORAGE_ERROR(bounded.begin(Access::Read), ErrorCode::Unavailable);
    EXPECT_NE(message.find("sessions"), std::string::npos) << message;
    held.pop_back(); // a session comes back: the next transaction gets it
    auto tx = bounded.begin(Access::Read);
    EXPECT_TRUE(tx.active());
}

TEST_P(StorageConcurrencyTest, TransactionsKeepTheirDatabaseAlive) {
    db().migrate(kCounter);
    auto other = reopen();
    Transaction tx = other->begin(Access::Write);
    other.reset();
    tx.execute("UPDATE counter SET value = 41");
    tx.commit();
    EXPECT_EQ(db().read([](Transaction& t) { return t.query("SELECT value FROM counter").single()->int64(0); }), 41);
}

} // namespace
} // namespace boxoffice::storage::test
