#pragma once
// The STB's ticket delivery queue: tickets of approved orders, gifts and scheduled
// deliveries wait here until their time, the holder device fetches the due ones
// (GET /v1/stb/tickets) and acknowledges them, which removes them from the queue.
// Revoked tickets are never handed out.
//
// Dormant tickets (DESIGN §5 flow 5, classic impulse PPV): a prepaid ticket with
// status suspended, issued ahead to a registered STB at no charge. The box unlocks
// it only after it recorded a (deferred) purchase in its signed history; the
// server charges when that history record is settled (serversync::HistorySync).

#include <boxoffice/settlement/Settlement.h>

namespace boxoffice::settlement {

class Deliveries {
public:
    explicit Deliveries(Settlement& settlement) : settlement_(settlement) {}

    static std::vector<std::string> migration();
    static std::vector<std::string> dormantMigration();

    struct Delivery {
        std::string deliveryId;
        std::string kind;            // purchase | gift | scheduled | dormant
        wire::Ticket ticket;
        std::int64_t deliverAt = 0;
    };

    // Queues a ticket for its holder device (inside the transaction that issued it).
    // `kind` is purchase or gift; a gift due later is "scheduled".
    void enqueue(storage::Transaction& tx, const wire::Ticket& ticket, const std::string& kind,
                 std::int64_t deliverAt);
    // Due now for this device, oldest first, at most `limit`.
    std::vector<Delivery> due(const std::string& deviceId, std::size_t limit = 100);
    // Removes the device's deliveries with these ids (others' ids and unknown ids are
    // ignored: a retry is harmless); returns how many were removed now.
    std::size_t acknowledge(const std::string& deviceId, const std::vector<std::string>& deliveryIds);

    // Issues (or returns the one already issued) the dormant ticket for `eventId` to
    // `deviceId` and queues it for delivery. No ledger transfer. Errors: NotFound
    // (unknown event or device), Expired (the event has ended).
    struct Dormant {
        wire::Ticket ticket;
        std::string deliveryId;
        bool created = false;        // false: issued before, returned again
    };
    Dormant issueDormant(const std::string& deviceId, const std::string& eventId);

private:
    Settlement& settlement_;
};

} // namespace boxoffice::settlement
