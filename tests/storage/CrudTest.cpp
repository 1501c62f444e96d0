// The same CRUD, type, transaction and error tests on SQLite and PostgreSQL.

#include "BackendFixture.h"

#include <climits>
#include <limits>

namespace boxoffice::storage::test {
namespace {

using StorageCrudTest = BackendTest;
BOXOFFICE_ON_BOTH_BACKENDS(StorageCrudTest);

const Schema kItems{"items",
                    {{"items table",
                      {"CREATE TABLE item (id {id_pk}, name {text} NOT NULL UNIQUE, n {int64}, data {blob}, "
                       "note {text})"}}}};

Bytes allByteValues() {
    Bytes b;
    for (int round = 0; round < 3; ++round)
        for (int v = 0; v < 256; ++v) b.push_back(static_cast<std::uint8_t>(v));
    return b;
}

TEST_P(StorageCrudTest, StoresAndReadsBackEveryType) {
    db().migrate(kItems);
    const Bytes zeros(1000, 0);
    const Bytes every = allByteValues();
    Bytes large(4 * 1024 * 1024);
    for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
    const std::string unicode = "Bühne — 映画 🎬 'quoted' \"double\" ?";

    db().write([&](Transaction& tx) {
        EXPECT_EQ(tx.execute("INSERT INTO item (name, n, data, note) VALUES (?, ?, ?, ?)",
                             {"min", INT64_MIN, zeros, unicode}),
                  1u);
        tx.execute("INSERT INTO item (name, n, data, note) VALUES (?, ?, ?, ?)", {"max", INT64_MAX, every, nullptr});
        tx.execute("INSERT INTO item (name, n, data, note) VALUES (?, ?, ?, ?)", {"empty", 0, Bytes{}, ""});
        tx.execute("INSERT INTO item (name, n, data, note) VALUES (?, ?, ?, ?)", {"null", nullptr, nullptr, nullptr});
        tx.execute("INSERT INTO item (name, n, data, note) VALUES (?, ?, ?, ?)", {"large", -1, large, "x"});
    });

    auto rows = db().read([](Transaction& tx) { return tx.query("SELECT name, n, data, note FROM item ORDER BY id"); });
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows.columns(), (std::vector<std::string>{"name", "n", "data", "note"}));

    EXPECT_EQ(rows[0].text(0), "min");
    EXPECT_EQ(rows[0].int64(1), INT64_MIN);
    EXPECT_EQ(rows[0].blob(2), zeros);
    EXPECT_EQ(rows[0].text(3), unicode);

    EXPECT_EQ(rows[1].int64(1), INT64_MAX);
    EXPECT_EQ(rows[1].blob(2), every);
    EXPECT_TRUE(rows[1].isNull(3));
    EXPECT_EQ(rows[1].optText(3), std::nullopt);

    // An empty blob and empty text are values, not NULL.
    EXPECT_FALSE(rows[2].isNull(2));
    EXPECT_EQ(rows[2].blob(2), Bytes{});
    EXPECT_FALSE(rows[2].isNull(3));
    EXPECT_EQ(rows[2].text(3), "");

    EXPECT_TRUE(rows[3].isNull(1));
    EXPECT_TRUE(rows[3].isNull(2));
    EXPECT_EQ(rows[3].optInt64(1), std::nullopt);
    EXPECT_EQ(rows[3].optBlob(2), std::nullopt);

    EXPECT_EQ(rows[4].blob(2), large);
    EXPECT_EQ(rows[4]["n"].asInt64(), -1);

    // Bound blobs compare as blobs in WHERE clauses, zero bytes included.
    auto found = db().read([&](Transaction& tx) { return tx.query("SELECT name FROM item WHERE data = ?", {zeros}); });
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].text(0), "min");
}

TEST_P(StorageCrudTest, UpdatesAndDeletesReportAffectedRows) {
    db().migrate(kItems);
    db().write([](Transaction& tx) {
        for (int i = 0; i < 5; ++i) tx.execute("INSERT INTO item (name, n) VALUES (?, ?)", {"i" + std::to_string(i), i});
    });
    db().write([](Transaction& tx) {
        EXPECT_EQ(tx.execute("UPDATE item SET note = ? WHERE n >= ?", {"big", 3}), 2u);
        EXPECT_EQ(tx.execute("DELETE FROM item WHERE n < ?", {1}), 1u);
        EXPECT_EQ(tx.execute("DELETE FROM item WHERE n > ?", {100}), 0u);
    });
    auto rows = db().read([](Transaction& tx) { return tx.query("SELECT n, note FROM item ORDER BY n"); });
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].int64(0), 1);
    EXPECT_TRUE(rows[0].isNull(1));
    EXPECT_EQ(rows[3].text(1), "big");
    auto count = db().read([](Transaction& tx) { return tx.query("SELECT count(*) FROM item").single()->int64(0); });
    EXPECT_EQ(count, 4);
}

