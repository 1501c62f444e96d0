#include <boxoffice/bluetooth/Info.h>

#include <boxoffice/bluetooth/Codec.h>

#include <boxoffice/base/Text.h>
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
        .text(utf8Prefix(name, kMaxNameSize))
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
    info.name = in.name(kMaxNameSize);
    in.finish();
    return info;
}

} // namespace boxoffice::bluetooth
