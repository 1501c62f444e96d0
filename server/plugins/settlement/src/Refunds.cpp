#include <boxoffice/settlement/Refunds.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/ledger/Types.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Types.h>

namespace boxoffice::settlement {

using storage::Transaction;

std::vector<std::string> Refunds::migration()
{
    return {"CREATE TABLE stl_refund (refund_id {text} PRIMARY KEY, order_id {text} NOT NULL UNIQUE,"
            " transfer_id {text} NOT NULL, ticket_id {text} NOT NULL, amount {int64} NOT NULL,"
            " currency {text} NOT NULL, reason {text} NOT NULL, refunded_at {int64} NOT NULL)",
            "CREATE TABLE stl_revocation (ticket_id {text} PRIMARY KEY, device_id {text} NOT NULL,"
            " refund_id {text} NOT NULL, revoked_at {int64} NOT NULL)"};
}

Refunds::Refund Refunds::refund(const std::string& refundId, const std::string& orderId, const std::string& reason)
{
    // Wire-sized (64), so that its ledger transfer id "refund:<id>" fits the ledger's 80.
    wire::checkId(refundId, "refund id");
    ledger::checkId(orderId, "order id");
    if (reason.size() > 200) throw Error(ErrorCode::InvalidArgument, "reason is longer than 200 bytes");
    auto read = [](const storage::Row& r) {
        return Refund{r.text(0), r.text(1), r.text(2), r.text(3), r.int64(4), r.text(5), r.text(6), r.int64(7)};
    };
    static constexpr const char* columns =
        "SELECT refund_id, order_id, transfer_id, ticket_id, amount, currency, reason, refunded_at FROM stl_refund";
    return settlement_.ledger().database().write([&](Transaction& tx) {
        if (auto r = tx.query(std::string(columns) + " WHERE refund_id = ?", {refundId}).single()) {
            auto previous = read(*r);
            if (previous.orderId != orderId || previous.reason != reason)
                throw Error(ErrorCode::Conflict, "refund id " + refundId + " was used for another refund");
            return previous;
        }
        if (auto r = tx.query(std::string(columns) + " WHERE order_id = ?", {orderId}).single())
            throw Error(ErrorCode::Conflict, "order " + orderId + " was refunded already (" + r->text(0) + ")");
        const auto order = settlement_.load(tx, orderId);
        if (order.state != OrderState::Approved && order.state != OrderState::Closed)
            throw Error(ErrorCode::Conflict, "order " + orderId + " is " + std::string(toString(order.state)) +
                                                 ": only a posted purchase can be refunded");
        if (!order.ticket) throw Error(ErrorCode::Internal, "posted order " + orderId + " has no ticket");
        const auto now = settlement_.nowSeconds();
        Refund refund{refundId, orderId, "refund:" + refundId, order.ticket->ticketId, order.amount,
                      order.currency, reason, now};
        // Posted at once; the payee is a merchant account without a floor.
        settlement_.ledger().create(tx, {refund.transferId, order.payee, order.accountId, order.amount,
                                         order.currency, 0, "refund of order " + orderId});
        tx.execute("INSERT INTO stl_refund (refund_id, order_id, transfer_id, ticket_id, amount, currency, reason,"
                   " refunded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   {refund.refundId, orderId, refund.transferId, refund.ticketId, refund.amount, refund.currency,
                    reason, now});
        tx.execute("INSERT INTO stl_revocation (ticket_id, device_id, refund_id, revoked_at) VALUES (?, ?, ?, ?)",
                   {refund.ticketId, order.deviceId, refundId, now});
        tx.execute("UPDATE stl_order SET state = ? WHERE order_id = ?", {toString(OrderState::Refunded), orderId});
        return refund;
    });
}

wire::RevocationList Refunds::revocations(std::int64_t nextUpdateSeconds)
{
    wire::RevocationList list;
    const auto now = settlement_.nowSeconds();
    const auto total = settlement_.ledger().database().read([&](Transaction& tx) {
        // Tickets of events that have ended no longer open anything: left out, so the
        // list stays short; the sequence still counts every revocation ever made.
        for (const auto& r : tx.query("SELECT v.ticket_id FROM stl_revocation v"
                                      " JOIN stl_refund f ON f.refund_id = v.refund_id"
                                      " JOIN stl_order o ON o.order_id = f.order_id"
                                      " JOIN stl_event e ON e.event_id = o.event_id"
                                      " WHERE e.ends_at > ? ORDER BY v.revoked_at, v.ticket_id",
                                      {now}))
            list.revokedTicketIds.push_back(r.text(0));
        return tx.query("SELECT CAST(count(*) AS BIGINT) FROM stl_revocation").single()->int64(0);
    });
    if (list.revokedTicketIds.size() > wire::maxRevocationEntries)
        throw Error(ErrorCode::LimitExceeded, "more revoked tickets of running events than one list holds");
    list.sequence = static_cast<std::uint64_t>(total) + 1; // grows with every revocation (none is ever removed)
    list.issuedAt = now;
    list.nextUpdate = now + nextUpdateSeconds;
    trust::sign(list, settlement_.keys().server.key);
    return list;
}

} // namespace boxoffice::settlement
