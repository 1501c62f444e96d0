#pragma once
// A refusal the TV can explain: the JSON-RPC error carries the contract's reason
// keyword in error.data.reason (and, for the PIN, attemptsLeft / lockedUntil);
// the message also starts with it ("pin-wrong: wrong PIN, 2 attempts left") for
// logs and clients that only read the message.

#include <boxoffice/rpc/DetailedError.h>

#include <string>
#include <utility>
#include <vector>

namespace boxoffice::plugins::ppv {

class Refusal : public rpc::DetailedError {
public:
    Refusal(ErrorCode code, std::string reason, const std::string& text, std::vector<Detail> extra = {})
        : rpc::DetailedError(code, reason + ": " + text, withReason(reason, std::move(extra))),
          reason_(std::move(reason)) {}
    const std::string& reason() const noexcept { return reason_; }

private:
    static std::vector<Detail> withReason(const std::string& reason, std::vector<Detail> extra)
    {
        extra.insert(extra.begin(), Detail{"reason", reason});
        return extra;
    }

    std::string reason_;
};

} // namespace boxoffice::plugins::ppv
