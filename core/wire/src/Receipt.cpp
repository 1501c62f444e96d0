#include <boxoffice/wire/Receipt.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("receipt_id", o.receiptId);
    v.id("order_id", o.orderId);
    v.id("transaction_number", o.transactionNumber);
    v.id("ticket_id", o.ticketId, true);
    v.id("account_id", o.accountId);
    v.text("payee", o.payee, 128);
    v.amount("amount", o.amount);
    v.currency("currency", o.currency);
    v.time("issued_at", o.issuedAt);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(Receipt, fields)

} // namespace boxoffice::wire
