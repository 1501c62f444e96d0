// Group commit, on SQLite and PostgreSQL: concurrent write() calls share
// commits, yet each caller gets exactly its own outcome — its result, or its
// own exception with its effects undone — and its unit is durable when write()
// returns; writers of two Database objects (two processes) on one hot row all
// get through (busy / serialization failures rerun the group).

#include "BackendFixture.h"

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

namespace boxoffice::storage::test {
namespace {

class StorageGroupCommitTest : public BackendTest {};

struct DeliberateFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

TEST_P(StorageGroupCommitTest, ConcurrentWritersEachGetTheirOwnOutcome) {
    Database db(connection());
    Database observer(connection());  // another connection: sees only what was committed
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, writer BIGINT NOT NULL)"); });

    constexpr int kThreads = 12, kEach = 40;
    std::atomic<int> wrongResults{0}, missingAfterReturn{0}, wrongErrors{0}, duplicatesRefused{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kThreads; ++w) {
        threads.emplace_back([&, w] {
            for (int i = 0; i < kEach; ++i) {
                const std::int64_t id = w * 1000 + i;
                try {
                    const auto returned = db.write([&](Transaction& tx) -> std::int64_t {
                        const std::vector<Value> row{id, std::int64_t{w}};
                        // Half the units leave their write to go with the next statement, among them
                        // units of every failing kind (i % 10 == 3, 7, 9 at i = 13, 17, 9, ...).
                        if (i % 4 < 2)
                            tx.executeDeferred("INSERT INTO t (id, writer) VALUES (?, ?)", row);
                        else
                            tx.execute("INSERT INTO t (id, writer) VALUES (?, ?)", row);
                        if (i % 10 == 3) throw DeliberateFailure("unit " + std::to_string(id) + " gives up");
                        if (i % 10 == 7)  // a failing statement: the unit's own insert stays undone too
                            tx.execute("INSERT INTO t (id, writer) VALUES (?, ?)", row);
                        if (i % 10 == 9)  // the same, deferred: it fails at the release of the unit's savepoint
                            tx.executeDeferred("INSERT INTO t (id, writer) VALUES (?, ?)", row);
                        return id * 2;
                    });
                    if (returned != id * 2) ++wrongResults;
                    const bool visible = observer.read([&](Transaction& tx) {
                        return !tx.query("SELECT 1 FROM t WHERE id = ?", {id}).empty();
                    });
                    if (!visible) ++missingAfterReturn;
                } catch (const DeliberateFailure& e) {
                    if (i % 10 != 3 || std::string(e.what()) != "unit " + std::to_string(id) + " gives up") ++wrongErrors;
                } catch (const Error& e) {
                    if ((i % 10 == 7 || i % 10 == 9) && e.code() == ErrorCode::AlreadyExists)
                        ++duplicatesRefused;
                    else
                        ++wrongErrors;
                }
            }
        });
    }
    for (auto& t : threads) t.join();

    EXPECT_EQ(wrongResults.load(), 0);
    EXPECT_EQ(missingAfterReturn.load(), 0);
    EXPECT_EQ(wrongErrors.load(), 0);
    EXPECT_EQ(duplicatesRefused.load(), 2 * kThreads * kEach / 10);
    // Exactly the units that succeeded are stored; the failed ones left nothing.
    const auto ids = observer.read([](Transaction& tx) {
        std::set<std::int64_t> out;
        for (const auto& row : tx.query("SELECT id FROM t")) out.insert(row.int64(0));
        return out;
    });
    std::set<std::int64_t> expected;
    for (int w = 0; w < kThreads; ++w)
        for (int i = 0; i < kEach; ++i)
            if (i % 10 != 3 && i % 10 != 7 && i % 10 != 9) expected.insert(w * 1000 + i);
    EXPECT_EQ(ids, expected);
}

TEST_P(StorageGroupCommitTest, WriteInsideWriteIsRefusedInsteadOfWaitingForItself) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT)"); });
    const auto message = EXPECT_STORAGE_ERROR(db.write([&](Transaction& tx) {
        tx.execute("INSERT INTO t (x) VALUES (1)");
        db.write([](Transaction& inner) { inner.execute("INSERT INTO t (x) VALUES (2)"); });
    }),
                                              ErrorCode::Internal);
    EXPECT_NE(message.find("nested write"), std::string::npos) << message;
    EXPECT_TRUE(db.read([](Transaction& tx) { return tx.query("SELECT x FROM t").empty(); }));
    // The database is usable afterwards.
    db.write([](Transaction& tx) { tx.execute("INSERT INTO t (x) VALUES (3)"); });
    EXPECT_EQ(db.read([](Transaction& tx) { return tx.query("SELECT x FROM t").size(); }), 1u);
}

