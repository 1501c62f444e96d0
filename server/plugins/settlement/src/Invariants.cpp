// DESIGN §6 invariants that involve settlement, checked by the tests after every
// step and by GET /v1/operator/invariants.

#include <boxoffice/settlement/Settlement.h>

#include <algorithm>

namespace boxoffice::settlement {

using storage::Transaction;

std::vector<std::string> Settlement::checkInvariants(Transaction& tx)
{
    std::vector<std::string> bad;
    for (const auto& r : tx.query("SELECT o.order_id, o.state, t.state, o.amount, t.amount, o.account_id,"
                                  " t.debit_account FROM stl_order o LEFT JOIN ledger_transfer t"
                                  " ON t.id = ('order:' || o.order_id)")) {
        const auto id = r.text(0);
        const auto orderState = r.text(1);
        const auto transferState = r.optText(2);
        if (!transferState) {
            bad.push_back("order " + id + ": no transfer");
            continue;
        }
        std::vector<std::string> allowed{"pending", "expired"}; // the ledger sweeper may expire a pending one first
        if (orderState == "approved" || orderState == "closed" || orderState == "refunded") allowed = {"posted"};
        if (orderState == "declined" || orderState == "not-me" || orderState == "failed") allowed = {"voided"};
        if (orderState == "expired") allowed = {"expired", "voided"}; // voided: its OTP expired first
        if (std::find(allowed.begin(), allowed.end(), *transferState) == allowed.end())
            bad.push_back("order " + id + ": state " + orderState + " but transfer " + *transferState);
        if (r.int64(3) != r.int64(4) || r.text(5) != r.text(6))
            bad.push_back("order " + id + ": transfer amount or account differs from the order");
    }
    // Every ticket traces to exactly one posted transfer, of a sold order or a gift;
    // it is revoked exactly when that sale was refunded.
    for (const auto& r : tx.query("SELECT k.ticket_id, t.state, o.state, g.gift_id, v.ticket_id, f.refund_id, ft.state,"
                                  " (SELECT CAST(count(*) AS BIGINT) FROM stl_ticket k2"
                                  "  WHERE k2.transfer_id = k.transfer_id)"
                                  " FROM stl_ticket k"
                                  " LEFT JOIN ledger_transfer t ON t.id = k.transfer_id"
                                  " LEFT JOIN stl_order o ON o.order_id = k.order_id"
                                  " LEFT JOIN stl_gift g ON g.transfer_id = k.transfer_id AND g.ticket_id = k.ticket_id"
                                  " LEFT JOIN stl_revocation v ON v.ticket_id = k.ticket_id"
                                  " LEFT JOIN stl_refund f ON f.ticket_id = k.ticket_id"
                                  " LEFT JOIN ledger_transfer ft ON ft.id = f.transfer_id")) {
        const auto id = r.text(0);
        if (r.optText(1).value_or("") != "posted") bad.push_back("ticket " + id + ": its transfer is not posted");
        if (r.int64(7) != 1) bad.push_back("ticket " + id + ": its transfer has " + std::to_string(r.int64(7)) + " tickets");
        const auto os = r.optText(2);
        if (os && *os != "approved" && *os != "closed" && *os != "refunded")
            bad.push_back("ticket " + id + ": its order is " + *os);
        if (!os && r.isNull(3)) bad.push_back("ticket " + id + ": neither an order nor a gift");
        const bool revoked = !r.isNull(4);
        const bool refunded = !r.isNull(5);
        if (revoked != refunded) bad.push_back("ticket " + id + (revoked ? ": revoked without a refund" : ": refunded but valid"));
        if (refunded && r.optText(6).value_or("") != "posted") bad.push_back("ticket " + id + ": refund not posted");
        if (refunded != (os && *os == "refunded")) bad.push_back("ticket " + id + ": refund and order state disagree");
    }
    for (const auto& r : tx.query("SELECT order_id FROM stl_order WHERE state IN ('approved', 'closed', 'refunded')"
                                  " AND order_id NOT IN (SELECT order_id FROM stl_ticket)"))
        bad.push_back("order " + r.text(0) + ": approved without a ticket");
    // A refund reverses its order exactly: payee -> buyer, same amount, posted.
    for (const auto& r : tx.query("SELECT f.refund_id FROM stl_refund f JOIN stl_order o ON o.order_id = f.order_id"
                                  " LEFT JOIN ledger_transfer t ON t.id = f.transfer_id"
                                  " WHERE t.id IS NULL OR t.state <> 'posted' OR t.amount <> o.amount"
                                  " OR t.debit_account <> o.payee OR t.credit_account <> o.account_id"))
        bad.push_back("refund " + r.text(0) + ": does not reverse its order");
    // A gift's transfer is posted, from the buyer, for the price.
    for (const auto& r : tx.query("SELECT g.gift_id FROM stl_gift g LEFT JOIN ledger_transfer t ON t.id = g.transfer_id"
                                  " WHERE t.id IS NULL OR t.state <> 'posted' OR t.amount <> g.amount"
                                  " OR t.debit_account <> g.buyer_account_id OR t.credit_account <> g.payee"))
        bad.push_back("gift " + r.text(0) + ": its transfer does not match");
    // Deliveries carry issued tickets (sold, gifts or dormant), to their holders only.
    for (const auto& r : tx.query("SELECT d.delivery_id FROM stl_delivery d"
                                  " LEFT JOIN stl_ticket k ON k.ticket_id = d.ticket_id"
                                  " LEFT JOIN stl_dormant z ON z.ticket_id = d.ticket_id"
                                  " WHERE COALESCE(k.device_id, z.device_id) IS NULL"
                                  " OR COALESCE(k.device_id, z.device_id) <> d.device_id"))
        bad.push_back("delivery " + r.text(0) + ": not a ticket of its device");
    // A dormant ticket is issued without a charge: it is never also a sold ticket.
    for (const auto& r : tx.query("SELECT z.ticket_id FROM stl_dormant z JOIN stl_ticket k ON k.ticket_id = z.ticket_id"))
        bad.push_back("dormant ticket " + r.text(0) + ": also recorded as sold");
    // A one-time-password order sold only with both the viewer's entry and the phone's code.
    for (const auto& r : tx.query("SELECT c.order_id FROM stl_otp c JOIN stl_order o ON o.order_id = c.order_id"
                                  " WHERE c.attempts > c.max_attempts OR (o.state IN ('approved', 'closed', 'refunded')"
                                  " AND (c.entered_at IS NULL OR c.acknowledged_at IS NULL))"))
        bad.push_back("order " + r.text(0) + ": one-time password rules broken");
    return bad;
}

} // namespace boxoffice::settlement
