#include <boxoffice/mpegts/Packet.h>

namespace boxoffice::mpegts {

std::optional<std::size_t> PacketView::payloadOffset() const noexcept {
    const bool adaptation = hasAdaptationField();
    const bool payloadFlag = hasPayloadFlag();
    if (!adaptation)
        return payloadFlag ? headerSize : packetSize;
    const std::size_t afLength = p_[4];
    if (!payloadFlag) {
        // Adaptation field only: it must fill the packet exactly.
        if (afLength != packetSize - headerSize - 1)
            return std::nullopt;
        return packetSize;
    }
    // Adaptation field and payload: at most 182 bytes leave at least one payload
    // byte; 183 is tolerated as "no payload" (some muxers write it).
    const std::size_t offset = headerSize + 1 + afLength;
    if (offset > packetSize)
        return std::nullopt;
    return offset;
}

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
