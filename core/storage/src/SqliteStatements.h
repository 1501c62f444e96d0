#pragma once
// SQLite statements prepared once per connection and reused. Poco::Data 1.11
// prepares a statement again on every execution; under load that parsing was
// the largest single cost of a server purchase, and it ran inside the one
// writer's transaction, where it bounds write throughput. The connection stays
// Poco's: this runs on its sqlite3 handle, between Poco's own uses of it.

#include <boxoffice/storage/Result.h>
#include <boxoffice/storage/Value.h>

#include "StatementCache.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace boxoffice::storage::detail {

class SqliteStatements {
public:
    struct Prepared {
        sqlite3_stmt* statement = nullptr;
        std::shared_ptr<const std::vector<std::string>> columns;
    };

    explicit SqliteStatements(sqlite3* db) : db_(db) {}
    ~SqliteStatements(); // finalizes every statement: before the connection closes
    SqliteStatements(const SqliteStatements&) = delete;
    SqliteStatements& operator=(const SqliteStatements&) = delete;

    // The statement prepared for `sql` (BoxOffice dialect), if it takes `bound` values.
    Prepared* find(std::string_view sql, std::size_t bound);
    // Prepares `sqliteText` (`sql` already translated and checked) and keeps it
    // under `sql`; nullptr if it is not exactly one statement (use Poco::Data).
    Prepared* prepare(std::string_view sql, const std::string& sqliteText);
    // Runs a prepared statement; fills `rows` if given. Returns the rows changed
    // (INSERT/UPDATE/DELETE) or read. SQLite failures throw Poco's SQLite
    // exceptions, as Poco::Data would, so one error mapping serves both paths.
    std::uint64_t run(Prepared& prepared, const std::vector<Value>& params, Result* rows);

private:
    sqlite3* db_;
    StatementCache<Prepared> cache_;
};

} // namespace boxoffice::storage::detail
