#pragma once
// The TS-level scrambling algorithms BoxOffice speaks, with their names and
// DVB signalling values.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace boxoffice::mpegts {

enum class Algorithm {
    DvbCissa,  // ETSI TS 103 127 v1: AES-128-CBC, IV "DVBTMCPTAESCISSA", residue clear
    DvbCsa2,   // ETSI ETR 289 common scrambling algorithm, 64-bit control word
    AtisIdsa,  // ATIS-0800006: AES-128 in DVS-042 (SCTE 52) chaining, IV 0
};

// "dvb-cissa", "dvb-csa2", "atis-idsa".
std::string_view toString(Algorithm algorithm) noexcept;
// Inverse of toString; Error(InvalidArgument) naming the text otherwise.
Algorithm algorithmFromString(std::string_view name);

// Control word length in bytes: 16 for the AES-based algorithms, 8 for CSA2.
std::size_t controlWordSize(Algorithm algorithm) noexcept;

// scrambling_mode of the scrambling_descriptor (tag 0x65, ETSI EN 300 468 table 111).
std::uint8_t scramblingMode(Algorithm algorithm) noexcept;

} // namespace boxoffice::mpegts
