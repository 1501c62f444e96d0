#pragma once
// The server's signed answer to an uploaded history: every record of this device up
// to and including `settledThrough` is settled. The phone relays it and cannot alter it.

#include <boxoffice/wire/Object.h>

#include <array>

namespace boxoffice::wire {

struct SettlementResult {
    std::string settlementId;
    std::string deviceId;
    std::uint64_t settledThrough = 0;             // highest history sequence covered
    std::array<std::uint8_t, 32> lastRecordHash{}; // SHA-256 of that record's encoding
    std::uint32_t recordCount = 0;
    Amount totalAmount = 0;
    std::string currency = "EUR";
    UnixTime settledAt = 0;

    BOXOFFICE_WIRE_OBJECT(SettlementResult, ObjectType::SettlementResult, 1);
};

} // namespace boxoffice::wire
