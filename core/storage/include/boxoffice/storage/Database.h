#pragma once
// The one storage layer of BoxOffice, on Poco::Data.
//
// Connection strings (the backend follows from the string):
//   sqlite:/var/lib/boxoffice/stb.db        (also sqlite:relative.db, sqlite:///abs.db)
//   postgresql://user[:password]@host[:port]/dbname[?key=value&...]   (also postgres://)
//   host=127.0.0.1 port=5432 user=u dbname=d   (libpq key=value; password='with spaces \' and \\')
// A bad string throws Error(InvalidArgument); a server that cannot be reached or
// a file that cannot be opened throws Error(Unavailable) / Error(Storage).
// Messages never contain the password.
//
// Threads: a Database is thread-safe. Each transaction leases its own session
// (one session per thread at a time). SQLite: WAL, one writer -- write
// transactions are serialized in-process by a mutex and across processes by
// BEGIN IMMEDIATE + busy timeout; reads run concurrently. PostgreSQL: write
// transactions are SERIALIZABLE and may fail with TransientError under
// contention from other threads or processes: use write(), which retries.
//
// Group commit (on by default, both backends): write() calls that arrive while
// another commit is in flight run together in the next transaction, each in its
// own savepoint, and share its one fsync. Every caller still gets its own
// outcome: a unit that throws is rolled back to its savepoint and its exception
// is rethrown to its caller alone, the others commit; write() returns only once
// the commit that covers its unit is durable. Units run on the thread of
// whichever caller leads the group, one after another, in arrival order. On
// PostgreSQL this also keeps a process's writers from failing each other's
// serializable transactions on hot rows; a serialization failure or deadlock
// (with another process) reruns the whole group.

#include <boxoffice/storage/Schema.h>
#include <boxoffice/storage/Transaction.h>
#include <boxoffice/storage/TransientError.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace boxoffice::storage {

enum class Backend { Sqlite, Postgres };

struct Options {
    std::chrono::milliseconds busyTimeout{5000};      // SQLite: wait for another process' write lock
    std::chrono::seconds connectTimeout{10};          // PostgreSQL login timeout
    std::chrono::milliseconds sessionWait{30000};     // waiting for a free pooled session
    unsigned maxSessions = 16;                        // pooled sessions (SQLite readers + 1 writer)
    unsigned maxAttempts = 25;                        // write(): attempts before giving up
    bool groupCommit = true;                          // share one transaction (and fsync) between concurrent write()s
};

class Database {
public:
    // Opens (SQLite: creates) the database and checks that it is usable.
    explicit Database(std::string_view connection, Options options = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    Backend backend() const noexcept;
    // The connection string with any password removed, for logs.
    const std::string& description() const noexcept;

    Transaction begin(Access access);

    // Runs work(Transaction&) in a write transaction and commits; on a
    // TransientError (busy, serialization failure, deadlock) rolls back and runs
    // it again, up to Options::maxAttempts. work must have no effects outside the
    // transaction. Returns what work returns.
    template <class F>
    auto write(F&& work) {
        using R = std::invoke_result_t<F&, Transaction&>;
        if (groupsCommits()) {
            if constexpr (std::is_void_v<R>) {
                writeGrouped([&](Transaction& tx) { work(tx); });
                return;
            } else {
                std::optional<R> result;
                writeGrouped([&](Transaction& tx) { result.emplace(work(tx)); });
                return std::move(*result);
            }
        }
        for (unsigned attempt = 1;; ++attempt) {
            try {
                Transaction tx = begin(Access::Write);
                if constexpr (std::is_void_v<R>) {
                    work(tx);
                    tx.commit();
                    return;
                } else {
                    auto result = work(tx);
                    tx.commit();
                    return result;
                }
            } catch (const TransientError&) {
                if (attempt >= maxAttempts()) throw;
                pauseBeforeRetry(attempt);
            }
        }
    }

    // Runs one SELECT (one snapshot by itself) and returns its rows: the way to
    // read with a single statement. PostgreSQL runs it without BEGIN and COMMIT,
    // one round trip instead of two. Anything but a SELECT is refused with
    // Error(InvalidArgument).
    Result query(std::string_view sql, const std::vector<Value>& params = {});

    // Runs work(Transaction&) in a read transaction (one snapshot): for reads of
    // several statements.
    template <class F>
    auto read(F&& work) {
        Transaction tx = begin(Access::Read);
        if constexpr (std::is_void_v<std::invoke_result_t<F&, Transaction&>>) {
            work(tx);
            tx.commit();
        } else {
            auto result = work(tx);
            tx.commit();
            return result;
        }
    }

    // Brings schema.component to steps.size(), applying the missing steps in one
    // transaction; returns the number of steps applied (0 if already current).
    // A database whose stored version is newer than steps.size() is refused with
    // Error(UnsupportedVersion). Concurrent migrators (threads or processes)
    // apply each step exactly once.
    unsigned migrate(const Schema& schema);
    // The stored version of a component, 0 if it has none.
    std::int64_t schemaVersion(std::string_view component);

    struct Engine;

private:
    bool groupsCommits() const noexcept;
    void writeGrouped(const std::function<void(Transaction&)>& work);
    unsigned maxAttempts() const noexcept;
    static void pauseBeforeRetry(unsigned attempt);

    std::shared_ptr<Engine> engine_;
};

} // namespace boxoffice::storage
