#pragma once
// The phone's signed acknowledgement of a receipt (closes the purchase).

#include <boxoffice/wire/Object.h>

namespace boxoffice::wire {

struct Acknowledgement {
    std::string receiptId;
    std::string orderId;
    std::string phoneId;
    std::string acknowledgeCode;         // OTP flow's acknowledge code; empty otherwise
    UnixTime acknowledgedAt = 0;

    BOXOFFICE_WIRE_OBJECT(Acknowledgement, ObjectType::Acknowledgement, 1);
};

} // namespace boxoffice::wire
