#include <boxoffice/wire/RevocationList.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.num("sequence", o.sequence, std::uint64_t{1}, std::uint64_t{1} << 62);
    v.time("issued_at", o.issuedAt);
    v.time("next_update", o.nextUpdate);
    v.idList("revoked_key_ids", o.revokedKeyIds, maxRevocationEntries);
    v.idList("revoked_device_ids", o.revokedDeviceIds, maxRevocationEntries);
    v.idList("revoked_ticket_ids", o.revokedTicketIds, maxRevocationEntries);
    v.check(o.issuedAt <= o.nextUpdate, "next_update", "before issued_at");
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(RevocationList, fields)

} // namespace boxoffice::wire