TEST_P(StorageCrudTest, UpsertAndReturningAreTheSameOnBothBackends) {
    db().migrate(kItems);
    auto id = db().write([](Transaction& tx) {
        return tx.query("INSERT INTO item (name, n) VALUES (?, ?) RETURNING id", {"a", 1}).single()->int64(0);
    });
    EXPECT_GT(id, 0);
    db().write([](Transaction& tx) {
        tx.execute("INSERT INTO item (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = excluded.n", {"a", 7});
        EXPECT_EQ(tx.execute("INSERT INTO item (name, n) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", {"a", 9}), 0u);
    });
    auto row = db().read([](Transaction& tx) { return tx.query("SELECT id, n FROM item").single(); });
    ASSERT_TRUE(row);
    EXPECT_EQ(row->int64(0), id);
    EXPECT_EQ(row->int64(1), 7);
}

TEST_P(StorageCrudTest, PlaceholdersAreCountedOutsideLiteralsOnly) {
    auto row = db().read([](Transaction& tx) {
        return tx.query("SELECT '?' AS q, ? AS v /* ? */ -- ?\n", {"value"}).single();
    });
    ASSERT_TRUE(row);
    EXPECT_EQ(row->text(0), "?");
    EXPECT_EQ((*row)["v"].asText(), "value");

    row = db().read([](Transaction& tx) {
        return tx.query("SELECT 'it''s ?' AS \"what?\", CAST(? AS {blob}) AS b", {Bytes{0, 1}}).single();
    });
    ASSERT_TRUE(row);
    EXPECT_EQ(row->text(0), "it's ?");
    EXPECT_EQ((*row)["what?"].asText(), "it's ?");
    // Dialect placeholders work in every statement. (On SQLite, Poco 1.11 reads
    // a blob-valued *expression* as C text; blobs must come from {blob} columns.)
    if (GetParam() == Backend::Postgres) {
        EXPECT_EQ(row->blob(1), (Bytes{0, 1}));
    }
    if (GetParam() == Backend::Postgres) {
        auto body = db().read([](Transaction& tx) { return tx.query("SELECT $q$ ? $q$, ?", {7}).single(); });
        ASSERT_TRUE(body);
        EXPECT_EQ(body->text(0), " ? ");
        EXPECT_EQ(body->int64(1), 7);
    }

    auto tx = db().begin(Access::Read);
    auto message = EXPECT_STORAGE_ERROR(tx.query("SELECT ?, ?", {1}), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("2 placeholder(s) but 1 value(s)"), std::string::npos) << message;
}

TEST_P(StorageCrudTest, RollbackLeavesNothing) {
    db().migrate(kItems);
    {
        auto tx = db().begin(Access::Write);
        tx.execute("INSERT INTO item (name) VALUES (?)", {"explicit"});
        tx.rollback();
        EXPECT_FALSE(tx.active());
    }
    {
        auto tx = db().begin(Access::Write);
        tx.execute("INSERT INTO item (name) VALUES (?)", {"dropped"});
        tx.execute("CREATE TABLE side (x BIGINT)"); // DDL rolls back too
    } // destroyed without commit
    EXPECT_THROW(db().write([](Transaction& tx) {
        tx.execute("INSERT INTO item (name) VALUES (?)", {"thrown"});
        throw std::runtime_error("caller gives up");
    }),
                 std::runtime_error);

    auto again = reopen(); // what another process sees
    auto count = again->read([](Transaction& tx) { return tx.query("SELECT count(*) FROM item").single()->int64(0); });
    EXPECT_EQ(count, 0);
    EXPECT_STORAGE_ERROR(again->read([](Transaction& tx) { tx.query("SELECT x FROM side"); }), ErrorCode::Storage);
}

TEST_P(StorageCrudTest, UniqueViolationIsAlreadyExistsAndAbortsTheTransaction) {
    db().migrate(kItems);
    db().write([](Transaction& tx) { tx.execute("INSERT INTO item (name, n) VALUES (?, ?)", {"order-1", 1}); });

    auto tx = db().begin(Access::Write);
    tx.execute("INSERT INTO item (name, n) VALUES (?, ?)", {"order-2", 2});
    auto message =
        EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO item (name, n) VALUES (?, ?)", {"order-1", 3}), ErrorCode::AlreadyExists);
    EXPECT_NE(message.find("item"), std::string::npos) << message; // names the table or its constraint
    // Same rule on both backends: the transaction is over, nothing of it is kept.
    EXPECT_STORAGE_ERROR(tx.execute("INSERT INTO item (name) VALUES (?)", {"order-3"}), ErrorCode::Storage);
    EXPECT_STORAGE_ERROR(tx.commit(), ErrorCode::Storage);
    EXPECT_FALSE(tx.active());

    auto names = db().read([](Transaction& t) { return t.query("SELECT name, n FROM item"); });
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0].text(0), "order-1");
    EXPECT_EQ(names[0].int64(1), 1);
}

