#include "SqliteStatements.h"

#include <boxoffice/base/Error.h>

#include <Poco/Data/SQLite/Utility.h>

#include <sqlite3.h>

#include <cctype>

namespace boxoffice::storage::detail {

namespace {

// The code's statements are a fixed set; the bound only matters if some caller
// ever builds SQL text with values in it.
constexpr std::size_t kMaxStatements = 512;

[[noreturn]] void fail(sqlite3* db, int rc) {
    // Poco's mapping takes primary result codes.
    Poco::Data::SQLite::Utility::throwException(db, rc & 0xff);
    throw Error(ErrorCode::Storage, "SQLite error " + std::to_string(rc)); // not reached
}

std::shared_ptr<const std::vector<std::string>> columnsOf(sqlite3_stmt* statement) {
    auto names = std::make_shared<std::vector<std::string>>();
    const int n = sqlite3_column_count(statement);
    for (int c = 0; c < n; ++c) names->emplace_back(sqlite3_column_name(statement, c));
    return names;
}

Value cell(sqlite3_stmt* statement, int column, const std::vector<std::string>& names) {
    switch (sqlite3_column_type(statement, column)) {
    case SQLITE_NULL: return {};
    case SQLITE_INTEGER: return Value(static_cast<std::int64_t>(sqlite3_column_int64(statement, column)));
    case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
        return Value(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column))));
    }
    case SQLITE_BLOB: {
        const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement, column));
        return Value(Bytes(data, data + sqlite3_column_bytes(statement, column)));
    }
    default:
        // Going through a double would lose money above 2^53.
        throw Error(ErrorCode::Storage, "column '" + names.at(static_cast<std::size_t>(column)) +
                                            "' is floating-point, which the storage layer does not carry (only "
                                            "integer, text, blob): CAST it AS BIGINT or TEXT in the query");
    }
}

} // namespace

SqliteStatements::~SqliteStatements() {
    for (auto& [sql, prepared] : cache_) sqlite3_finalize(prepared.statement);
}

SqliteStatements::Prepared* SqliteStatements::find(std::string_view sql, std::size_t bound) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) return nullptr;
    // A different count goes the uncached way, which reports it.
    if (static_cast<std::size_t>(sqlite3_bind_parameter_count(it->second.statement)) != bound) return nullptr;
    return &it->second;
}

SqliteStatements::Prepared* SqliteStatements::prepare(std::string_view sql, const std::string& sqliteText) {
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sqliteText.c_str(), static_cast<int>(sqliteText.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &statement, &tail);
    if (rc != SQLITE_OK) fail(db_, rc);
    bool single = statement != nullptr;
    for (; single && tail && *tail; ++tail)
        if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';') single = false;
    if (!single) {
        sqlite3_finalize(statement);
        return nullptr;
    }
    if (cache_.size() >= kMaxStatements) {
        for (auto& [text, prepared] : cache_) sqlite3_finalize(prepared.statement);
        cache_.clear();
    }
    auto [it, inserted] = cache_.emplace(std::string(sql), Prepared{statement, columnsOf(statement)});
    if (!inserted) { // same text with another number of values: keep the newer
        sqlite3_finalize(it->second.statement);
        it->second = Prepared{statement, columnsOf(statement)};
    }
    return &it->second;
}

std::uint64_t SqliteStatements::run(Prepared& prepared, const std::vector<Value>& params, Result* rows) {
    sqlite3_stmt* st = prepared.statement;
    // Reset even on failure: a statement left mid-way would hold its read snapshot.
    struct Reset {
        sqlite3_stmt* st;
        ~Reset() {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
    } reset{st};
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int at = static_cast<int>(i + 1);
        const Value& v = params[i];
        int rc = SQLITE_OK;
        switch (v.kind()) {
        case Value::Kind::Null: rc = sqlite3_bind_null(st, at); break;
        case Value::Kind::Integer: rc = sqlite3_bind_int64(st, at, v.asInt64()); break;
        case Value::Kind::Text: {
            const auto text = v.asText();
            rc = sqlite3_bind_text64(st, at, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        }
        case Value::Kind::Blob: {
            const auto bytes = v.asBlob();
            // An empty blob is stored as empty text, as the Poco::Data path stores it.
            rc = bytes.empty() ? sqlite3_bind_text(st, at, "", 0, SQLITE_STATIC)
                               : sqlite3_bind_blob64(st, at, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
            break;
        }
        }
        if (rc != SQLITE_OK) fail(db_, rc);
    }
    std::vector<Row> out;
    std::uint64_t read = 0;
    for (;;) {
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) fail(db_, rc);
        ++read;
        if (!rows) continue;
        const int n = sqlite3_column_count(st);
        // After a schema change SQLite prepares the statement again; its columns may differ.
        if (static_cast<std::size_t>(n) != prepared.columns->size()) prepared.columns = columnsOf(st);
        std::vector<Value> values;
        values.reserve(static_cast<std::size_t>(n));
        for (int c = 0; c < n; ++c) values.push_back(cell(st, c, *prepared.columns));
        out.emplace_back(prepared.columns, std::move(values));
    }
    if (rows) *rows = Result(prepared.columns, std::move(out));
    return sqlite3_stmt_readonly(st) ? read : static_cast<std::uint64_t>(sqlite3_changes(db_));
}

} // namespace boxoffice::storage::detail
