#pragma once
// Refunds (operator) and ticket revocations.
//
// A refund reverses a posted order with a second, posted ledger transfer
// "refund:<refundId>" (payee -> buyer, same amount), revokes the order's ticket
// and marks the order refunded, in one transaction. Idempotent by refund id: the
// same id for the same order answers the same; another order, or a second refund
// of the same order, is Error(Conflict).
//
// The STB learns revoked tickets from GET /v1/stb/revocations: a wire::RevocationList
// carrying only revoked_ticket_ids, signed by the server key (whose certificate,
// from the operator root, goes with it), its sequence the number of revocations so
// far (it only grows), so a newer list replaces an older one.

#include <boxoffice/settlement/Settlement.h>
#include <boxoffice/wire/RevocationList.h>

namespace boxoffice::settlement {

class Refunds {
public:
    explicit Refunds(Settlement& settlement) : settlement_(settlement) {}

    static std::vector<std::string> migration();

    struct Refund {
        std::string refundId;
        std::string orderId;
        std::string transferId;   // the reversing transfer
        std::string ticketId;     // revoked
        std::int64_t amount = 0;
        std::string currency;
        std::string reason;
        std::int64_t refundedAt = 0;
    };

    // Order not found: NotFound; not posted (pending, voided, ...): Conflict.
    Refund refund(const std::string& refundId, const std::string& orderId, const std::string& reason);

    // Revoked ticket ids of events that have not ended, in a RevocationList signed by the server key;
    // `nextUpdateSeconds` after now is when the STB should ask again.
    wire::RevocationList revocations(std::int64_t nextUpdateSeconds = 3600);

private:
    Settlement& settlement_;
};

} // namespace boxoffice::settlement
