#pragma once
// A refusal the TV can explain: an Error whose message starts with one of the
// contract's reason keywords ("pin-wrong: the PIN is wrong, 2 attempts left").
// The JSON-RPC dispatcher puts the ErrorCode keyword in error.data.error; the
// reason keyword is the message's first word until the dispatcher can carry it
// in error.data.reason.

#include <boxoffice/base/Error.h>

#include <string>

namespace boxoffice::plugins::ppv {

class Refusal : public Error {
public:
    Refusal(ErrorCode code, std::string reason, const std::string& text)
        : Error(code, reason + ": " + text), reason_(std::move(reason)) {}
    const std::string& reason() const noexcept { return reason_; }

private:
    std::string reason_;
};

} // namespace boxoffice::plugins::ppv
