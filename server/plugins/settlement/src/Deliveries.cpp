#include <boxoffice/settlement/Deliveries.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Hash.h>

namespace boxoffice::settlement {

using storage::Transaction;

std::vector<std::string> Deliveries::migration()
{
    return {"CREATE TABLE stl_delivery (delivery_id {text} PRIMARY KEY, device_id {text} NOT NULL,"
            " ticket_id {text} NOT NULL UNIQUE, kind {text} NOT NULL, ticket {blob} NOT NULL,"
            " deliver_at {int64} NOT NULL, acknowledged_at {int64})",
            "CREATE INDEX stl_delivery_due ON stl_delivery (device_id, acknowledged_at, deliver_at)"};
}

std::vector<std::string> Deliveries::dormantMigration()
{
    // One dormant ticket per (device, event): issuing again returns the same one.
    return {"CREATE TABLE stl_dormant (ticket_id {text} PRIMARY KEY, device_id {text} NOT NULL,"
            " event_id {text} NOT NULL, ticket {blob} NOT NULL, issued_at {int64} NOT NULL,"
            " UNIQUE (device_id, event_id))"};
}

Deliveries::Dormant Deliveries::issueDormant(const std::string& deviceId, const std::string& eventId)
{
    const auto now = settlement_.nowSeconds();
    return settlement_.ledger().database().write([&](Transaction& tx) {
        if (auto held = tx.query("SELECT ticket FROM stl_dormant WHERE device_id = ? AND event_id = ?", {deviceId, eventId})
                            .single()) {
            auto ticket = wire::Ticket::decode(held->blob(0));
            return Dormant{ticket, "d-" + ticket.ticketId, false};
        }
        const auto event = settlement_.findEvent(tx, eventId);
        if (!event) throw Error(ErrorCode::NotFound, "no event " + eventId);
        if (now >= event->endsAt) throw Error(ErrorCode::Expired, "event " + eventId + " has ended");
        // The id must be unique per (device, event) and fit the ledger's id alphabet.
        const std::string key = deviceId + "\n" + eventId;
        const auto digest = crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
        const auto ticketId = "tz-" + toHex(ByteView(digest.data(), 16));
        const auto ticket = settlement_.issueTicket(tx, ticketId, "", *event, deviceId, now, wire::TicketKind::Prepaid,
                                                    wire::TicketStatus::Suspended);
        tx.execute("INSERT INTO stl_dormant (ticket_id, device_id, event_id, ticket, issued_at) VALUES (?, ?, ?, ?, ?)",
                   {ticketId, deviceId, eventId, ticket.encode(), now});
        enqueue(tx, ticket, "dormant", now);
        return Dormant{ticket, "d-" + ticketId, true};
    });
}

void Deliveries::enqueue(Transaction& tx, const wire::Ticket& ticket, const std::string& kind, std::int64_t deliverAt)
{
    const auto effectiveKind = kind == "gift" && deliverAt > settlement_.nowSeconds() ? "scheduled" : kind;
    tx.executeDeferred("INSERT INTO stl_delivery (delivery_id, device_id, ticket_id, kind, ticket, deliver_at)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       {"d-" + ticket.ticketId, ticket.holderDeviceId, ticket.ticketId, std::string(effectiveKind),
                        ticket.encode(), deliverAt});
}

std::vector<Deliveries::Delivery> Deliveries::due(const std::string& deviceId, std::size_t limit)
{
    const auto now = settlement_.nowSeconds();
    std::vector<Delivery> out;
    for (const auto& r : settlement_.ledger().database().query(
             "SELECT d.delivery_id, d.kind, d.ticket, d.deliver_at FROM stl_delivery d"
             " WHERE d.device_id = ? AND d.acknowledged_at IS NULL AND d.deliver_at <= ?"
             " AND d.ticket_id NOT IN (SELECT ticket_id FROM stl_revocation)"
             " ORDER BY d.deliver_at, d.delivery_id LIMIT ?",
             {deviceId, now, static_cast<std::int64_t>(limit)}))
        out.push_back({r.text(0), r.text(1), wire::Ticket::decode(r.blob(2)), r.int64(3)});
    return out;
}

std::size_t Deliveries::acknowledge(const std::string& deviceId, const std::vector<std::string>& deliveryIds)
{
    if (deliveryIds.size() > 1000) throw Error(ErrorCode::InvalidArgument, "at most 1000 delivery ids at once");
    const auto now = settlement_.nowSeconds();
    return settlement_.ledger().database().write([&](Transaction& tx) {
        std::size_t removed = 0;
        for (const auto& id : deliveryIds)
            // Only what is due: a device cannot make a scheduled delivery vanish early.
            removed += tx.execute("UPDATE stl_delivery SET acknowledged_at = ? WHERE delivery_id = ? AND device_id = ?"
                                  " AND acknowledged_at IS NULL AND deliver_at <= ?",
                                  {now, id, deviceId, now});
        return removed;
    });
}

} // namespace boxoffice::settlement
