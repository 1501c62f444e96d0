#pragma once
// The one error type of BoxOffice. Every module throws boxoffice::Error (or lets
// a library exception propagate to a boundary that converts it); callers branch
// on code(), people read what().

#include <stdexcept>
#include <string>
#include <string_view>

namespace boxoffice {

enum class ErrorCode {
    InvalidArgument,   // a caller passed something unusable
    Malformed,         // an encoded object, packet or message does not parse
    UnsupportedVersion,
    BadSignature,
    NotYetValid,
    Expired,
    Revoked,
    WrongAudience,     // bound to another device / account / ticket
    Replayed,
    ClockRollback,
    NotFound,
    AlreadyExists,
    Conflict,          // same idempotency id, different parameters
    PermissionDenied,
    LimitExceeded,     // size, rate or attempt limits
    Unavailable,       // dependency down, not started, timed out
    Storage,
    Crypto,
    Io,
    Internal,
};

std::string_view toString(ErrorCode code) noexcept;
// The inverse of toString, for errors that crossed a wire as their keyword.
ErrorCode errorCodeFromString(std::string_view keyword) noexcept;  // unknown: Internal

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message);

    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

} // namespace boxoffice
