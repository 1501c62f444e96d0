#include <boxoffice/testsupport/Postgres.h>

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace boxoffice::testsupport {

namespace {

void run(const std::string& server, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(server.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot reach the PostgreSQL test server: " + std::string(PQerrorMessage(conn.get())));
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK)
        throw std::runtime_error(sql + ": " + PQresultErrorMessage(result.get()));
}

// The fixture's URI ends in /<dbname>; swap in another database.
std::string withDatabase(const std::string& server, const std::string& name) {
    auto query = server.find('?');
    auto slash = server.rfind('/', query);
    if (server.rfind("postgres", 0) != 0 || slash == std::string::npos || slash < server.find("//") + 2)
        throw std::runtime_error("the PostgreSQL test server must be given as postgresql://user@host:port/db");
    return server.substr(0, slash + 1) + name + (query == std::string::npos ? "" : server.substr(query));
}

} // namespace

std::string postgresServer() {
    if (const char* env = std::getenv("BOXOFFICE_TEST_POSTGRES"); env && *env) return env;
    std::ifstream in(BOXOFFICE_PG_FIXTURE_FILE);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty())
        throw std::runtime_error(
            "the PostgreSQL test fixture is not running (no " BOXOFFICE_PG_FIXTURE_FILE
            "): run the tests through ctest, which starts it (fixture 'postgres', test postgres.fixture.start), "
            "or set BOXOFFICE_TEST_POSTGRES");
    return line;
}

PostgresDatabase::PostgresDatabase() : server_(postgresServer()) {
    static std::atomic<unsigned> counter{0};
    name_ = "boxoffice_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(std::random_device{}() % 100000);
    run(server_, "CREATE DATABASE " + name_);
    connection_ = withDatabase(server_, name_);
}

PostgresDatabase::~PostgresDatabase() {
    try {
        run(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
        // The cluster is thrown away at the end of the run anyway.
    }
}

} // namespace boxoffice::testsupport
