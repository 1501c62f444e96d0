#include "PostgresStatements.h"

#include <boxoffice/base/Error.h>

#include <Poco/Data/PostgreSQL/PostgreSQLException.h>

#include <libpq-fe.h>

#include <charconv>

namespace boxoffice::storage::detail {

namespace {

// The code's statements are a fixed set; the bound only matters if some caller
// ever builds SQL text with values in it.
constexpr std::size_t kMaxStatements = 512;

// Type OIDs (pg_type.dat) the storage layer reads specially.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26;
constexpr Oid kFloat4 = 700, kFloat8 = 701, kNumeric = 1700;

struct ResultFree {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultFree>;

// Same message shape as Poco's ("... State: XXXXX ..."): ErrorMapping reads the SQLSTATE from it.
[[noreturn]] void fail(PGconn* conn, const PGresult* result, std::string_view what) {
    if (!result || PQstatus(conn) != CONNECTION_OK)
        throw Poco::Data::PostgreSQL::ConnectionException(std::string(what) + ": " + PQerrorMessage(conn));
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    throw Poco::Data::PostgreSQL::StatementException(std::string(what) + ": " + PQresultErrorMessage(result) +
                                                     " State: " + (state ? state : "N/A"));
}

ResultPtr check(PGconn* conn, PGresult* raw, std::string_view what) {
    ResultPtr result(raw);
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(conn, result.get(), what);
    return result;
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

PostgresStatements::Prepared* PostgresStatements::find(std::string_view sql, std::size_t bound) {
    auto it = cache_.find(sql);
    // A different count goes the uncached way, which reports it.
    if (it == cache_.end() || it->second.parameters != bound) return nullptr;
    return &it->second;
}

PostgresStatements::Prepared* PostgresStatements::prepare(std::string_view sql, const std::string& postgresText,
                                                          std::size_t bound) {
    if (cache_.size() >= kMaxStatements) {
        check(conn_, PQexec(conn_, "DEALLOCATE ALL"), "DEALLOCATE ALL");
        cache_.clear();
    }
    Prepared prepared{"boxoffice_" + std::to_string(++next_), bound};
    check(conn_, PQprepare(conn_, prepared.name.c_str(), postgresText.c_str(), static_cast<int>(bound), nullptr),
          "prepare");
    auto [it, inserted] = cache_.insert_or_assign(std::string(sql), std::move(prepared));
    return &it->second;
}

std::uint64_t PostgresStatements::run(const Prepared& prepared, const std::vector<Value>& params, Result* rows) {
    // Integers and text as text, blobs as binary (no escaping).
    std::vector<std::string> storage(params.size());
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
            storage[i] = v.asText();
            values[i] = storage[i].c_str();
            lengths[i] = static_cast<int>(storage[i].size());
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
    auto result = check(conn_,
                        PQexecPrepared(conn_, prepared.name.c_str(), static_cast<int>(params.size()), values.data(),
                                       lengths.data(), formats.data(), 0),
                        "statement");
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

void PostgresStatements::execute(const std::string& sql) { check(conn_, PQexec(conn_, sql.c_str()), sql); }

} // namespace boxoffice::storage::detail
