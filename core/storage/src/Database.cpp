#include <boxoffice/storage/Database.h>

#include "ConnectionString.h"
#include "Engine.h"

#include <boxoffice/base/Error.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <thread>

namespace boxoffice::storage {

Database::Database(std::string_view connection, Options options)
    : engine_(std::make_shared<Engine>(detail::parseConnection(connection, options), options)) {
    // Fail now, not at the first transaction: open one session and keep it pooled.
    engine_->release(engine_->acquire(false), false, true);
}

Database::~Database() = default;

Backend Database::backend() const noexcept { return engine_->target.backend; }
const std::string& Database::description() const noexcept { return engine_->target.description; }
unsigned Database::maxAttempts() const noexcept { return engine_->options.maxAttempts; }

bool Database::groupsCommits() const noexcept { return engine_->options.groupCommit; }

namespace {

// The database whose group this thread is running units of: a write() on the
// same database from inside one would wait for the group it is part of.
thread_local const void* runningGroup = nullptr;

// Enough to amortise an fsync many times over, small enough that one group's
// latency stays bounded.
constexpr std::size_t kMaxGroup = 256;

} // namespace

void Database::writeGrouped(const std::function<void(Transaction&)>& work) {
    if (runningGroup == engine_.get())
        throw Error(ErrorCode::Internal, "nested write transaction on " + description() +
                                             ": write() called from inside another write()");
    Engine& e = *engine_;
    Engine::GroupUnit unit;
    unit.work = &work;
    std::unique_lock lock(e.groupMutex);
    e.groupQueue.push_back(&unit);
    while (!unit.done) {
        if (e.groupLeader) {
            unit.wake.wait(lock);
            continue;
        }
        // Lead: take everything queued (our unit included, unless the queue is
        // longer than one group) into one transaction.
        e.groupLeader = true;
        std::vector<Engine::GroupUnit*> group;
        while (!e.groupQueue.empty() && group.size() < kMaxGroup) {
            group.push_back(e.groupQueue.front());
            e.groupQueue.pop_front();
        }
        lock.unlock();
        const void* outerGroup = runningGroup;  // a unit may write to another database
        runningGroup = engine_.get();
        for (unsigned attempt = 1;; ++attempt) {
            try {
                Transaction tx = begin(Access::Write);
                for (auto* member : group) {
                    member->error = nullptr;
                    tx.savepoint();
                    try {
                        (*member->work)(tx);
                        tx.releaseSavepoint();
                    } catch (const TransientError&) {
                        // PostgreSQL: a serialization failure or deadlock dooms the
                        // snapshot, not just this unit; retry the whole group.
                        throw;
                    } catch (...) {
                        member->error = std::current_exception();
                        tx.rollbackToSavepoint();  // if even this fails, the whole group fails below
                    }
                }
                tx.commit();
                break;
            } catch (const TransientError&) {
                if (attempt < maxAttempts()) {
                    pauseBeforeRetry(attempt);
                    continue;
                }
                for (auto* member : group) member->error = std::current_exception();
                break;
            } catch (...) {
                // Nothing of this group was committed: every unit fails with the cause.
                for (auto* member : group) member->error = std::current_exception();
                break;
            }
        }
        runningGroup = outerGroup;
        lock.lock();
        // Under the lock: a finished caller may return and free its unit as soon as it can see done.
        for (auto* member : group) {
            member->done = true;
            member->wake.notify_one();
        }
        e.groupLeader = false;
        if (!e.groupQueue.empty()) e.groupQueue.front()->wake.notify_one(); // the next leader
    }
    lock.unlock();
    if (unit.error) std::rethrow_exception(unit.error);
}

Transaction Database::begin(Access access) {
    return beginTransaction(engine_, access == Access::Read ? Begin::Read : Begin::Write);
}

Result Database::query(std::string_view sql, const std::vector<Value>& params) {
    // Without a transaction block a PostgreSQL write would commit at once: only SELECTs
    // come here, and the session's default_transaction_read_only stops a SELECT that
    // calls a function which writes.
    constexpr std::string_view select = "SELECT";
    const auto start = sql.find_first_not_of(" \t\r\n");
    const auto head = sql.substr(std::min(start, sql.size()), select.size() + 1);
    const auto isSpace = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    if (head.size() <= select.size() || !isSpace(head.back()) ||
        !std::equal(select.begin(), select.end(), head.begin(),
                    [](char s, char c) { return std::toupper(static_cast<unsigned char>(c)) == s; }))
        throw Error(ErrorCode::InvalidArgument, "Database::query runs a SELECT only; use read() or write()");
    Transaction tx = beginTransaction(engine_, Begin::Statement);
    Result rows = tx.query(sql, params);
    tx.commit();
    return rows;
}

void Database::pauseBeforeRetry(unsigned attempt) {
    // Jittered and growing, so colliding writers drift apart.
    thread_local std::minstd_rand random(std::random_device{}());
    const unsigned ceiling = std::min(2u << std::min(attempt, 6u), 100u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + random() % ceiling));
}

