#pragma once
// PostgreSQL statements prepared once per connection and reused. Poco::Data
// 1.11 prepares, describes, executes and deallocates every statement: four
// round trips to the server where one will do, and a new plan each time. So a
// PostgreSQL session is its PGconn and this, owning it, alone (Poco 1.11's
// session also leaks a PGconn that broke: it only finishes connections still OK).
//
// Control statements that return nothing to wait for (BEGIN, SAVEPOINT,
// RELEASE SAVEPOINT) are deferred: they go to the server in one libpq pipeline
// with the next statement, so they cost no round trip of their own. So are
// writes whose caller does not need their result (Transaction::executeDeferred).

#include <boxoffice/storage/Result.h>
#include <boxoffice/storage/Value.h>

#include "StatementCache.h"

#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace boxoffice::storage::detail {

// A deferred statement failed in the pipeline of the statement that carried it
// (which then did not run). `statement` is the deferred one's SQL, `cause` what
// running it alone would have thrown; `data` tells a deferred write from a
// control statement.
class DeferredStatementError : public std::runtime_error {
public:
    DeferredStatementError(std::string statement, std::exception_ptr cause, bool data);
    std::string statement;
    std::exception_ptr cause; // a Poco::Exception
    bool data = false;
};

class PostgresStatements {
public:
    struct Prepared {
        std::string name;
        std::size_t parameters = 0;
    };

    // Takes the connection (open and OK) and finishes it when destroyed.
    explicit PostgresStatements(pg_conn* conn) : conn_(conn) {}
    ~PostgresStatements();
    PostgresStatements(const PostgresStatements&) = delete;
    PostgresStatements& operator=(const PostgresStatements&) = delete;

    // The statement prepared for `sql` (BoxOffice dialect), if it takes `bound` values.
    Prepared* find(std::string_view sql, std::size_t bound);
    // Prepares `postgresText` (`sql` already translated and checked, `bound`
    // placeholders) and keeps it under `sql`.
    Prepared* prepare(std::string_view sql, const std::string& postgresText, std::size_t bound);
    // Runs a prepared statement; fills `rows` if given. Returns the rows changed
    // or read. Failures throw Poco's PostgreSQL exceptions with the SQLSTATE in
    // the message, as Poco::Data would, so one error mapping serves both paths.
    std::uint64_t run(const Prepared& prepared, const std::vector<Value>& params, Result* rows);
    // A statement without parameters or rows (COMMIT, ROLLBACK ...): one round
    // trip, which also carries the deferred statements.
    void execute(const std::string& sql);
    // A statement without parameters, rows or anything to wait for (BEGIN,
    // SAVEPOINT ...): sent with the next statement of any kind. If it fails,
    // that statement throws DeferredStatementError.
    void defer(std::string sql);
    // A prepared statement whose result nobody waits for: sent with the next
    // statement of any kind, which throws DeferredStatementError (data) if it fails.
    void defer(const Prepared& prepared, const std::vector<Value>& params, std::string_view sql);
    // Whether deferred writes wait for the next statement.
    bool holdsDeferredData() const noexcept;
    // Drops the deferred writes (a rollback is about to undo them anyway).
    void discardDeferredData() noexcept;
    // False once an exchange was cut off half-way (results unread, still in
    // pipeline mode) or the connection is bad: the session must not be reused.
    bool usable() const noexcept;

private:
    struct ResultFree {
        void operator()(pg_result* r) const noexcept;
    };
    using ResultPtr = std::unique_ptr<pg_result, ResultFree>;
    // Sends the deferred statements and then the one `send` sends, in one
    // pipeline (one round trip), and returns the last one's result.
    template <class F> ResultPtr exchange(F&& send, std::string_view what);

    struct Deferred {
        std::string sql;       // a control statement's text; a write's, for messages
        std::string prepared;  // a write's prepared statement; empty for a control statement
        std::vector<Value> params;
    };
    bool send(const Deferred& statement);
    bool sendPrepared(const std::string& name, const std::vector<Value>& params);

    pg_conn* conn_;
    std::vector<Deferred> deferred_;
    StatementCache<Prepared> cache_;
    unsigned long next_ = 0;
    bool cutOff_ = false;
};

} // namespace boxoffice::storage::detail
