#include <boxoffice/rpc/ErrorMapping.h>

namespace boxoffice::rpc {

ErrorObject toErrorObject(const Error& error)
{
    const std::string keyword(toString(error.code()));
    switch (error.code()) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::Malformed:
        return {InvalidParams, error.what(), keyword};
    case ErrorCode::PermissionDenied:
        return {Forbidden, error.what(), keyword};
    case ErrorCode::LimitExceeded:
        return {LimitExceeded, error.what(), keyword};
    case ErrorCode::Internal:
        // Internal details stay in the log.
        return {InternalError, "Internal error", keyword};
    default:
        return {ApplicationError, error.what(), keyword};
    }
}

} // namespace boxoffice::rpc