namespace {

constexpr const char* kVersionTable = "boxoffice_schema";

void checkComponent(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 64;
    for (char c : name)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
    if (!ok) throw Error(ErrorCode::InvalidArgument, "schema component name '" + std::string(name) + "' must match [a-z0-9_.-]{1,64}");
}

bool versionTableExists(Transaction& tx, Backend backend) {
    if (backend == Backend::Sqlite)
        return !tx.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", {kVersionTable}).empty();
    return tx.query("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = ? AND schemaname = current_schema()",
                    {kVersionTable})
        .size() == 1;
}

std::int64_t storedVersion(Transaction& tx, std::string_view component) {
    auto row = tx.query("SELECT version FROM boxoffice_schema WHERE component = ?", {component}).single();
    return row ? row->int64(0) : 0;
}

} // namespace

std::int64_t Database::schemaVersion(std::string_view component) {
    checkComponent(component);
    return read([&](Transaction& tx) -> std::int64_t {
        return versionTableExists(tx, backend()) ? storedVersion(tx, component) : 0;
    });
}

unsigned Database::migrate(const Schema& schema) {
    checkComponent(schema.component);
    const auto known = static_cast<std::int64_t>(schema.steps.size());
    for (unsigned attempt = 1;; ++attempt) {
        try {
            Transaction tx = beginTransaction(engine_, Begin::Migrate);
            // Under the migration lock (SQLite: the write lock), so no two migrators race here.
            tx.execute("CREATE TABLE IF NOT EXISTS boxoffice_schema (component TEXT PRIMARY KEY, version BIGINT NOT NULL)");
            const std::int64_t current = storedVersion(tx, schema.component);
            if (current > known)
                throw Error(ErrorCode::UnsupportedVersion,
                            "the '" + schema.component + "' schema of " + description() + " is version " +
                                std::to_string(current) + " but this program knows versions up to " +
                                std::to_string(known) + "; refusing to use a database written by newer software");
            for (auto v = current; v < known; ++v) {
                const MigrationStep& step = schema.steps[static_cast<std::size_t>(v)];
                const auto& statements = backend() == Backend::Postgres && !step.postgresStatements.empty()
                                             ? step.postgresStatements
                                             : step.statements;
                try {
                    for (const std::string& sql : statements) tx.execute(sql);
                    if (step.run) step.run(tx);
                } catch (const Error& e) {
                    if (dynamic_cast<const TransientError*>(&e)) throw;
                    throw Error(e.code(), "migration of '" + schema.component + "' to version " + std::to_string(v + 1) +
                                              " (" + step.description + ") failed: " + e.what());
                }
            }
            if (current != known)
                tx.execute("INSERT INTO boxoffice_schema (component, version) VALUES (?, ?) "
                           "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                           {schema.component, known});
            tx.commit();
            return static_cast<unsigned>(known - current);
        } catch (const TransientError&) {
            if (attempt >= maxAttempts()) throw;
            pauseBeforeRetry(attempt);
        }
    }
}

} // namespace boxoffice::storage
