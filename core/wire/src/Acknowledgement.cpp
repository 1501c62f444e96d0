#include <boxoffice/wire/Acknowledgement.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("receipt_id", o.receiptId);
    v.id("order_id", o.orderId);
    v.id("phone_id", o.phoneId);
    v.id("acknowledge_code", o.acknowledgeCode, true);
    v.time("acknowledged_at", o.acknowledgedAt);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(Acknowledgement, fields)

} // namespace boxoffice::wire
