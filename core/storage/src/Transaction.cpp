#include <boxoffice/storage/Transaction.h>

#include "Engine.h"
#include "ErrorMapping.h"
#include "SqlText.h"

#include <boxoffice/base/Error.h>

#include <Poco/Data/LOB.h>
#include <Poco/Data/MetaColumn.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

namespace boxoffice::storage {

using namespace Poco::Data::Keywords;

// Migrations take this PostgreSQL advisory lock (transaction-scoped): "BoxOffic" in ASCII.
constexpr long long kMigrationLock = 0x426f784f66666963LL;

struct Transaction::State {
    std::shared_ptr<Database::Engine> engine;
    Access access = Access::Read;
    bool writerSlot = false;   // holds SQLite's writer mutex and session
    bool active = false;
    bool failed = false;       // a statement failed: only rollback is allowed
    std::exception_ptr broken; // a deferred statement failed so: only a full rollback is allowed
    bool healthy = true;       // the session may go back to the pool
    bool autocommit = false;   // PostgreSQL, Begin::Statement: no transaction block to end
    std::unique_ptr<Connection> connection;

    Backend backend() const { return engine->target.backend; }

    void run(const std::string& sql) {
        if (auto* statements = connection->statements.get()) {
            auto* prepared = statements->find(sql, 0);
            if (!prepared) prepared = statements->prepare(sql, sql);
            if (prepared) {
                statements->run(*prepared, {}, nullptr);
                return;
            }
        }
        if (connection->postgres) return connection->postgres->execute(sql);
        *connection->session << sql, now;
    }

    // A statement with nothing to wait for: PostgreSQL sends it with the next
    // one. Not after deferred writes: their failure must surface at this
    // statement (the release of their unit's savepoint), not in the next unit.
    void runDeferrable(std::string sql) {
        if (connection->postgres && !connection->postgres->holdsDeferredData())
            return connection->postgres->defer(std::move(sql));
        run(sql);
    }

    // A deferred statement failed where the statement carrying it ran: the same
    // Error as if it had run alone. A failed write aborts the transaction as a
    // failed statement does (a savepoint can still lift that); a failed control
    // statement leaves it past saving.
    [[noreturn]] void deferredFailed(const detail::DeferredStatementError& e) {
        failed = true;
        if (e.data) {
            try {
                std::rethrow_exception(e.cause);
            } catch (const Poco::Exception& cause) {
                detail::rethrowStorageError(cause, backend(), "statement failed on " + engine->target.description);
            }
        }
        const bool begin = e.statement.starts_with("BEGIN");
        if (begin) healthy = false;
        try {
            try {
                std::rethrow_exception(e.cause);
            } catch (const Poco::Exception& cause) {
                detail::rethrowStorageError(cause, backend(),
                                            begin ? "cannot begin a transaction on " + engine->target.description
                                                  : e.statement + " failed on " + engine->target.description);
            }
        } catch (...) {
            // E.g. a RELEASE that failed leaves the previous unit's savepoint
            // where rolling back to "the" savepoint would undo that unit too.
            broken = std::current_exception();
            throw;
        }
    }

    bool rolledBack() noexcept {
        try {
            run("ROLLBACK");
            return true;
        } catch (...) {
            return false;
        }
    }

    void end(const char* sql) {
        active = false;
        if (autocommit) return;
        if (connection->postgres && std::string_view(sql) == "ROLLBACK") connection->postgres->discardDeferredData();
        try {
            run(sql);
        } catch (const detail::DeferredStatementError& e) {
            // A write that failed with the COMMIT left the transaction aborted, not ended:
            // a ROLLBACK ends it and keeps the session. Anything else: drop the session.
            healthy = e.data && rolledBack();
            deferredFailed(e);
        } catch (const Poco::Exception& e) {
            healthy = false;
            detail::rethrowStorageError(e, backend(), std::string(sql) + " failed on " + engine->target.description);
        }
    }

