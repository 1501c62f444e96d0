#include <boxoffice/wire/Order.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("order_id", o.orderId);
    v.id("device_id", o.deviceId);
    v.id("account_id", o.accountId, true);
    v.id("event_id", o.eventId);
    v.id("offer_id", o.offerId, true);
    v.enumeration("kind", o.kind);
    v.amount("amount", o.amount);
    v.currency("currency", o.currency);
    v.time("created_at", o.createdAt);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(Order, fields)

} // namespace boxoffice::wire
