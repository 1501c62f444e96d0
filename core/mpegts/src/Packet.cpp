#include <boxoffice/mpegts/Packet.h>

namespace boxoffice::mpegts {

ByteView PacketView::payload() const noexcept {
    const auto offset = payloadOffset();
    if (!offset)
        return {};
    return ByteView(p_ + *offset, packetSize - *offset);
}

std::optional<std::uint64_t> PacketView::pcr() const noexcept {
    if (!hasAdaptationField() || p_[4] < 7 || (p_[5] & 0x10) == 0 || !payloadOffset())
        return std::nullopt;
    const std::uint8_t* b = p_ + 6;
    const std::uint64_t base = (std::uint64_t{b[0]} << 25) | (std::uint64_t{b[1]} << 17) |
                               (std::uint64_t{b[2]} << 9) | (std::uint64_t{b[3]} << 1) | (b[4] >> 7);
    const std::uint64_t extension = (std::uint64_t{b[4] & 0x01u} << 8) | b[5];
    return base * 300 + extension;
}

MutableByteView mutablePayload(std::uint8_t* packet) noexcept {
    const auto offset = PacketView(packet).payloadOffset();
    if (!offset)
        return {};
    return MutableByteView(packet + *offset, packetSize - *offset);
}

} // namespace boxoffice::mpegts
