#pragma once
// The operator root's signed list of revoked keys, devices and tickets. A newer list
// (higher sequence) replaces an older one entirely.

#include <boxoffice/wire/Object.h>

#include <string>
#include <vector>

namespace boxoffice::wire {

inline constexpr std::size_t maxRevocationEntries = 10000;

struct RevocationList {
    std::uint64_t sequence = 1;
    UnixTime issuedAt = 0;
    UnixTime nextUpdate = 0;
    std::vector<std::string> revokedKeyIds;      // certificate key ids (issuers, devices, phones)
    std::vector<std::string> revokedDeviceIds;   // certificate subjects of role device
    std::vector<std::string> revokedTicketIds;

    BOXOFFICE_WIRE_OBJECT(RevocationList, ObjectType::RevocationList, 1);
};

} // namespace boxoffice::wire