    ~State() {
        if (connection) {
            if (active) {
                try {
                    end("ROLLBACK");
                } catch (...) {
                    healthy = false; // the session's state is unknown: drop it
                }
            }
            engine->release(std::move(connection), writerSlot, healthy);
        }
        if (writerSlot) {
            engine->writerThread.store(std::thread::id());
            engine->writerMutex.unlock();
        }
    }
};

Transaction beginTransaction(const std::shared_ptr<Database::Engine>& engine, Begin how) {
    auto state = std::make_unique<Transaction::State>();
    state->engine = engine;
    const bool reads = how == Begin::Read || how == Begin::Statement;
    state->access = reads ? Access::Read : Access::Write;
    const Backend backend = engine->target.backend;
    if (!reads && backend == Backend::Sqlite) {
        if (engine->writerThread.load() == std::this_thread::get_id())
            throw Error(ErrorCode::Internal, "nested write transaction on " + engine->target.description +
                                                 ": this thread already holds the one writer");
        if (!engine->writerMutex.try_lock_for(engine->options.sessionWait))
            throw TransientError("timed out waiting for the writer of " + engine->target.description);
        engine->writerThread.store(std::this_thread::get_id());
        state->writerSlot = true; // from here ~State unlocks
    }
    state->connection = engine->acquire(state->writerSlot);
    if (how == Begin::Statement && backend == Backend::Postgres) {
        // One statement is one snapshot by itself: no BEGIN/COMMIT, one round trip.
        state->autocommit = true;
        state->active = true;
        return Transaction(std::move(state));
    }
    const char* sql = nullptr;
    if (backend == Backend::Sqlite)
        sql = reads ? "BEGIN" : "BEGIN IMMEDIATE"; // take the write lock now, not at the first write
    else if (reads)
        sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    else if (how == Begin::Write) // READ WRITE: sessions default to read-only (see openPostgres)
        sql = "BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE";
    else // each statement sees what migrators before us committed
        sql = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE";
    try {
        state->runDeferrable(sql);
        state->active = true;
        if (how == Begin::Migrate && backend == Backend::Postgres)
            state->run("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
    } catch (const detail::DeferredStatementError& e) {
        state->deferredFailed(e);
    } catch (const Poco::Exception& e) {
        state->healthy = state->active || backend == Backend::Sqlite;
        detail::rethrowStorageError(e, backend, "cannot begin a transaction on " + engine->target.description);
    }
    return Transaction(std::move(state));
}

Transaction::Transaction(std::unique_ptr<State> state) : state_(std::move(state)) {}
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&&) noexcept = default;
Transaction::~Transaction() = default;

Access Transaction::access() const noexcept { return state_ ? state_->access : Access::Read; }
bool Transaction::active() const noexcept { return state_ && state_->active; }

namespace {

// Parameter storage that outlives the statement (Poco binds by reference).
struct Bound {
    explicit Bound(std::size_t n) {
        ints.reserve(n);
        texts.reserve(n);
        blobs.reserve(n);
        nulls.reserve(n);
    }
    std::vector<Poco::Int64> ints;
    std::vector<std::string> texts;
    std::vector<Poco::Data::BLOB> blobs;
    std::vector<Poco::Nullable<Poco::Int64>> nulls;
};

void bind(Poco::Data::Statement& st, Bound& b, const Value& v) {
    switch (v.kind()) {
    case Value::Kind::Null:
        b.nulls.emplace_back();
        st.addBind(use(b.nulls.back()));
        break;
    case Value::Kind::Integer:
        b.ints.push_back(v.asInt64());
        st.addBind(use(b.ints.back()));
        break;
    case Value::Kind::Text:
        b.texts.push_back(v.asText());
        st.addBind(use(b.texts.back()));
        break;
    case Value::Kind::Blob: {
        Bytes bytes = v.asBlob();
        if (bytes.empty()) {
            // Poco binds an empty BLOB as NULL on both backends; an empty string
            // arrives as an empty bytea/blob instead.
            b.texts.emplace_back();
            st.addBind(use(b.texts.back()));
        } else {
            b.blobs.emplace_back(bytes.data(), bytes.size());
            st.addBind(use(b.blobs.back()));
        }
        break;
    }
    }
}

Value cell(const Poco::Data::RecordSet& rs, std::size_t column, std::size_t row) {
    using MC = Poco::Data::MetaColumn;
    if (rs.isNull(column, row)) return {};
    const Poco::Dynamic::Var& v = rs.value(column, row);
    switch (rs.columnType(column)) {
    case MC::FDT_BOOL:
    case MC::FDT_INT8:
    case MC::FDT_UINT8:
    case MC::FDT_INT16:
    case MC::FDT_UINT16:
    case MC::FDT_INT32:
    case MC::FDT_UINT32:
    case MC::FDT_INT64:
    case MC::FDT_UINT64:
        return Value(v.convert<Poco::Int64>());
    case MC::FDT_BLOB: {
        const auto& blob = v.extract<Poco::Data::BLOB>();
        return Value(Bytes(blob.begin(), blob.end()));
    }
    case MC::FDT_STRING:
    case MC::FDT_WSTRING:
    case MC::FDT_CLOB:
    case MC::FDT_UNKNOWN:
        return Value(v.convert<std::string>());
    default:
        // Notably PostgreSQL's sum()/avg() of BIGINT, which are NUMERIC: silently
        // going through a double would lose money above 2^53.
        throw Error(ErrorCode::Storage, "column '" + rs.columnName(column) +
                                            "' is numeric, floating-point or a date, which the storage layer does "
                                            "not carry (only integer, text, blob): CAST it AS BIGINT or TEXT in the query");
    }
}

} // namespace

namespace {

// Runs one statement of an active transaction; returns the affected row count
// and, if `rows` is given, the rows it produced.
std::uint64_t runStatement(Transaction::State& state, std::string_view sql, const std::vector<Value>& params,
                           Result* rows, bool deferred = false) {
    if (!state.active) throw Error(ErrorCode::Internal, "statement on a transaction that has ended");
    if (state.failed)
        throw Error(ErrorCode::Storage, "statement on a transaction aborted by an earlier error; roll it back");
    auto* statements = state.connection->statements.get();
    auto* prepared = statements ? statements->find(sql, params.size()) : nullptr;
    auto* postgres = state.connection->postgres.get();
    auto* postgresPrepared = postgres ? postgres->find(sql, params.size()) : nullptr;
    std::string text;
    if (!prepared && !postgresPrepared)
        text = detail::bindPlaceholders(detail::expandDialect(sql, state.backend()), params.size(), state.backend());
    try {
        if (postgres) {
            if (!postgresPrepared) postgresPrepared = postgres->prepare(sql, text, params.size());
            if (deferred) {
                postgres->defer(*postgresPrepared, params, sql);
                return 0;
            }
            return postgres->run(*postgresPrepared, params, rows);
        }
        if (statements && !prepared) prepared = statements->prepare(sql, text);
        if (prepared) return statements->run(*prepared, params, rows);
        Poco::Data::Statement st(*state.connection->session);
        st << text;
        Bound bound(params.size());
        for (const Value& v : params) bind(st, bound, v);
        const std::size_t affected = st.execute();
        if (rows) {
            Poco::Data::RecordSet rs(st);
            auto names = std::make_shared<std::vector<std::string>>();
            for (std::size_t c = 0; c < rs.columnCount(); ++c) names->push_back(rs.columnName(c));
            std::vector<Row> out;
            out.reserve(rs.rowCount());
            for (std::size_t r = 0; r < rs.rowCount(); ++r) {
                std::vector<Value> values;
                values.reserve(names->size());
                for (std::size_t c = 0; c < names->size(); ++c) values.push_back(cell(rs, c, r));
                out.emplace_back(names, std::move(values));
            }
            *rows = Result(names, std::move(out));
        }
        return affected;
    } catch (const detail::DeferredStatementError& e) {
        state.deferredFailed(e);
    } catch (const Poco::Exception& e) {
        state.failed = true;
        detail::rethrowStorageError(e, state.backend(), "statement failed on " + state.engine->target.description);
    } catch (...) {
        state.failed = true;
        throw;
    }
}

} // namespace

std::uint64_t Transaction::execute(std::string_view sql, const std::vector<Value>& params) {
    if (!state_) throw Error(ErrorCode::Internal, "statement on a moved-from transaction");
    return runStatement(*state_, sql, params, nullptr);
}

void Transaction::executeDeferred(std::string_view sql, const std::vector<Value>& params) {
    if (!state_) throw Error(ErrorCode::Internal, "statement on a moved-from transaction");
    runStatement(*state_, sql, params, nullptr, true);
}

Result Transaction::query(std::string_view sql, const std::vector<Value>& params) {
    if (!state_) throw Error(ErrorCode::Internal, "statement on a moved-from transaction");
    Result rows;
    runStatement(*state_, sql, params, &rows);
    return rows;
}

void Transaction::commit() {
    if (!active()) throw Error(ErrorCode::Internal, "commit on a transaction that is not active");
    if (state_->failed) {
        state_->end("ROLLBACK");
        throw Error(ErrorCode::Storage, "commit after a failed statement: the transaction was rolled back");
    }
    state_->end("COMMIT");
}

void Transaction::rollback() {
    if (!active()) return;
    state_->end("ROLLBACK");
}

namespace {

// Runs a savepoint statement; bypasses the aborted state on purpose (that is
// what rolling back to a savepoint is for). A failure leaves the transaction
// unusable: only a full rollback remains. Deferred, it fails at the statement
// that carries it, the same way.
void runSavepointStatement(Transaction::State& state, const char* sql, bool deferrable) {
    if (!state.active) throw Error(ErrorCode::Internal, std::string(sql) + " on a transaction that is not active");
    if (state.broken) std::rethrow_exception(state.broken);
    try {
        if (deferrable)
            state.runDeferrable(sql);
        else
            state.run(sql);
    } catch (const detail::DeferredStatementError& e) {
        state.deferredFailed(e);
    } catch (const Poco::Exception& e) {
        state.failed = true;
        detail::rethrowStorageError(e, state.backend(), std::string(sql) + " failed on " + state.engine->target.description);
    }
}

} // namespace

void Transaction::savepoint() {
    if (!state_) throw Error(ErrorCode::Internal, "savepoint on a moved-from transaction");
    if (state_->failed) throw Error(ErrorCode::Storage, "savepoint on a transaction aborted by an earlier error");
    runSavepointStatement(*state_, "SAVEPOINT boxoffice_unit", true);
}

void Transaction::rollbackToSavepoint() {
    if (!state_) throw Error(ErrorCode::Internal, "rollback to savepoint on a moved-from transaction");
    if (auto* postgres = state_->connection ? state_->connection->postgres.get() : nullptr)
        postgres->discardDeferredData(); // undone anyway; a failure among them must not fail the rollback
    runSavepointStatement(*state_, "ROLLBACK TO SAVEPOINT boxoffice_unit", false);
    state_->failed = false;
    runSavepointStatement(*state_, "RELEASE SAVEPOINT boxoffice_unit", true);
}

void Transaction::releaseSavepoint() {
    if (!state_) throw Error(ErrorCode::Internal, "release savepoint on a moved-from transaction");
    if (state_->failed) throw Error(ErrorCode::Storage, "release of a savepoint after a failed statement; roll back to it");
    runSavepointStatement(*state_, "RELEASE SAVEPOINT boxoffice_unit", true);
}

} // namespace boxoffice::storage
