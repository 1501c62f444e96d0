#pragma once
// JSON-RPC error codes of the control API, and how boxoffice::Error maps onto them.
//
// Standard (JSON-RPC 2.0):      -32700 parse error, -32600 invalid request,
//                               -32601 method not found, -32602 invalid params,
//                               -32603 internal error.
// BoxOffice (server range):     -32001 unauthorized (missing or unknown token),
//                               -32002 forbidden (token lacks the method's scope),
//                               -32003 limit exceeded (rate, size, attempts),
//                               -32000 any other application error.
// Every error object carries data.error, a stable keyword (see base/Error.h
// toString) clients can branch on.

#include <boxoffice/base/Error.h>

#include <string>

namespace boxoffice::rpc {

enum Code : int {
    ParseError = -32700,
    InvalidRequest = -32600,
    MethodNotFound = -32601,
    InvalidParams = -32602,
    InternalError = -32603,
    ApplicationError = -32000,
    Unauthorized = -32001,
    Forbidden = -32002,
    LimitExceeded = -32003,
};

struct ErrorObject {
    int code;
    std::string message;
    std::string keyword;  // data.error
};

ErrorObject toErrorObject(const Error& error);

} // namespace boxoffice::rpc
