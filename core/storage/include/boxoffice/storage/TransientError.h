#pragma once
// A failure that retrying the whole transaction can cure: SQLite busy/locked,
// PostgreSQL serialization failure (40001) or deadlock (40P01). Its code() is
// ErrorCode::Unavailable, so callers that do not care see an ordinary Error;
// Database::write() catches exactly this type and runs the work again.

#include <boxoffice/base/Error.h>

namespace boxoffice::storage {

class TransientError : public Error {
public:
    explicit TransientError(const std::string& message) : Error(ErrorCode::Unavailable, message) {}
};

} // namespace boxoffice::storage