TEST_P(StorageGroupCommitTest, SavepointUndoesOnlyTheUnitAndLiftsTheAbortedState) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    auto tx = db.begin(Access::Write);
    tx.execute("INSERT INTO t (x) VALUES (1)");
    tx.savepoint();
    tx.execute("INSERT INTO t (x) VALUES (2)");
    EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO t (x) VALUES (1)"), ErrorCode::AlreadyExists);
    EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO t (x) VALUES (9)"), ErrorCode::Storage);  // aborted until rolled back
    EXPECT_STORAGE_ERROR(tx.releaseSavepoint(), ErrorCode::Storage);
    tx.rollbackToSavepoint();
    tx.execute("INSERT INTO t (x) VALUES (3)");
    tx.commit();
    const auto xs = db.read([](Transaction& r) {
        std::set<std::int64_t> out;
        for (const auto& row : r.query("SELECT x FROM t")) out.insert(row.int64(0));
        return out;
    });
    EXPECT_EQ(xs, (std::set<std::int64_t>{1, 3}));
}

std::set<std::int64_t> storedXs(Database& db) {
    return db.read([](Transaction& r) {
        std::set<std::int64_t> out;
        for (const auto& row : r.query("SELECT x FROM t")) out.insert(row.int64(0));
        return out;
    });
}

// PostgreSQL sends BEGIN, SAVEPOINT and RELEASE SAVEPOINT with the statement
// that follows them: a unit failing at its first statement still undoes only itself.
TEST_P(StorageGroupCommitTest, UnitsFailingAtTheirFirstStatementUndoOnlyThemselves) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    db.write([](Transaction& tx) { tx.execute("INSERT INTO t (x) VALUES (1)"); });
    {
        auto tx = db.begin(Access::Write);
        tx.savepoint();
        // The transaction's first statement, carrying BEGIN and SAVEPOINT on PostgreSQL.
        EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO t (x) VALUES (1)"), ErrorCode::AlreadyExists);
        tx.rollbackToSavepoint();
        tx.savepoint();
        tx.execute("INSERT INTO t (x) VALUES (2)");
        tx.releaseSavepoint();
        tx.savepoint();
        EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO t (x) VALUES (2)"), ErrorCode::AlreadyExists);  // after a RELEASE
        tx.rollbackToSavepoint();
        tx.savepoint();
        tx.execute("INSERT INTO t (x) VALUES (3)");
        tx.releaseSavepoint();
        tx.savepoint();
        tx.releaseSavepoint();  // an empty unit, just before the commit
        tx.commit();
    }
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{1, 2, 3}));

    // The same through write(): a lone unit is its group's first statement.
    EXPECT_STORAGE_ERROR(db.write([](Transaction& w) { w.execute("INSERT INTO t (x) VALUES (1)"); }),
                         ErrorCode::AlreadyExists);
    EXPECT_STORAGE_ERROR(db.read([](Transaction& r) { r.query("SELECT missing FROM t"); }), ErrorCode::Storage);
    db.write([](Transaction& w) { w.execute("INSERT INTO t (x) VALUES (4)"); });
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{1, 2, 3, 4}));
}

