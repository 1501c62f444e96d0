#pragma once
// Parses a BoxOffice connection string into what a Poco::Data connector takes.

#include <boxoffice/storage/Database.h>

#include <string>
#include <string_view>

namespace boxoffice::storage::detail {

struct ConnectionTarget {
    Backend backend;
    std::string connector;   // Poco::Data connector name
    std::string target;      // SQLite: file path; PostgreSQL: key=value list (may hold the password)
    std::string description; // for messages and logs: never holds the password
};

// Throws Error(InvalidArgument) naming the problem (never echoing a password).
ConnectionTarget parseConnection(std::string_view text, const Options& options);

} // namespace boxoffice::storage::detail
