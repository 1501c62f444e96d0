#include <boxoffice/bluetooth/Info.h>

#include <boxoffice/bluetooth/Codec.h>
#include <boxoffice/bluetooth/Handshake.h>
#include <boxoffice/bluetooth/Protocol.h>

namespace boxoffice::bluetooth {

PeripheralInfo PeripheralInfo::current(bool pairingOpen, std::string name)
{
    if (name.size() > kMaxNameSize) name.resize(kMaxNameSize);
    return {kProtocolVersion, static_cast<std::uint16_t>(kMaxTransportMessage), static_cast<std::uint16_t>(kMaxBodySize),
            pairingOpen, std::move(name)};
}

Bytes PeripheralInfo::encode() const
{
    return FieldWriter()
        .u8(version)
        .u16(maxTransportMessage)
        .u16(maxBody)
        .u8(pairingOpen ? 1 : 0)
        .text(name.substr(0, kMaxNameSize))
        .take();
}

PeripheralInfo PeripheralInfo::decode(ByteView value)
{
    FieldReader in(value, "info characteristic");
    PeripheralInfo info;
    info.version = in.u8();
    info.maxTransportMessage = in.u16();
    info.maxBody = in.u16();
    info.pairingOpen = in.u8() != 0;
    info.name = in.text(kMaxNameSize);
    in.finish();
    return info;
}

} // namespace boxoffice::bluetooth
