#pragma once
// The one-time password on the second line (DESIGN §5 flow 4).
//
// An order above Options::otpAbove, or one the STB asks for with method "otp",
// gets a challenge: a 6-digit one-time password the phone fetches over its signed
// API and the viewer types on the STB, and an acknowledge code the phone returns in
// its signed approval (wire::Approval::oneTimePassword). The transfer posts only
// when both are in, before the challenge expires; Options::otpAttempts wrong
// entries fail the order (transfer voided). "Not me" is the phone's signed
// approval with decision not-me, as in flow 3.
//
// Nothing secret is stored: the codes are derived from a key only the server holds
// (HMAC over the order id and a random salt), and the table keeps the salt and a
// keyed hash of each code, compared in constant time.

#include <boxoffice/settlement/Settlement.h>

namespace boxoffice::settlement {

class OtpChallenges {
public:
    OtpChallenges(Settlement& settlement, const trust::SigningKey& serverKey);

    static std::vector<std::string> migration();
    static std::vector<std::string> attemptIdMigration();

    // What the phone shows: the codes of a pending challenge.
    struct Challenge {
        OrderView order;
        std::string otp;             // 6 digits, typed on the STB
        std::string acknowledgeCode; // returned by the phone in its signed approval
    };

    // True when an order of `amount` asked for with `method` needs a challenge; Error(InvalidArgument)
    // for an unknown method.
    bool required(std::int64_t amount, const std::string& method) const;
    // Opens the challenge of a new order (inside the order's transaction).
    void open(storage::Transaction& tx, const std::string& orderId, std::int64_t now, std::int64_t orderExpiresAt);
    // An order's challenge as read by a query that LEFT JOINs stl_otp AS otp and
    // selects statusColumns from column `first` on (all NULL: no challenge).
    static constexpr const char* statusColumns =
        "otp.attempts, otp.max_attempts, otp.expires_at, otp.entered_at, otp.acknowledged_at";
    static std::optional<OrderView::Otp> status(const storage::Row& row, std::size_t first);

    // The viewer's entry on the STB `deviceId`. Wrong: Error(PermissionDenied) with the
    // attempts left (the attempt is counted); the last wrong one fails the order
    // (Error(LimitExceeded)); too late: the order expires (Error(Expired)). Right: the
    // order, approved if the phone has acknowledged already. A retry after success
    // answers the order. `attemptId` (client-generated, may be empty) makes a wrong entry
    // idempotent: the same id with the same password again answers the same refusal without
    // counting; the same id with another password is Error(Conflict). Only the last wrong
    // entry's id is kept, which is all a client's immediate retry needs.
    OrderView enter(const std::string& deviceId, const std::string& orderId, const std::string& otp,
                    const std::string& attemptId = {});

    // Inside approve(): checks the acknowledge code of an approval for an order with a
    // challenge, records it; true when the viewer has entered the password too (the
    // purchase can complete). Error(PermissionDenied) for a missing or wrong code,
    // Error(Expired) past the challenge's time.
    bool acknowledge(storage::Transaction& tx, const std::string& orderId, const std::string& code, std::int64_t now);

    // Pending challenges of the phone's account, with their codes.
    std::vector<Challenge> challengesForPhone(const std::string& phoneId);

private:
    std::string code(const std::string& purpose, const std::string& orderId, ByteView salt) const;
    Bytes hash(const std::string& purpose, const std::string& orderId, const std::string& code) const;

    Settlement& settlement_;
    crypto::SecretBytes key_;
};

} // namespace boxoffice::settlement
