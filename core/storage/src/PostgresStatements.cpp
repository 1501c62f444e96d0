#include "PostgresStatements.h"

#include <boxoffice/base/Error.h>

#include <Poco/Data/PostgreSQL/PostgreSQLException.h>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>

namespace boxoffice::storage::detail {

namespace {

// The code's statements are a fixed set; the bound only matters if some caller
// ever builds SQL text with values in it.
constexpr std::size_t kMaxStatements = 512;

// Type OIDs (pg_type.dat) the storage layer reads specially.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26;
constexpr Oid kFloat4 = 700, kFloat8 = 701, kNumeric = 1700;

// Same message shape as Poco's ("... State: XXXXX ..."): ErrorMapping reads the SQLSTATE from it.
[[noreturn]] void fail(PGconn* conn, const PGresult* result, std::string_view what) {
    if (!result || PQstatus(conn) != CONNECTION_OK)
        throw Poco::Data::PostgreSQL::ConnectionException(std::string(what) + ": " + PQerrorMessage(conn));
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    throw Poco::Data::PostgreSQL::StatementException(std::string(what) + ": " + PQresultErrorMessage(result) +
                                                     " State: " + (state ? state : "N/A"));
}

bool succeeded(const PGresult* result) {
    const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// What fail() throws, kept (Poco's clone() would slice it to PostgreSQLException).
std::exception_ptr failure(PGconn* conn, const PGresult* result, std::string_view what) {
    try {
        fail(conn, result, what);
    } catch (...) {
        return std::current_exception();
    }
}

Value cell(const PGresult* result, int row, int column) {
    if (PQgetisnull(result, row, column)) return {};
    const char* text = PQgetvalue(result, row, column);
    const auto length = static_cast<std::size_t>(PQgetlength(result, row, column));
    switch (PQftype(result, column)) {
    case kBool: return Value(std::int64_t{text[0] == 't' ? 1 : 0});
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(text, text + length, v);
        if (ec != std::errc() || end != text + length)
            throw Error(ErrorCode::Storage, "column '" + std::string(PQfname(result, column)) + "': bad integer");
        return Value(v);
    }
    case kBytea: {
        std::size_t size = 0;
        std::unique_ptr<unsigned char, decltype(&PQfreemem)> bytes(
            PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size), &PQfreemem);
        if (!bytes) throw Error(ErrorCode::Storage, "out of memory reading a bytea column");
        return Value(Bytes(bytes.get(), bytes.get() + size));
    }
    case kFloat4:
    case kFloat8:
    case kNumeric:
        // Notably sum()/avg() of BIGINT, which are NUMERIC: going through a
        // double would lose money above 2^53.
        throw Error(ErrorCode::Storage, "column '" + std::string(PQfname(result, column)) +
                                            "' is numeric or floating-point, which the storage layer does not carry "
                                            "(only integer, text, blob): CAST it AS BIGINT or TEXT in the query");
    default: return Value(std::string(text, length));
    }
}

} // namespace

DeferredStatementError::DeferredStatementError(std::string sql, std::exception_ptr e, bool isData)
    : std::runtime_error(sql + " failed"), statement(std::move(sql)), cause(std::move(e)), data(isData) {}

void PostgresStatements::ResultFree::operator()(PGresult* r) const noexcept { PQclear(r); }

template <class F> PostgresStatements::ResultPtr PostgresStatements::exchange(F&& send, std::string_view what) {
    std::vector<Deferred> deferred;
    deferred.swap(deferred_);
    auto deferredFailed = [&](const Deferred& d, const PGresult* result) {
        return DeferredStatementError(d.sql, failure(conn_, result, d.sql), !d.prepared.empty());
    };
    // A broken connection is blamed on the first statement sent: nothing is known to have run.
    auto lost = [&]() -> ResultPtr {
        cutOff_ = true;
        if (deferred.empty()) fail(conn_, nullptr, what);
        throw deferredFailed(deferred.front(), nullptr);
    };
    if (!PQenterPipelineMode(conn_)) return lost();
    bool sent = true;
    for (const Deferred& d : deferred) sent = sent && this->send(d);
    sent = sent && send() && PQpipelineSync(conn_); // the sync also flushes: one write for all
    if (!sent) return lost();
    // One result per statement, each followed by a null; after an error the
    // rest are PGRES_PIPELINE_ABORTED. Read them all, then the sync's.
    std::size_t failedAt = 0;
    ResultPtr failed, last;
    for (std::size_t i = 0; i <= deferred.size(); ++i) {
        ResultPtr result(PQgetResult(conn_));
        if (!result) return lost();
        while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
        if (!failed && !succeeded(result.get())) {
            failedAt = i;
            failed = std::move(result);
        } else if (i == deferred.size()) {
            last = std::move(result);
        }
    }
    ResultPtr sync(PQgetResult(conn_));
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(conn_)) return lost();
    if (failed && failedAt < deferred.size()) throw deferredFailed(deferred[failedAt], failed.get());
    if (failed) fail(conn_, failed.get(), what);
    return last;
}

