#pragma once
// Access to the PostgreSQL server of the `postgres` ctest fixture
// (tests/support/postgres/postgres-fixture.sh). Nothing here skips: if the
// fixture is not up, these throw std::runtime_error and the test fails.
//
// The server is found through, in order: $BOXOFFICE_TEST_POSTGRES (a connection
// string, to test against another server), then the file the fixture writes,
// <build dir>/postgres-fixture/connection.

#include <string>

namespace boxoffice::testsupport {

// Connection string (postgresql://...) of the fixture's shared database.
std::string postgresServer();

// A fresh, empty database on that server, for one test; dropped (with any
// sessions still on it) when this object is destroyed.
class PostgresDatabase {
public:
    PostgresDatabase();
    ~PostgresDatabase();
    PostgresDatabase(const PostgresDatabase&) = delete;
    PostgresDatabase& operator=(const PostgresDatabase&) = delete;

    const std::string& connection() const noexcept { return connection_; } // postgresql://.../<name>
    const std::string& name() const noexcept { return name_; }

private:
    std::string server_;
    std::string name_;
    std::string connection_;
};

} // namespace boxoffice::testsupport