TEST_P(StorageCrudTest, OtherConstraintViolationsAreConflicts) {
    db().migrate({"fk",
                  {{"parent and child",
                    {"CREATE TABLE parent (id BIGINT PRIMARY KEY)",
                     "CREATE TABLE child (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES parent (id), "
                     "amount BIGINT NOT NULL CHECK (amount >= 0))"}}}});
    db().write([](Transaction& tx) { tx.execute("INSERT INTO parent (id) VALUES (?)", {1}); });
    // Foreign keys are enforced (SQLite needs PRAGMA foreign_keys per session).
    EXPECT_STORAGE_ERROR(
        db().write([](Transaction& tx) { tx.execute("INSERT INTO child (id, parent, amount) VALUES (1, 2, 0)"); }),
        ErrorCode::Conflict);
    EXPECT_STORAGE_ERROR(
        db().write([](Transaction& tx) { tx.execute("INSERT INTO child (id, parent, amount) VALUES (1, 1, -5)"); }),
        ErrorCode::Conflict);
    EXPECT_STORAGE_ERROR(
        db().write([](Transaction& tx) { tx.execute("INSERT INTO child (id, parent, amount) VALUES (1, 1, ?)", {nullptr}); }),
        ErrorCode::Conflict);
}

TEST_P(StorageCrudTest, ReadTransactionsCannotWrite) {
    db().migrate(kItems);
    EXPECT_STORAGE_ERROR(db().read([](Transaction& tx) { tx.execute("INSERT INTO item (name) VALUES ('r')"); }),
                         ErrorCode::Storage);
    auto count = db().read([](Transaction& tx) { return tx.query("SELECT count(*) FROM item").single()->int64(0); });
    EXPECT_EQ(count, 0);
}

// Database::query: one SELECT, its own snapshot; PostgreSQL runs it without a
// transaction block, so nothing but a SELECT may come that way.
TEST_P(StorageCrudTest, QueryRunsOneSelectAndNothingElse) {
    Options one;
    one.maxSessions = 1; // every call below reuses the same session
    Database own(connection(), one);
    own.migrate(kItems);
    own.write([](Transaction& tx) { tx.execute("INSERT INTO item (name, n) VALUES ('a', 1), ('b', 2), ('c', 3)"); });
    const auto rows = own.query("SELECT name, n FROM item WHERE n >= ? ORDER BY n", {std::int64_t{2}});
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].text(0), "b");
    EXPECT_EQ(rows[1].int64(1), 3);
    EXPECT_EQ(own.query("\n  select count(*) FROM item").single()->int64(0), 3);
    EXPECT_EQ(own.query("SELECT\n  count(*)\nFROM item").single()->int64(0), 3);

    for (const char* notASelect : {"INSERT INTO item (name) VALUES ('x')", "UPDATE item SET n = 0", "DELETE FROM item",
                                   "WITH gone AS (DELETE FROM item RETURNING id) SELECT count(*) FROM gone", "SELECT",
                                   "", "SELECTED", "SELECT_x FROM item"}) {
        SCOPED_TRACE(notASelect);
        EXPECT_STORAGE_ERROR(own.query(notASelect), ErrorCode::InvalidArgument);
    }
    const bool postgres = GetParam() == Backend::Postgres;
    const auto session = [&] { return postgres ? own.query("SELECT pg_backend_pid()").single()->int64(0) : 0; };
    const auto before = session();
    const auto message = EXPECT_STORAGE_ERROR(own.query("SELECT * FROM no_such_table"), ErrorCode::Storage);
    EXPECT_NE(message.find("no_such_table"), std::string::npos) << message;
    // Nothing changed, and the session is kept and fine after the failure.
    EXPECT_EQ(session(), before);
    EXPECT_EQ(own.query("SELECT CAST(sum(n) AS BIGINT) FROM item").single()->int64(0), 6);
    own.write([](Transaction& tx) { tx.execute("INSERT INTO item (name, n) VALUES ('d', 4)"); });
    EXPECT_EQ(own.query("SELECT count(*) FROM item").single()->int64(0), 4);
    if (postgres) {
        // No transaction left open behind a query (it would hold its snapshot and locks).
        EXPECT_EQ(db().query("SELECT CAST(count(*) AS BIGINT) FROM pg_stat_activity"
                             " WHERE datname = current_database() AND state LIKE 'idle in transaction%'")
                      .single()
                      ->int64(0),
                  0);
    }
}

