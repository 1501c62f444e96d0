#include <boxoffice/wire/Voucher.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("voucher_id", o.voucherId);
    v.id("order_id", o.orderId);
    v.id("ticket_id", o.ticketId);
    v.id("event_id", o.eventId);
    v.id("buyer_account_id", o.buyerAccountId);
    v.id("recipient_account_id", o.recipientAccountId);
    v.id("recipient_device_id", o.recipientDeviceId, true);
    v.time("deliver_at", o.deliverAt);
    v.bytes("sealed_message", o.sealedMessage, 0, maxSealedMessageSize);
    v.time("issued_at", o.issuedAt);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(Voucher, fields)

} // namespace boxoffice::wire
