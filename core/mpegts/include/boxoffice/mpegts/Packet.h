#pragma once
// Read access to one 188-byte MPEG transport stream packet (ISO/IEC 13818-1
// §2.4.3.2) and the few header fields a scrambler rewrites.

#include <boxoffice/base/Bytes.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace boxoffice::mpegts {

inline constexpr std::size_t packetSize = 188;
inline constexpr std::size_t headerSize = 4;
inline constexpr std::uint8_t syncByte = 0x47;
inline constexpr std::uint16_t nullPid = 0x1FFF;
inline constexpr std::uint16_t patPid = 0x0000;
inline constexpr std::uint16_t catPid = 0x0001;
inline constexpr std::uint16_t eitPid = 0x0012;
inline constexpr std::uint16_t tdtPid = 0x0014;

// transport_scrambling_control: 10 = even key, 11 = odd key (ETSI TS 100 289, TS 103 127).
enum class Scrambling : std::uint8_t { Clear = 0, Reserved = 1, Even = 2, Odd = 3 };

inline constexpr bool isScrambled(Scrambling s) { return s == Scrambling::Even || s == Scrambling::Odd; }
inline constexpr Scrambling otherParity(Scrambling s) {
    return s == Scrambling::Even ? Scrambling::Odd : Scrambling::Even;
}

// A view of exactly packetSize bytes; the caller guarantees the size.
class PacketView {
public:
    explicit PacketView(const std::uint8_t* data) noexcept : p_(data) {}
    explicit PacketView(ByteView packet) noexcept : p_(packet.data()) {}

    bool hasSync() const noexcept { return p_[0] == syncByte; }
    bool transportError() const noexcept { return (p_[1] & 0x80) != 0; }
    bool payloadUnitStart() const noexcept { return (p_[1] & 0x40) != 0; }
    std::uint16_t pid() const noexcept { return static_cast<std::uint16_t>(((p_[1] & 0x1F) << 8) | p_[2]); }
    Scrambling scrambling() const noexcept { return static_cast<Scrambling>(p_[3] >> 6); }
    bool hasAdaptationField() const noexcept { return (p_[3] & 0x20) != 0; }
    bool hasPayloadFlag() const noexcept { return (p_[3] & 0x10) != 0; }
    std::uint8_t continuityCounter() const noexcept { return p_[3] & 0x0F; }

    // Where the payload starts: packetSize when the packet carries none (adaptation
    // field only, or the reserved adaptation_field_control 00); nullopt when the
    // adaptation_field_length runs past the packet or an adaptation-only packet
    // does not fill it (183 bytes) — such a packet must not be touched.
    std::optional<std::size_t> payloadOffset() const noexcept {
        const bool adaptation = hasAdaptationField();
        const bool payloadFlag = hasPayloadFlag();
        if (!adaptation)
            return payloadFlag ? headerSize : packetSize;
        const std::size_t afLength = p_[4];
        if (!payloadFlag)  // adaptation field only: it must fill the packet exactly
            return afLength == packetSize - headerSize - 1 ? std::optional<std::size_t>(packetSize) : std::nullopt;
        // With a payload at most 182 bytes leave one payload byte; 183 is tolerated
        // as "no payload" (some muxers write it).
        const std::size_t offset = headerSize + 1 + afLength;
        return offset <= packetSize ? std::optional<std::size_t>(offset) : std::nullopt;
    }

    // The payload bytes, empty when there are none or the layout is invalid.
    ByteView payload() const noexcept;

    // Program clock reference in 27 MHz units, when the adaptation field has one.
    std::optional<std::uint64_t> pcr() const noexcept;

    const std::uint8_t* data() const noexcept { return p_; }

private:
    const std::uint8_t* p_;
};

// Rewrites transport_scrambling_control of a packet (precondition: packetSize bytes).
inline void setScrambling(std::uint8_t* packet, Scrambling s) noexcept {
    packet[3] = static_cast<std::uint8_t>((packet[3] & 0x3F) | (static_cast<std::uint8_t>(s) << 6));
}

// For loops over a run of packets that read each header as they come: asks for
// the header a few packets ahead (a stride of 188 bytes is not one the hardware
// prefetcher follows early). Never faults, also past the end of the run.
// descrambler_bench: 4, 8 and 16 packets ahead alike, ~3% more CISSA throughput.
inline void prefetchPacketAhead(const std::uint8_t* packet) noexcept {
    constexpr std::size_t packetsAhead = 8;
    // As an integer: a pointer past the end of the run would be undefined behaviour.
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(packet) +
                                                     packetsAhead * packetSize));
}

// The payload of a writable packet, empty when none or invalid.
MutableByteView mutablePayload(std::uint8_t* packet) noexcept;

} // namespace boxoffice::mpegts
