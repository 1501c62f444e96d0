#pragma once
// Building long-form private sections (through libdvbpsi, which writes the
// header and CRC_32) and cutting any section into TS packets.

#include <boxoffice/base/Bytes.h>

#include <cstdint>

namespace boxoffice::mpegts {

struct SectionHeader {
    std::uint8_t tableId = 0;
    std::uint16_t extension = 0;
    std::uint8_t version = 0;  // 5 bits
    bool privateIndicator = true;
};

// A complete section with section_syntax_indicator 1 and CRC_32.
// Error(InvalidArgument) if the payload does not fit in 4096 bytes.
Bytes buildSection(const SectionHeader& header, ByteView payload);

// Packs one section into TS packets of `pid` (pointer_field in the first,
// 0xFF stuffing in the last), continuing `continuityCounter`.
Bytes packetizeSection(ByteView section, std::uint16_t pid, std::uint8_t& continuityCounter);

} // namespace boxoffice::mpegts
