// What only SQLite has: WAL and pragmas, the one-writer rule, and durability
// when a writer process is killed with SIGKILL in the middle of a transaction.

#include "BackendFixture.h"

#include <csignal>
#include <cstdio>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace boxoffice::storage::test {
namespace {

class StorageSqliteTest : public ::testing::Test {
protected:
    std::string file() const { return (dir_.path() / "stb.db").string(); }
    std::string connection() const { return "sqlite:" + file(); }

private:
    TempDir dir_;
};

TEST_F(StorageSqliteTest, OpensInWalModeWithForeignKeysAndFullSync) {
    Database db(connection());
    db.write([](Transaction& tx) { tx.execute("CREATE TABLE t (x BIGINT)"); });
    auto row = db.read([](Transaction& tx) {
        return tx.query("SELECT (SELECT journal_mode FROM pragma_journal_mode), (SELECT foreign_keys FROM "
                        "pragma_foreign_keys), (SELECT synchronous FROM pragma_synchronous)")
            .single();
    });
    ASSERT_TRUE(row);
    EXPECT_EQ(row->text(0), "wal");
    EXPECT_EQ(row->int64(1), 1);
    EXPECT_EQ(row->int64(2), 2); // FULL
    EXPECT_TRUE(std::filesystem::exists(file() + "-wal"));
}

TEST_F(StorageSqliteTest, NestedWriteTransactionOnOneThreadIsRefused) {
    Database db(connection());
    auto outer = db.begin(Access::Write);
    auto message = EXPECT_STORAGE_ERROR(db.begin(Access::Write), ErrorCode::Internal);
    EXPECT_NE(message.find("nested write"), std::string::npos) << message;
    // Reads still work while the writer is busy, and see the last commit.
    outer.execute("CREATE TABLE t (x BIGINT)");
    EXPECT_STORAGE_ERROR(db.read([](Transaction& tx) { tx.query("SELECT x FROM t"); }), ErrorCode::Storage);
    outer.commit();
    EXPECT_TRUE(db.read([](Transaction& tx) { return tx.query("SELECT x FROM t").empty(); }));
}

// Runs the crash writer (crash_writer.cpp) and kills it when `killAt` is read
// from its output. Returns the batches it reported as committed.
int runAndKill(const std::string& db, const std::string& mode, const std::string& killAt) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        ::execl(BOXOFFICE_CRASH_WRITER, BOXOFFICE_CRASH_WRITER, db.c_str(), mode.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    FILE* in = ::fdopen(out[0], "r");
    int committed = 0;
    char line[128];
    bool killed = false;
    while (std::fgets(line, sizeof line, in)) {
        std::string text(line);
        if (text.rfind("committed ", 0) == 0) committed = std::stoi(text.substr(10));
        if (text.rfind(killAt, 0) == 0) {
            ::kill(pid, SIGKILL);
            killed = true;
            break;
        }
    }
    std::fclose(in);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(killed) << "the writer ended before '" << killAt << "'";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    return committed;
}

void expectIntactWithCommittedBatches(const std::string& connection, int atLeast) {
    Database db(connection);
    EXPECT_EQ(db.read([](Transaction& tx) { return tx.query("PRAGMA integrity_check").single()->text(0); }), "ok");
    auto batches = db.read([](Transaction& tx) {
        return tx.query("SELECT batch, count(*), sum(length(payload)) FROM rows GROUP BY batch ORDER BY batch");
    });
    // Only whole batches, numbered 1..n without gaps, and at least the ones reported.
    ASSERT_GE(static_cast<int>(batches.size()), atLeast);
    for (std::size_t i = 0; i < batches.size(); ++i) {
        EXPECT_EQ(batches[i].int64(0), static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(batches[i].int64(1), 200);
        EXPECT_EQ(batches[i].int64(2), 200 * 16384);
    }
    // The killed writer left no lock behind.
    db.write([](Transaction& tx) { tx.execute("INSERT INTO rows (batch, payload) VALUES (0, x'00')"); });
}

TEST_F(StorageSqliteTest, WriterKilledInsideATransactionLosesOnlyThatTransaction) {
    // The writer commits 3 batches, then fills a 4th big enough to spill pages
    // into the WAL, reports "inside" and waits to be killed.
    const int committed = runAndKill(file(), "pause", "inside");
    EXPECT_EQ(committed, 3);
    expectIntactWithCommittedBatches(connection(), 3);
    Database db(connection());
    EXPECT_EQ(db.read([](Transaction& tx) { return tx.query("SELECT count(*) FROM rows WHERE batch = 4").single()->int64(0); }),
              0);
}

TEST_F(StorageSqliteTest, WriterKilledWhileWritingContinuouslyLeavesWholeBatches) {
    const int committed = runAndKill(file(), "loop", "committed 3");
    expectIntactWithCommittedBatches(connection(), committed);
}

} // namespace
} // namespace boxoffice::storage::test
