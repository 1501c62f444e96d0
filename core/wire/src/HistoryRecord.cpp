#include <boxoffice/wire/HistoryRecord.h>

#include "Object.h"

namespace boxoffice::wire {

std::string_view toString(HistoryKind kind) noexcept
{
    switch (kind) {
    case HistoryKind::Purchase: return "purchase";
    case HistoryKind::Play: return "play";
    case HistoryKind::Preview: return "preview";
    case HistoryKind::Refund: return "refund";
    case HistoryKind::GiftReceived: return "gift-received";
    }
    return {};
}

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.id("device_id", o.deviceId);
    v.num("sequence", o.sequence, std::uint64_t{1}, std::uint64_t{1} << 62);
    v.fixed("previous_hash", o.previousHash);
    v.time("recorded_at", o.recordedAt);
    v.enumeration("kind", o.kind);
    v.id("event_id", o.eventId);
    v.id("ticket_id", o.ticketId, true);
    v.id("order_id", o.orderId, true);
    v.amount("amount", o.amount);
    v.currency("currency", o.currency);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(HistoryRecord, fields)

} // namespace boxoffice::wire
