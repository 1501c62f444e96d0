#include <boxoffice/wire/SettlementResult.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("settlement_id", o.settlementId);
    v.id("device_id", o.deviceId);
    v.num("settled_through", o.settledThrough, std::uint64_t{0}, std::uint64_t{1} << 62);
    v.fixed("last_record_hash", o.lastRecordHash);
    v.num("record_count", o.recordCount, std::uint32_t{0}, std::uint32_t{0xffffffff});
    v.amount("total_amount", o.totalAmount);
    v.currency("currency", o.currency);
    v.time("settled_at", o.settledAt);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(SettlementResult, fields)

} // namespace boxoffice::wire
