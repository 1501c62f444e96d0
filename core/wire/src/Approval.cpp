#include <boxoffice/wire/Approval.h>

#include "Object.h"

namespace boxoffice::wire {

std::string_view toString(Decision decision) noexcept
{
    switch (decision) {
    case Decision::Approve: return "approve";
    case Decision::Decline: return "decline";
    case Decision::NotMe: return "not-me";
    }
    return {};
}

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("transaction_number", o.transactionNumber);
    v.id("order_id", o.orderId);
    v.id("account_id", o.accountId);
    v.id("phone_id", o.phoneId);
    v.text("payee", o.payee, 128);
    v.amount("amount", o.amount);
    v.currency("currency", o.currency);
    v.enumeration("decision", o.decision);
    v.id("one_time_password", o.oneTimePassword, true);
    v.time("decided_at", o.decidedAt);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(Approval, fields)

} // namespace boxoffice::wire
