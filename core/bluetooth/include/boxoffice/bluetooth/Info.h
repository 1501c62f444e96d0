#pragma once
// The value of the read-only info characteristic, readable before pairing so a
// phone can check compatibility and whether the TV is accepting new phones:
//
//   info := version(1) maxTransportMessage(2) maxBody(2) pairingOpen(1) name(u16 text)

#include <boxoffice/base/Bytes.h>

#include <cstdint>
#include <string>

namespace boxoffice::bluetooth {

struct PeripheralInfo {
    std::uint8_t version = 0;
    std::uint16_t maxTransportMessage = 0;
    std::uint16_t maxBody = 0;
    bool pairingOpen = false;
    std::string name;

    static PeripheralInfo current(bool pairingOpen, std::string name);
    Bytes encode() const;  // at most kMaxAttributeValue bytes (the name is cut)
    static PeripheralInfo decode(ByteView value);
};

} // namespace boxoffice::bluetooth
