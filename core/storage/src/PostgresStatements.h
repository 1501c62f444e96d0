#pragma once
// PostgreSQL statements prepared once per connection and reused. Poco::Data
// 1.11 prepares, describes, executes and deallocates every statement: four
// round trips to the server where one will do, and a new plan each time. The
// connection stays Poco's: this runs on its PGconn, between Poco's own uses.

#include <boxoffice/storage/Result.h>
#include <boxoffice/storage/Value.h>

#include "StatementCache.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;

namespace boxoffice::storage::detail {

class PostgresStatements {
public:
    struct Prepared {
        std::string name;
        std::size_t parameters = 0;
    };

    explicit PostgresStatements(pg_conn* conn) : conn_(conn) {}
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
    // A statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT ...): one round trip.
    void execute(const std::string& sql);

private:
    pg_conn* conn_;
    StatementCache<Prepared> cache_;
    unsigned long next_ = 0;
};

} // namespace boxoffice::storage::detail
