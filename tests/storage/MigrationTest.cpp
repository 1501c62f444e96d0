// Schema migrations on both backends: from empty, from each older version,
// refusal of newer databases, failed steps, concurrent migrators.

#include "BackendFixture.h"

#include <atomic>
#include <thread>

namespace boxoffice::storage::test {
namespace {

using StorageMigrationTest = BackendTest;
BOXOFFICE_ON_BOTH_BACKENDS(StorageMigrationTest);

// A small ledger-like schema in three versions; `p` prefixes the table names
// so several components can live in one database.
Schema ledger(const std::string& p, std::size_t version = 3) {
    Schema s{p,
             {{"accounts",
               {"CREATE TABLE " + p + "_account (id {id_pk}, name {text} NOT NULL UNIQUE, balance {int64} NOT NULL)"}},
              {"account keys",
               {"ALTER TABLE " + p + "_account ADD COLUMN pubkey {blob}",
                "CREATE INDEX " + p + "_account_pubkey ON " + p + "_account (pubkey)"}},
              {"opening entries",
               {"CREATE TABLE " + p + "_entry (id {id_pk}, account {int64} NOT NULL REFERENCES " + p +
                "_account (id), amount {int64} NOT NULL, memo {text})"},
               [p](Transaction& tx) {
                   // Data migration: one opening entry per existing account.
                   for (const Row& r : tx.query("SELECT id, balance FROM " + p + "_account ORDER BY id"))
                       tx.execute("INSERT INTO " + p + "_entry (account, amount, memo) VALUES (?, ?, ?)",
                                  {r.int64(0), r.int64(1), "opening"});
               }}}};
    s.steps.erase(s.steps.begin() + static_cast<std::ptrdiff_t>(version), s.steps.end());
    return s;
}

std::int64_t count(Database& db, const std::string& table) {
    return db.read([&](Transaction& tx) { return tx.query("SELECT count(*) FROM " + table).single()->int64(0); });
}

TEST_P(StorageMigrationTest, MigratesFromEmptyAndIsIdempotent) {
    EXPECT_EQ(db().schemaVersion("ledger"), 0);
    EXPECT_EQ(db().migrate(ledger("ledger")), 3u);
    EXPECT_EQ(db().schemaVersion("ledger"), 3);
    EXPECT_EQ(db().migrate(ledger("ledger")), 0u);
    EXPECT_EQ(reopen()->migrate(ledger("ledger")), 0u);
    EXPECT_EQ(db().schemaVersion("ledger"), 3);
    db().write([](Transaction& tx) {
        auto id = tx.query("INSERT INTO ledger_account (name, balance, pubkey) VALUES (?, ?, ?) RETURNING id",
                           {"alice", 10, Bytes{1, 0, 2}})
                      .single()
                      ->int64(0);
        tx.execute("INSERT INTO ledger_entry (account, amount) VALUES (?, ?)", {id, 10});
    });
    EXPECT_EQ(count(db(), "ledger_entry"), 1);
}

TEST_P(StorageMigrationTest, MigratesFromEachOlderVersionKeepingData) {
    for (std::size_t from = 0; from <= 3; ++from) {
        SCOPED_TRACE("from version " + std::to_string(from));
        const std::string p = "v" + std::to_string(from);
        EXPECT_EQ(db().migrate(ledger(p, from)), from);
        EXPECT_EQ(db().schemaVersion(p), static_cast<std::int64_t>(from));
        if (from >= 1)
            db().write([&](Transaction& tx) {
                tx.execute("INSERT INTO " + p + "_account (name, balance) VALUES ('a', 5), ('b', 7)");
            });
        // The upgrade runs in another Database, as after a software update.
        EXPECT_EQ(reopen()->migrate(ledger(p)), 3 - from);
        EXPECT_EQ(db().schemaVersion(p), 3);
        const std::int64_t accounts = from >= 1 ? 2 : 0;
        EXPECT_EQ(count(db(), p + "_account"), accounts);
        // Step 3's data migration ran exactly once, on whatever existed then.
        const std::int64_t opening = from >= 1 && from < 3 ? 2 : 0;
        EXPECT_EQ(count(db(), p + "_entry"), opening);
        auto sum = db().read([&](Transaction& tx) {
            return tx.query("SELECT CAST(coalesce(sum(amount), 0) AS BIGINT) FROM " + p + "_entry").single()->int64(0);
        });
        EXPECT_EQ(sum, opening ? 12 : 0);
    }
}

TEST_P(StorageMigrationTest, RefusesADatabaseNewerThanTheCode) {
    db().migrate(ledger("ledger"));
    auto message = EXPECT_STORAGE_ERROR(reopen()->migrate(ledger("ledger", 2)), ErrorCode::UnsupportedVersion);
    EXPECT_NE(message.find("version 3"), std::string::npos) << message;
    EXPECT_NE(message.find("up to 2"), std::string::npos) << message;
    EXPECT_NE(message.find("'ledger'"), std::string::npos) << message;
    EXPECT_EQ(db().schemaVersion("ledger"), 3);
}

TEST_P(StorageMigrationTest, AFailedStepLeavesTheOldVersionIntact) {
    db().migrate(ledger("ledger", 1));
    Schema broken = ledger("ledger", 2);
    broken.steps.push_back({"broken", {"CREATE TABLE ledger_half (x BIGINT)", "CREATE TABLE oops ("}});
    auto message = EXPECT_STORAGE_ERROR(db().migrate(broken), ErrorCode::Storage);
    EXPECT_NE(message.find("to version 3 (broken)"), std::string::npos) << message;
    EXPECT_EQ(db().schemaVersion("ledger"), 1);
    // Step 2 and the first statement of step 3 were rolled back with it.
    EXPECT_STORAGE_ERROR(db().read([](Transaction& tx) { tx.query("SELECT x FROM ledger_half"); }), ErrorCode::Storage);
    EXPECT_STORAGE_ERROR(db().read([](Transaction& tx) { tx.query("SELECT pubkey FROM ledger_account"); }),
                         ErrorCode::Storage);
    EXPECT_EQ(db().migrate(ledger("ledger")), 2u);
}

TEST_P(StorageMigrationTest, RejectsUnknownPlaceholdersAndBadComponentNames) {
    auto message = EXPECT_STORAGE_ERROR(db().migrate({"x", {{"bad", {"CREATE TABLE t (a {uuid})"}}}}),
                                        ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("{uuid}"), std::string::npos) << message;
    EXPECT_EQ(db().schemaVersion("x"), 0);
    EXPECT_STORAGE_ERROR(db().migrate({"Bad Name", {}}), ErrorCode::InvalidArgument);
    // Braces inside literals are data, not placeholders.
    db().migrate({"lit", {{"literal", {"CREATE TABLE lit (a TEXT DEFAULT '{blob}')"}}}});
    db().write([](Transaction& tx) { tx.execute("INSERT INTO lit DEFAULT VALUES"); });
    EXPECT_EQ(db().read([](Transaction& tx) { return tx.query("SELECT a FROM lit").single()->text(0); }), "{blob}");
}

TEST_P(StorageMigrationTest, PerDialectStatements) {
    Schema s{"dialect",
             {MigrationStep::perDialect("per dialect", {"CREATE TABLE d (which TEXT)", "INSERT INTO d VALUES ('sqlite')"},
                                        {"CREATE TABLE d (which TEXT)", "INSERT INTO d VALUES ('postgres')"})}};
    db().migrate(s);
    EXPECT_EQ(db().read([](Transaction& tx) { return tx.query("SELECT which FROM d").single()->text(0); }),
              GetParam() == Backend::Sqlite ? "sqlite" : "postgres");
}

TEST_P(StorageMigrationTest, ConcurrentMigratorsApplyEachStepOnce) {
    // Steps that fail or double up if applied twice.
    Schema s{"race",
             {{"table", {"CREATE TABLE race (n BIGINT)"}},
              {"row", {"INSERT INTO race VALUES (1)"}},
              {"more", {"CREATE TABLE race2 (n BIGINT)", "INSERT INTO race SELECT n + 1 FROM race"}}}};
    constexpr int kMigrators = 4;
    std::atomic<unsigned> applied{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kMigrators; ++i)
        threads.emplace_back([&] {
            try {
                Database own(connection()); // like a separate server process
                applied += own.migrate(s);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(applied.load(), 3u);
    EXPECT_EQ(count(db(), "race"), 2);
    EXPECT_EQ(db().schemaVersion("race"), 3);
}

} // namespace
} // namespace boxoffice::storage::test
