#pragma once
// BoxOffice ECM: the control words of one crypto-period, sealed with AES-GCM
// under the PPV event key. Format in core/mpegts/ECM.md.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/mpegts/Algorithm.h>

#include <cstdint>

namespace boxoffice::mpegts {

// Our CA_system_id, taken from the top of the 16-bit space (0xFF00-0xFFFF),
// which the DVB registry (ETSI TS 101 162) assigns to no CA vendor.
inline constexpr std::uint16_t boxofficeCaSystemId = 0xFF42;
inline constexpr std::uint8_t ecmTableEven = 0x80;  // ECM of an even crypto-period
inline constexpr std::uint8_t ecmTableOdd = 0x81;   // ECM of an odd crypto-period
inline constexpr std::uint8_t ecmFormatVersion = 1;

// The clear part of an ECM, readable without the key (for lookup and dedup).
struct EcmHeader {
    Algorithm algorithm = Algorithm::DvbCissa;
    std::uint16_t serviceId = 0;    // program_number of the scrambled service
    std::uint16_t eventId = 0;      // EIT event_id of the PPV event (selects the event key)
    std::uint32_t cryptoPeriod = 0; // its parity is the parity of the control word in use
};

// Control words for crypto-periods cryptoPeriod and cryptoPeriod + 1, placed in
// the even/odd slots by their parity.
struct ControlWords {
    std::uint32_t cryptoPeriod = 0;
    crypto::SecretBytes even;
    crypto::SecretBytes odd;
};

// Builds the complete ECM section (with CRC_32). `current` is the control word of
// header.cryptoPeriod, `next` that of the period after. Error(InvalidArgument) on
// wrong sizes.
Bytes sealEcm(const EcmHeader& header, ByteView current, ByteView next, ByteView eventKey);

// Reads the header of an ECM section. Error(Malformed) for anything that is not a
// well-formed BoxOffice ECM (table_id, lengths, version, algorithm). The CRC is
// checked by the section reassembler, not here.
EcmHeader peekEcm(ByteView section);

// Authenticates and decrypts. Error(BadSignature) when the key is wrong or any
// byte was altered, Error(Malformed) as for peekEcm.
ControlWords openEcm(ByteView section, ByteView eventKey);

} // namespace boxoffice::mpegts