// executeDeferred: PostgreSQL sends the write with the next statement, which
// sees it; SQLite runs it at once. Either way a failing write is reported as
// its own error before its unit ends, and a savepoint still undoes it.
TEST_P(StorageGroupCommitTest, DeferredWritesAreSeenNextAndFailWithinTheirUnit) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    {
        auto tx = db.begin(Access::Write);
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{1}});
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{2}});
        tx.executeDeferred("UPDATE t SET x = x + 10 WHERE x = ?", {std::int64_t{2}});
        EXPECT_EQ(tx.query("SELECT x FROM t ORDER BY x").size(), 2u);
        EXPECT_EQ(tx.query("SELECT x FROM t WHERE x = 12").size(), 1u);

        // A failing write is reported by the statement that follows it, as the write's own error.
        tx.savepoint();
        const auto message = EXPECT_STORAGE_ERROR(
            {
                tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{1}});
                tx.query("SELECT x FROM t");
            },
            ErrorCode::AlreadyExists);
        EXPECT_NE(message.find("statement failed on"), std::string::npos) << message;
        tx.rollbackToSavepoint();

        // ... or at the latest by the release of its unit's savepoint, not later.
        tx.savepoint();
        EXPECT_STORAGE_ERROR(
            {
                tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{3}});
                tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{12}});
                tx.releaseSavepoint();
            },
            ErrorCode::AlreadyExists);
        tx.rollbackToSavepoint(); // 3 is undone with it

        // A unit rolled back with writes still waiting drops them: their failure is not its error.
        // On PostgreSQL the write is really left waiting: a duplicate is not refused when queued.
        tx.savepoint();
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{4}});
        if (GetParam() == Backend::Postgres) {
            EXPECT_NO_THROW(tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{1}}));
            EXPECT_NO_THROW(tx.rollbackToSavepoint());
        } else {
            tx.rollbackToSavepoint();
        }

        tx.savepoint();
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{5}});
        tx.releaseSavepoint();
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{6}});
        tx.commit(); // carries the last write
    }
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{1, 5, 6, 12}));

    // A write that fails at the commit fails the commit: nothing of the transaction stays.
    {
        auto failing = db.begin(Access::Write);
        EXPECT_STORAGE_ERROR(
            {
                failing.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{7}});
                failing.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{1}});
                failing.commit();
            },
            ErrorCode::AlreadyExists);
        failing.rollback();
    }
    // Through write(): the unit's caller gets the write's error (concurrent units: the test above).
    EXPECT_STORAGE_ERROR(
        db.write([](Transaction& w) { w.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{5}}); }),
        ErrorCode::AlreadyExists);
    auto givesUp = [this](Transaction& w) {
        w.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{8}});
        if (GetParam() == Backend::Postgres)  // a failing write still waiting: dropped unseen
            w.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{1}});
        throw DeliberateFailure("gives up with a write waiting");
    };
    try {
        db.write(givesUp);
        ADD_FAILURE() << "write() returned";
    } catch (const DeliberateFailure& e) {
        EXPECT_STREQ(e.what(), "gives up with a write waiting");
    } catch (const std::exception& e) {
        ADD_FAILURE() << "the unit's own exception was replaced by: " << e.what();
    }
    db.write([](Transaction& w) { w.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{9}}); });
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{1, 5, 6, 9, 12}));
}

// A deferred write that fails with the COMMIT leaves the transaction aborted
// on the server; it is rolled back there and the session stays in the pool.
TEST_P(StorageGroupCommitTest, AWriteFailingAtCommitKeepsTheSession) {
    if (GetParam() == Backend::Sqlite) GTEST_SKIP() << "SQLite runs a deferred write at once (tested above)";
    Options one;
    one.maxSessions = 1;
    Database db(connection(), one);
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    db.write([](Transaction& tx) { tx.execute("INSERT INTO t (x) VALUES (1)"); });
    const auto session = [&] { return db.query("SELECT pg_backend_pid()").single()->int64(0); };
    const auto before = session();
    {
        auto tx = db.begin(Access::Write);
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{2}});
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{1}});
        EXPECT_STORAGE_ERROR(tx.commit(), ErrorCode::AlreadyExists);
    }
    EXPECT_EQ(session(), before);
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{1}));
    db.write([](Transaction& tx) { tx.execute("INSERT INTO t (x) VALUES (3)"); });
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{1, 3}));
    EXPECT_EQ(session(), before);
}

