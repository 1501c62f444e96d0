#pragma once
// Rewrites of SQL text between BoxOffice's one dialect and each backend's.
// Both walk the text skipping string literals, quoted identifiers, comments and
// PostgreSQL dollar-quoted bodies, so only real placeholders are touched.

#include <boxoffice/storage/Database.h>

#include <string>
#include <string_view>

namespace boxoffice::storage::detail {

// Replaces every `?` with $1..$n for PostgreSQL (SQLite keeps `?`) and checks
// that the statement has exactly `bound` placeholders (Error(InvalidArgument)).
std::string bindPlaceholders(std::string_view sql, std::size_t bound, Backend backend);

// Replaces the dialect placeholders {id_pk} {blob} {int64} {text}; an
// unknown {name} throws Error(InvalidArgument).
std::string expandDialect(std::string_view sql, Backend backend);

} // namespace boxoffice::storage::detail