PostgresStatements::Prepared* PostgresStatements::find(std::string_view sql, std::size_t bound) {
    auto it = cache_.find(sql);
    // A different count goes the uncached way, which reports it.
    if (it == cache_.end() || it->second.parameters != bound) return nullptr;
    return &it->second;
}

PostgresStatements::Prepared* PostgresStatements::prepare(std::string_view sql, const std::string& postgresText,
                                                          std::size_t bound) {
    if (cache_.size() >= kMaxStatements) {
        exchange([&] { return PQsendQueryParams(conn_, "DEALLOCATE ALL", 0, nullptr, nullptr, nullptr, nullptr, 0); },
                 "DEALLOCATE ALL");
        cache_.clear();
    }
    Prepared prepared{"boxoffice_" + std::to_string(++next_), bound};
    exchange(
        [&] {
            return PQsendPrepare(conn_, prepared.name.c_str(), postgresText.c_str(), static_cast<int>(bound), nullptr);
        },
        "prepare");
    auto [it, inserted] = cache_.insert_or_assign(std::string(sql), std::move(prepared));
    return &it->second;
}

bool PostgresStatements::sendPrepared(const std::string& name, const std::vector<Value>& params) {
    // Integers and text as text, blobs as binary (no escaping). libpq copies
    // the values into its output buffer before it returns.
    std::vector<std::string> texts(params.size());
    std::vector<Bytes> blobs(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    std::vector<int> formats(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Value& v = params[i];
        switch (v.kind()) {
        case Value::Kind::Null: break;
        case Value::Kind::Integer:
        case Value::Kind::Text:
            texts[i] = v.asText();
            values[i] = texts[i].c_str();
            lengths[i] = static_cast<int>(texts[i].size());
            break;
        case Value::Kind::Blob:
            blobs[i] = v.asBlob();
            values[i] = reinterpret_cast<const char*>(blobs[i].data());
            lengths[i] = static_cast<int>(blobs[i].size());
            formats[i] = 1;
            if (!values[i]) values[i] = ""; // empty, not NULL
            break;
        }
    }
    return PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values.data(), lengths.data(),
                               formats.data(), 0);
}

bool PostgresStatements::send(const Deferred& d) {
    if (!d.prepared.empty()) return sendPrepared(d.prepared, d.params);
    return PQsendQueryParams(conn_, d.sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
}

std::uint64_t PostgresStatements::run(const Prepared& prepared, const std::vector<Value>& params, Result* rows) {
    auto result = exchange([&] { return sendPrepared(prepared.name, params); }, "statement");
    const int n = PQntuples(result.get());
    if (rows) {
        const int columns = PQnfields(result.get());
        auto names = std::make_shared<std::vector<std::string>>();
        for (int c = 0; c < columns; ++c) names->emplace_back(PQfname(result.get(), c));
        std::vector<Row> out;
        out.reserve(static_cast<std::size_t>(n));
        for (int r = 0; r < n; ++r) {
            std::vector<Value> cells(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) cells[static_cast<std::size_t>(c)] = cell(result.get(), r, c);
            out.emplace_back(names, std::move(cells));
        }
        *rows = Result(names, std::move(out));
    }
    const char* changed = PQcmdTuples(result.get());
    if (!changed || !*changed) return static_cast<std::uint64_t>(n);
    std::uint64_t count = 0;
    std::from_chars(changed, changed + std::char_traits<char>::length(changed), count);
    return count;
}

void PostgresStatements::execute(const std::string& sql) {
    exchange([&] { return PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0); }, sql);
}

void PostgresStatements::defer(std::string sql) { deferred_.push_back({std::move(sql), {}, {}}); }

void PostgresStatements::defer(const Prepared& prepared, const std::vector<Value>& params, std::string_view sql) {
    deferred_.push_back({std::string(sql), prepared.name, params});
}

PostgresStatements::~PostgresStatements() { PQfinish(conn_); }

bool PostgresStatements::usable() const noexcept { return !cutOff_ && PQstatus(conn_) == CONNECTION_OK; }

bool PostgresStatements::holdsDeferredData() const noexcept {
    return std::any_of(deferred_.begin(), deferred_.end(), [](const Deferred& d) { return !d.prepared.empty(); });
}

void PostgresStatements::discardDeferredData() noexcept {
    std::erase_if(deferred_, [](const Deferred& d) { return !d.prepared.empty(); });
}

} // namespace boxoffice::storage::detail
