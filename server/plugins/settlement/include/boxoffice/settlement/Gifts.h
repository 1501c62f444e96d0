#pragma once
// Gifts and scheduled delivery (DESIGN §5 flow 7). The phone's signed request is its
// approval: the transfer "gift:<giftId>" posts at once from the buyer's account (the
// phone's) to the event's payee, the ticket is issued to the recipient's STB and
// queued for delivery at `deliverAt`, and the buyer gets a voucher (wire::Voucher)
// and a receipt (wire::Receipt: the amount), both signed by the server.
//
// The voucher's sealed message stays empty: sealing to the phone's P-256 key needs
// P-256 key agreement, which core/crypto does not offer; the optional message is kept
// with the gift and shown to the buyer only.
//
// Idempotent by gift id: the same request again answers the same gift; another
// request under the same id is Error(Conflict).

#include <boxoffice/settlement/Settlement.h>
#include <boxoffice/wire/Voucher.h>

namespace boxoffice::settlement {

struct GiftRequest {
    std::string giftId;              // phone-generated, [A-Za-z0-9._-]{1,48}
    std::string eventId;
    std::string recipientDeviceId;   // at least one of these two (both: they must agree); with an
    std::string recipientAccountId;  // account only, the account must have exactly one STB
    std::int64_t amount = 0;         // the price shown, must be the catalog's
    std::string currency;
    std::int64_t deliverAt = 0;      // 0: now
    std::string message;             // optional, at most 500 bytes

    friend bool operator==(const GiftRequest&, const GiftRequest&) = default;
};

struct GiftView {
    GiftRequest request;
    std::string buyerAccountId;
    std::string phoneId;
    std::string recipientAccountId;  // resolved
    std::string recipientDeviceId;   // resolved
    std::string payee;
    std::int64_t deliverAt = 0;      // resolved (0 -> the time of the gift)
    std::int64_t createdAt = 0;
    bool delivered = false;          // the recipient's STB acknowledged the ticket
    wire::Voucher voucher;
    wire::Receipt receipt;
};

class Gifts {
public:
    explicit Gifts(Settlement& settlement) : settlement_(settlement) {}

    static std::vector<std::string> migration();

    // Refused with nothing changed: unknown recipient or event (NotFound), outside the
    // sale window, price mismatch (Conflict), not enough money (LimitExceeded), the
    // buyer's account inhibited (PermissionDenied), deliverAt in the past or after the
    // event (InvalidArgument).
    GiftView give(const std::string& phoneId, const GiftRequest& request);
    // The gifts bought by the phone's account, newest first.
    std::vector<GiftView> vouchersOf(const std::string& phoneId, std::size_t limit = 100);

private:
    std::optional<GiftView> find(storage::Transaction& tx, const std::string& giftId);

    Settlement& settlement_;
};

} // namespace boxoffice::settlement