// A SELECT can write through a function on PostgreSQL; Database::query runs it
// without a transaction block, where the session is read-only.
TEST_P(StorageCrudTest, QueryCannotWriteThroughAFunction) {
    if (GetParam() == Backend::Sqlite) GTEST_SKIP() << "SQLite's SQL functions cannot write";
    db().migrate(kItems);
    db().write([](Transaction& tx) {
        tx.execute("CREATE FUNCTION add_item() RETURNS BIGINT LANGUAGE sql AS "
                   "$$ INSERT INTO item (name, n) VALUES ('f', 9) RETURNING n $$");
    });
    const auto message = EXPECT_STORAGE_ERROR(db().query("SELECT add_item()"), ErrorCode::Storage);
    EXPECT_NE(message.find("read-only"), std::string::npos) << message;
    EXPECT_EQ(db().query("SELECT count(*) FROM item").single()->int64(0), 0);
    // Write transactions still write, the function included.
    EXPECT_EQ(db().write([](Transaction& tx) { return tx.query("SELECT add_item()").single()->int64(0); }), 9);
    EXPECT_EQ(db().query("SELECT count(*) FROM item").single()->int64(0), 1);
}

TEST_P(StorageCrudTest, TypedAccessRefusesWhatDoesNotConvert) {
    auto row = db().read([](Transaction& tx) { return tx.query("SELECT ? AS t, ? AS n", {"abc", nullptr}).single(); });
    ASSERT_TRUE(row);
    EXPECT_STORAGE_ERROR(row->int64(0), ErrorCode::Storage);
    EXPECT_STORAGE_ERROR(row->int64(1), ErrorCode::Storage);
    EXPECT_STORAGE_ERROR(row->text(1), ErrorCode::Storage);
    EXPECT_STORAGE_ERROR((*row)[7], ErrorCode::InvalidArgument);
    EXPECT_STORAGE_ERROR((*row)["missing"], ErrorCode::InvalidArgument);
    EXPECT_STORAGE_ERROR((void)Value(std::numeric_limits<std::uint64_t>::max()), ErrorCode::InvalidArgument);
}

TEST_P(StorageCrudTest, NumericResultsMustBeCast) {
    // sum() of BIGINT is NUMERIC on PostgreSQL: refused rather than rounded through a double.
    db().migrate(kItems);
    db().write([](Transaction& tx) { tx.execute("INSERT INTO item (name, n) VALUES ('a', ?), ('b', ?)", {INT64_MAX / 2, 3}); });
    auto sum = db().read([](Transaction& tx) {
        return tx.query("SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM item").single()->int64(0);
    });
    EXPECT_EQ(sum, INT64_MAX / 2 + 3);
    if (GetParam() == Backend::Postgres) {
        auto message = EXPECT_STORAGE_ERROR(db().read([](Transaction& tx) { tx.query("SELECT sum(n) AS total FROM item"); }),
                                            ErrorCode::Storage);
        EXPECT_NE(message.find("'total'"), std::string::npos) << message;
        EXPECT_NE(message.find("CAST"), std::string::npos) << message;
    }
}

TEST_P(StorageCrudTest, LongLivedSessionsDoNotAccumulateStatements) {
    // A server process keeps its pooled sessions for days: statements must not pile up.
    db().migrate(kItems);
    for (int i = 0; i < 300; ++i)
        db().write([&](Transaction& tx) { tx.execute("INSERT INTO item (name, n) VALUES (?, ?)", {std::to_string(i), i}); });
    if (GetParam() == Backend::Postgres) {
        auto prepared = db().read([](Transaction& tx) {
            return tx.query("SELECT CAST(count(*) AS BIGINT) FROM pg_prepared_statements").single()->int64(0);
        });
        EXPECT_LT(prepared, 20);
    }
    EXPECT_EQ(db().read([](Transaction& tx) { return tx.query("SELECT count(*) FROM item").single()->int64(0); }), 300);
}

TEST_P(StorageCrudTest, StatementErrorsNameTheProblem) {
    auto message = EXPECT_STORAGE_ERROR(db().read([](Transaction& tx) { tx.query("SELECT * FROM no_such_table"); }),
                                        ErrorCode::Storage);
    EXPECT_NE(message.find("no_such_table"), std::string::npos) << message;
}

} // namespace
} // namespace boxoffice::storage::test
