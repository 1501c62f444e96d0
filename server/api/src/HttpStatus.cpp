#include "HttpStatus.h"

namespace boxoffice::serverapi {

int httpStatusFor(ErrorCode code) noexcept
{
    switch (code) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::Malformed:
    case ErrorCode::UnsupportedVersion:
    case ErrorCode::NotYetValid:
    case ErrorCode::ClockRollback: return 400;
    case ErrorCode::BadSignature: return 401;
    case ErrorCode::PermissionDenied:
    case ErrorCode::Revoked:
    case ErrorCode::WrongAudience: return 403;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::AlreadyExists:
    case ErrorCode::Conflict:
    case ErrorCode::Replayed: return 409;
    case ErrorCode::Expired: return 410;
    case ErrorCode::LimitExceeded: return 429;
    case ErrorCode::Unavailable: return 503;
    case ErrorCode::Storage:
    case ErrorCode::Crypto:
    case ErrorCode::Io:
    case ErrorCode::Internal: return 500;
    }
    return 500;
}

} // namespace boxoffice::serverapi
