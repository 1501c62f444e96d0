#pragma once
// An error a JSON-RPC client can act on beyond its ErrorCode: the handler adds
// fields to the error object's `data` (next to `data.error`, which it cannot
// replace), e.g. the reason keyword of a refusal and the attempts left:
//
//   throw rpc::DetailedError(ErrorCode::PermissionDenied, "pin-wrong: wrong PIN",
//                            {{"reason", "pin-wrong"}, {"attemptsLeft", 2}});

#include <boxoffice/base/Error.h>

#include <Poco/Dynamic/Var.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::rpc {

class DetailedError : public Error {
public:
    using Detail = std::pair<std::string, Poco::Dynamic::Var>;

    DetailedError(ErrorCode code, const std::string& message, std::initializer_list<Detail> details)
        : Error(code, message), details_(details) {}
    DetailedError(ErrorCode code, const std::string& message, std::vector<Detail> details)
        : Error(code, message), details_(std::move(details)) {}

    const std::vector<Detail>& details() const noexcept { return details_; }

private:
    std::vector<Detail> details_;
};

} // namespace boxoffice::rpc
