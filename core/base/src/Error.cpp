#include <boxoffice/base/Error.h>

namespace boxoffice {

std::string_view toString(ErrorCode code) noexcept
{
    switch (code) {
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::Malformed: return "malformed";
    case ErrorCode::UnsupportedVersion: return "unsupported version";
    case ErrorCode::BadSignature: return "bad signature";
    case ErrorCode::NotYetValid: return "not yet valid";
    case ErrorCode::Expired: return "expired";
    case ErrorCode::Revoked: return "revoked";
    case ErrorCode::WrongAudience: return "wrong audience";
    case ErrorCode::Replayed: return "replayed";
    case ErrorCode::ClockRollback: return "clock rollback";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::AlreadyExists: return "already exists";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::PermissionDenied: return "permission denied";
    case ErrorCode::LimitExceeded: return "limit exceeded";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Storage: return "storage";
    case ErrorCode::Crypto: return "crypto";
    case ErrorCode::Io: return "i/o";
    case ErrorCode::Internal: return "internal";
    }
    return "unknown";
}

ErrorCode errorCodeFromString(std::string_view keyword) noexcept
{
    for (int i = 0; i <= static_cast<int>(ErrorCode::Internal); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        if (toString(code) == keyword) return code;
    }
    return ErrorCode::Internal;
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code)
{
}

} // namespace boxoffice
