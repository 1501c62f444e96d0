#include "Engine.h"

#include "ErrorMapping.h"

#include <boxoffice/base/Error.h>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>

#include <libpq-fe.h>

#include <chrono>
#include <mutex>

namespace boxoffice::storage {

using namespace Poco::Data::Keywords;

namespace {

void registerConnectors() {
    static std::once_flag once;
    std::call_once(once, [] {
        Poco::Data::SQLite::Connector::registerConnector();
    });
}

} // namespace

Database::Engine::Engine(detail::ConnectionTarget t, Options o) : target(std::move(t)), options(o) {
    registerConnectors();
    if (options.maxSessions < 2) options.maxSessions = 2;
}

namespace {

// A PostgreSQL session: libpq's own connection, so its error message (host and
// port, never the password) is the one reported.
std::unique_ptr<Connection> openPostgres(const detail::ConnectionTarget& target) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(target.target.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        std::string reason = conn ? PQerrorMessage(conn.get()) : "out of memory";
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
        throw Error(ErrorCode::Unavailable, "cannot connect to " + target.description + ": " + reason);
    }
    auto connection = std::make_unique<Connection>();
    connection->postgres = std::make_unique<detail::PostgresStatements>(conn.release());
    try {
        // Read-only unless a transaction says READ WRITE: Database::query's SELECT runs
        // without a transaction block, and a function it calls must not write either.
        connection->postgres->execute("SELECT set_config('client_min_messages', 'warning', false), "
                                      "set_config('default_transaction_read_only', 'on', false)");
    } catch (const Poco::Exception& e) {
        detail::rethrowStorageError(e, target.backend, "cannot set up a session on " + target.description);
    }
    return connection;
}

} // namespace

std::unique_ptr<Connection> Database::Engine::openSession(bool writer) {
    if (target.backend == Backend::Postgres) return openPostgres(target);
    std::unique_ptr<Poco::Data::Session> session;
    try {
        // Poco's SQLite connector retries a failing open until the login timeout;
        // a missing directory or a permission problem does not heal, so give it 1 s.
        session = std::make_unique<Poco::Data::Session>(target.connector, target.target, std::size_t{1});
    } catch (const Poco::Exception& e) {
        throw Error(ErrorCode::Storage, "cannot open " + target.description + ": " + e.displayText());
    }
    try {
        Poco::Data::Session& s = *session;
        s << "PRAGMA busy_timeout = " + std::to_string(options.busyTimeout.count()), now;
        std::string mode;
        s << "PRAGMA journal_mode = WAL", into(mode), now;
        if (mode != "wal")
            throw Error(ErrorCode::Storage, target.description + " cannot use WAL journaling (mode is '" + mode + "')");
        // FULL: a commit survives power loss, not only a crash. STBs get unplugged
        // mid-purchase; writes are rare, so the fsync per commit is cheap.
        s << "PRAGMA synchronous = FULL", now;
        // Savepoint journals (one per unit of a commit group) and temporary b-trees in
        // memory: they only ever roll back within a transaction, never after a crash,
        // and on disk each group's grew past the spill size into a temp file of its own.
        s << "PRAGMA temp_store = MEMORY", now;
        s << "PRAGMA foreign_keys = ON", now;
        // Readers physically cannot write: the one-writer rule holds by construction.
        if (!writer) s << "PRAGMA query_only = ON", now;
    } catch (const Poco::Exception& e) {
        detail::rethrowStorageError(e, target.backend, "cannot set up a session on " + target.description);
    }
    auto connection = std::make_unique<Connection>();
    connection->statements = std::make_unique<detail::SqliteStatements>(Poco::Data::SQLite::Utility::dbHandle(*session));
    connection->session = std::move(session);
    return connection;
}

std::unique_ptr<Connection> Database::Engine::acquire(bool writer) {
    if (writer && target.backend == Backend::Sqlite) {
        if (!writerSession) writerSession = openSession(true); // under writerMutex
        return std::move(writerSession);
    }
    const auto deadline = std::chrono::steady_clock::now() + options.sessionWait;
    std::unique_lock lock(poolMutex);
    const unsigned capacity = target.backend == Backend::Sqlite ? options.maxSessions - 1 : options.maxSessions;
    if (!poolFreed.wait_until(lock, deadline, [&] { return !idle.empty() || leased < capacity; }))
        throw Error(ErrorCode::Unavailable, "all " + std::to_string(capacity) + " sessions of " + target.description +
                                                " stayed busy; is a transaction leaking?");
    auto takeIdle = [&] { // under the lock, idle not empty
        ++leased;
        auto connection = std::move(idle.back());
        idle.pop_back();
        return connection;
    };
    if (!idle.empty()) return takeIdle();
    ++leased; // the session about to be opened
    lock.unlock();
    try {
        return openSession(false);
    } catch (...) {
        lock.lock();
        --leased;
        poolFreed.notify_all(); // rare: every waiter re-checks (one may open a session, one may give up)
        // The sessions in use come back: wait for one rather than fail because no new one could be
        // opened (PostgreSQL at its connection limit, or too slow to start a backend under load).
        // Give up when none is left leased (all dropped) or at the deadline.
        if (leased > 0) {
            poolFreed.wait_until(lock, deadline, [&] { return !idle.empty() || leased == 0; });
            if (!idle.empty()) return takeIdle();
        }
        throw;
    }
}

void Database::Engine::release(std::unique_ptr<Connection> connection, bool writer, bool healthy) noexcept {
    if (writer && target.backend == Backend::Sqlite) {
        if (healthy) writerSession = std::move(connection); // under writerMutex
        return;
    }
    std::lock_guard lock(poolMutex);
    --leased;
    if (healthy && connection && (!connection->postgres || connection->postgres->usable())) {
        idle.push_back(std::move(connection));
        poolFreed.notify_one(); // any waiter can take it
    } else {
        poolFreed.notify_all(); // dropped: a waiter for room may open one, one after a failed open may give up
    }
}

} // namespace boxoffice::storage
