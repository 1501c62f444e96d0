#pragma once
// Fragmentation of transport messages into ATT-sized chunks and their
// bounds-checked reassembly.
//
//   fragment := flags(1) channel(1) [total(2, big-endian), first fragment only] payload
//   flags    := 0x80 FIRST | 0x40 LAST | (index mod 16) in the low nibble; 0x30 must be 0
//
// A fragment is at most min(MTU - 3, 512) bytes: the ATT payload of a write or a
// notification. The channel byte names the phone's link (notifications reach
// every subscribed phone, so a phone drops fragments of other channels).

#include <boxoffice/base/Bytes.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace boxoffice::bluetooth {

inline constexpr std::uint8_t kFragmentFirst = 0x80;
inline constexpr std::uint8_t kFragmentLast = 0x40;
inline constexpr std::size_t kFragmentHeader = 2;
inline constexpr std::size_t kFirstFragmentHeader = 4;

// Largest fragment for an ATT MTU; Error(InvalidArgument) for an MTU below 23.
std::size_t fragmentCapacity(std::size_t mtu);

// Splits `message` (1 .. kMaxTransportMessage bytes) for `mtu`. Error(LimitExceeded)
// when too large, Error(InvalidArgument) for an empty message or channel 0.
std::vector<Bytes> fragment(ByteView message, std::uint8_t channel, std::size_t mtu);

// The channel of a fragment, or nullopt when it is too short to have one.
std::optional<std::uint8_t> fragmentChannel(ByteView fragment);

// Reassembles the fragments of one channel. Not thread-safe: one per link.
class Reassembler {
public:
    explicit Reassembler(std::size_t maxMessage);

    // Adds a fragment; returns the message when it completes. On any violation
    // (continuation without a start, index gap or repeat, more bytes than
    // announced, LAST before the announced length, announced length too large,
    // reserved bits) it discards the partial message and throws Error(Malformed)
    // or Error(LimitExceeded); the next FIRST fragment starts afresh. A FIRST
    // fragment while a message is in progress discards that message silently.
    std::optional<Bytes> push(ByteView fragment);

    bool inProgress() const noexcept { return expected_ != 0; }
    void reset() noexcept;

private:
    std::size_t maxMessage_;
    std::size_t expected_ = 0;  // announced total; 0 when idle
    std::uint8_t nextIndex_ = 0;
    Bytes buffer_;
};

} // namespace boxoffice::bluetooth
