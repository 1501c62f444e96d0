#include "ErrorMapping.h"

#include <boxoffice/storage/TransientError.h>

#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/SQLite/SQLiteException.h>

namespace boxoffice::storage::detail {

namespace {

// Poco::Data::PostgreSQL puts the SQLSTATE into its message as "State: XXXXX".
std::string sqlState(const std::string& message) {
    auto at = message.find("State: ");
    if (at == std::string::npos || at + 12 > message.size()) return {};
    return message.substr(at + 7, 5);
}

} // namespace

void rethrowStorageError(const Poco::Exception& e, Backend backend, std::string_view context) {
    const std::string message = std::string(context) + ": " + e.displayText();
    if (backend == Backend::Sqlite) {
        if (dynamic_cast<const Poco::Data::SQLite::ConstraintViolationException*>(&e)) {
            if (e.displayText().find("UNIQUE constraint failed") != std::string::npos)
                throw Error(ErrorCode::AlreadyExists, message);
            throw Error(ErrorCode::Conflict, message);
        }
        if (dynamic_cast<const Poco::Data::SQLite::DBLockedException*>(&e) ||
            dynamic_cast<const Poco::Data::SQLite::TableLockedException*>(&e))
            throw TransientError(message);
        throw Error(ErrorCode::Storage, message);
    }
    const std::string state = sqlState(e.displayText());
    if (state == "23505") throw Error(ErrorCode::AlreadyExists, message);
    if (state.starts_with("23")) throw Error(ErrorCode::Conflict, message);
    if (state == "40001" || state == "40P01") throw TransientError(message);
    if (state.starts_with("08") || dynamic_cast<const Poco::Data::PostgreSQL::ConnectionException*>(&e))
        throw Error(ErrorCode::Unavailable, message);
    throw Error(ErrorCode::Storage, message);
}

} // namespace boxoffice::storage::detail
