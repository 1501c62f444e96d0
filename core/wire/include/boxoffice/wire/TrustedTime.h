#pragma once
// Server-signed time. `audience` and `nonce` bind it to one device's request when set.

#include <boxoffice/wire/Object.h>

namespace boxoffice::wire {

struct TrustedTime {
    UnixTime time = 0;
    std::string audience;                // device id, or empty for any device
    Bytes nonce;                         // 0..32 bytes from the requester

    BOXOFFICE_WIRE_OBJECT(TrustedTime, ObjectType::TrustedTime, 1);
};

} // namespace boxoffice::wire
