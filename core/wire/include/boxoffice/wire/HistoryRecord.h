#pragma once
// One entry of an STB's billing history, signed by the device. Records form a hash
// chain (previousHash = SHA-256 of the previous record's encoding, zeros for the
// first) with gapless sequence numbers from 1, so removal or reordering shows.

#include <boxoffice/wire/Object.h>

#include <array>

namespace boxoffice::wire {

enum class HistoryKind : std::uint8_t { Purchase = 1, Play = 2, Preview = 3, Refund = 4, GiftReceived = 5 };
std::string_view toString(HistoryKind kind) noexcept;

struct HistoryRecord {
    std::string deviceId;
    std::uint64_t sequence = 1;
    std::array<std::uint8_t, 32> previousHash{};
    UnixTime recordedAt = 0;
    HistoryKind kind = HistoryKind::Purchase;
    std::string eventId;
    std::string ticketId;                // may be empty (e.g. a purchase not yet ticketed)
    std::string orderId;                 // may be empty
    Amount amount = 0;
    std::string currency = "EUR";

    BOXOFFICE_WIRE_OBJECT(HistoryRecord, ObjectType::HistoryRecord, 1);
};

} // namespace boxoffice::wire
