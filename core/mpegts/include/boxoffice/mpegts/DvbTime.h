#pragma once
// DVB time fields (ETSI EN 300 468 Annex C): a 40-bit UTC time = 16-bit
// Modified Julian Date + 24-bit BCD hh:mm:ss, and 24-bit BCD durations.

#include <cstdint>
#include <optional>

namespace boxoffice::mpegts {

// Seconds since the Unix epoch (UTC) <-> the 40-bit field. nullopt for invalid BCD.
std::uint64_t toDvbUtc(std::int64_t unixSeconds);
std::optional<std::int64_t> fromDvbUtc(std::uint64_t field);

// Duration in seconds <-> 24-bit BCD hhmmss (at most 99:59:59).
std::uint32_t toDvbDuration(std::uint32_t seconds);
std::optional<std::uint32_t> fromDvbDuration(std::uint32_t field);

} // namespace boxoffice::mpegts