// A session whose connection died under a pipeline (writes waiting, one sent
// with them) is not given out again: the next transaction gets a new one.
TEST_P(StorageGroupCommitTest, ASessionLostUnderAPipelineIsNotReused) {
    if (GetParam() == Backend::Sqlite) GTEST_SKIP() << "no connection to lose";
    Options one;
    one.maxSessions = 1;
    Database db(connection(), one);
    Database admin(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    const auto session = [&] { return db.query("SELECT pg_backend_pid()").single()->int64(0); };
    const auto before = session();
    {
        auto tx = db.begin(Access::Write);
        tx.execute("INSERT INTO t (x) VALUES (1)");
        tx.executeDeferred("INSERT INTO t (x) VALUES (?)", {std::int64_t{2}});
        admin.query("SELECT pg_terminate_backend(?)", {before});
        EXPECT_THROW(tx.query("SELECT x FROM t"), Error);
    }
    const auto after = session();
    EXPECT_NE(after, before);
    EXPECT_TRUE(storedXs(db).empty()); // nothing of the lost transaction was committed
    db.write([](Transaction& tx) { tx.execute("INSERT INTO t (x) VALUES (3)"); });
    EXPECT_EQ(storedXs(db), (std::set<std::int64_t>{3}));
}

TEST_P(StorageGroupCommitTest, TransactionsWithoutStatementsCommitAndRollBack) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    db.begin(Access::Write).commit();
    db.begin(Access::Read).commit();
    db.begin(Access::Write).rollback();
    { auto abandoned = db.begin(Access::Read); }
    db.write([](Transaction&) {});
    EXPECT_TRUE(storedXs(db).empty());
}

// A failing savepoint statement (here a RELEASE of a savepoint already
// released) leaves only a full rollback. On PostgreSQL its error surfaces at
// the statement it was sent with, as the same Error.
TEST_P(StorageGroupCommitTest, AFailedSavepointStatementLeavesOnlyAFullRollback) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    auto tx = db.begin(Access::Write);
    tx.execute("INSERT INTO t (x) VALUES (1)");
    tx.savepoint();
    tx.releaseSavepoint();
    std::string message;
    if (GetParam() == Backend::Sqlite) {
        message = EXPECT_STORAGE_ERROR(tx.releaseSavepoint(), ErrorCode::Storage);
    } else {
        tx.releaseSavepoint();
        message = EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO t (x) VALUES (2)"), ErrorCode::Storage);
    }
    EXPECT_NE(message.find("RELEASE SAVEPOINT boxoffice_unit failed on"), std::string::npos) << message;
    EXPECT_STORAGE_ERROR(tx.rollbackToSavepoint(), ErrorCode::Storage);
    EXPECT_STORAGE_ERROR(tx.commit(), ErrorCode::Storage);
    EXPECT_TRUE(storedXs(db).empty());
}

TEST_P(StorageGroupCommitTest, WithoutGroupCommitTheSameCallsBehaveTheSame) {
    Options options;
    options.groupCommit = false;
    Database db(connection(), options);
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)"); });
    EXPECT_EQ(db.write([](Transaction& tx) { return tx.execute("INSERT INTO t (x) VALUES (1)"); }), 1u);
    EXPECT_STORAGE_ERROR(db.write([](Transaction& tx) { tx.execute("INSERT INTO t (x) VALUES (1)"); }),
                         ErrorCode::AlreadyExists);
    EXPECT_EQ(db.read([](Transaction& tx) { return tx.query("SELECT x FROM t").size(); }), 1u);
}

TEST_P(StorageGroupCommitTest, TwoProcessesOnOneHotRowLoseNoIncrement) {
    Database first(connection());
    Database second(connection());  // its own sessions and group, as another process has
    first.write([](Transaction& tx) {
        tx.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
        tx.execute("INSERT INTO counter (id, n) VALUES (1, 0)");
    });
    constexpr int kThreadsEach = 6, kIncrements = 25;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (Database* db : {&first, &second})
        for (int t = 0; t < kThreadsEach; ++t)
            threads.emplace_back([&, db] {
                for (int i = 0; i < kIncrements; ++i) {
                    try {
                        db->write([](Transaction& tx) {
                            const auto n = tx.query("SELECT n FROM counter WHERE id = 1")[0].int64(0);
                            tx.execute("UPDATE counter SET n = ? WHERE id = 1", {n + 1});
                        });
                    } catch (const std::exception&) {
                        ++failures;
                    }
                }
            });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(first.read([](Transaction& tx) { return tx.query("SELECT n FROM counter WHERE id = 1")[0].int64(0); }),
              2 * kThreadsEach * kIncrements);
}

BOXOFFICE_ON_BOTH_BACKENDS(StorageGroupCommitTest);

} // namespace
} // namespace boxoffice::storage::test
