#pragma once
// The phone's signed decision on a pending transaction (P-256 key registered at pairing).

#include <boxoffice/wire/Object.h>

namespace boxoffice::wire {

enum class Decision : std::uint8_t { Approve = 1, Decline = 2, NotMe = 3 };
std::string_view toString(Decision decision) noexcept;   // "approve", "decline", "not-me"

struct Approval {
    std::string transactionNumber;
    std::string orderId;
    std::string accountId;
    std::string phoneId;
    std::string payee;                   // shown to the user
    Amount amount = 0;
    std::string currency = "EUR";
    Decision decision = Decision::Approve;
    std::string oneTimePassword;         // OTP flow only; empty otherwise
    UnixTime decidedAt = 0;

    BOXOFFICE_WIRE_OBJECT(Approval, ObjectType::Approval, 1);
};

} // namespace boxoffice::wire
