#pragma once
// Constants of the STB <-> phone Bluetooth protocol (see core/bluetooth/PROTOCOL.md).
// Shared by the STB plugin and the reference phone: change both sides together
// and bump kProtocolVersion for anything a deployed phone app would notice.

#include <cstddef>
#include <cstdint>

namespace boxoffice::bluetooth {

inline constexpr std::uint8_t kProtocolVersion = 1;

// 128-bit UUIDs of the GATT service and its characteristics (random, ours).
inline constexpr const char* kServiceUuid = "6b1e0001-5a3c-4f8e-9d2b-b0c5f1ce0001";
inline constexpr const char* kRxUuid = "6b1e0002-5a3c-4f8e-9d2b-b0c5f1ce0001";    // phone writes
inline constexpr const char* kTxUuid = "6b1e0003-5a3c-4f8e-9d2b-b0c5f1ce0001";    // STB notifies
inline constexpr const char* kInfoUuid = "6b1e0004-5a3c-4f8e-9d2b-b0c5f1ce0001";  // read-only

// ATT limits: the smallest MTU every LE link has, the largest BlueZ offers, and
// the largest attribute value (a notification longer than MTU - 3 or 512 bytes
// is cut silently by BlueZ, so we never send one).
inline constexpr std::size_t kMinMtu = 23;
inline constexpr std::size_t kMaxMtu = 517;
inline constexpr std::size_t kMaxAttributeValue = 512;

// Largest application message body (the envelope's payload), and the largest
// reassembled transport message (body + envelope + record overhead). A first
// fragment announcing more than kMaxTransportMessage is refused.
inline constexpr std::size_t kMaxBodySize = 16 * 1024;
inline constexpr std::size_t kMaxTransportMessage = kMaxBodySize + 64;

// First byte of every reassembled transport message.
enum class Kind : std::uint8_t {
    Handshake = 0x01,  // plaintext pairing / session set-up
    Record = 0x02,     // AEAD-sealed envelope of an established session
    Alert = 0x03,      // plaintext refusal; the sender has forgotten the link's state
};

// Reasons carried by an Alert.
enum class AlertCode : std::uint8_t {
    NotPaired = 1,        // a record or session hello from a phone the STB does not trust
    PairingClosed = 2,    // pairing request while the TV's pairing window is closed
    PairingRejected = 3,  // the viewer declined the code on the TV
    PairingTimeout = 4,   // nobody confirmed the code in time
    BadProof = 5,         // commitment, signature or MAC did not verify
    Malformed = 6,        // unparsable fragment or message
    TooLarge = 7,         // message above kMaxTransportMessage
    Busy = 8,             // channel byte already used by another phone, or a handshake in progress
    SessionReset = 9,     // too many bad records: start a new session
    Unsupported = 10,     // unknown protocol version or message kind
};

const char* toString(AlertCode code) noexcept;

} // namespace boxoffice::bluetooth
