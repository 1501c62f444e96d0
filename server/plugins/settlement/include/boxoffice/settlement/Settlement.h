#pragma once
// Settlement of impulse purchases with the phone (DESIGN §5 flow 3), plus the
// account/device/phone bindings and the catalog it needs.
//
//   STB order (mTLS)      -> pending ledger transfer "order:<id>" + transaction number
//   phone's signed approval (transaction number, order, amount, currency, payee,
//   account, phone) that matches exactly -> transfer posted, ticket issued to
//   the STB (event key sealed to its X25519 key), receipt signed for the phone
//   phone's signed acknowledgement of the receipt -> order closed
//   decline -> voided; "not me" -> voided, account inhibited, device blocked
//   no decision in time -> expired (server time)
//
// Beside it, sharing its schema and its transactions (one concept per file):
//   OtpChallenges (Otp.h)  the one-time password on the second line (flow 4)
//   Deliveries (Deliveries.h) the STB's ticket delivery queue
//   Refunds (Refunds.h)    reversing transfers, revoked tickets, the signed revocation feed
//   Gifts (Gifts.h)        tickets bought on the phone for another account's STB, vouchers (flow 7)
//
// Every call is idempotent by the client's ids (order id; the approval and
// acknowledgement objects themselves): a retry answers the same, a different
// request for the same id is Error(Conflict). Each call is one database
// transaction, so a crash leaves either all or none of its effect.

#include <boxoffice/ledger/Ledger.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/Receipt.h>
#include <boxoffice/wire/Ticket.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::settlement {

// Key material the server signs and verifies with (from boxoffice-keytool's layout).
struct Keys {
    trust::TrustAnchor root;
    trust::Credentials issuer;           // ticket issuer
    trust::Credentials server;           // receipts
    trust::ServerAgreementKeys agreement;   // opens approvals relayed by STBs (server/agree.key.pem, retired/*)
    std::filesystem::path eventKeys;     // DIR/events/<keyDirName(id)>.key (hex)

    static Keys load(const std::filesystem::path& keysDir, const std::string& issuerId = "issuer-dev");
};

struct Event {
    std::string eventId;
    std::string title;
    std::string payee;                   // merchant ledger account credited
    std::int64_t price = 0;              // minor units
    std::string currency;
    std::int64_t saleFrom = 0;           // purchase window, unix seconds
    std::int64_t saleUntil = 0;
    std::int64_t startsAt = 0;           // broadcast
    std::int64_t endsAt = 0;
    std::int64_t previewSeconds = 0;
    bool blackout = false;
    std::string eventKeyId;
    std::int64_t views = 0;              // views a ticket allows, 1..65534; 0: unlimited
    std::int64_t playbackWindow = 0;     // a rental: seconds playable after the first play; 0: until endsAt

    bool operator==(const Event&) const = default;
};

struct OrderRequest {
    std::string orderId;                 // STB-generated, [A-Za-z0-9._-]{1,48}
    std::string eventId;
    std::int64_t amount = 0;             // the price the STB showed
    std::string currency;
    std::string method = "phone";        // "phone" | "otp" (the viewer asked for a one-time password)
};

// Failed: the one-time password was wrong too often. Refunded: posted, then reversed by the operator.
enum class OrderState { Pending, Approved, Closed, Declined, NotMe, Expired, Failed, Refunded };
std::string_view toString(OrderState state) noexcept;

struct OrderView {
    std::string orderId;
    std::string deviceId;
    std::string accountId;
    std::string eventId;
    std::string payee;
    std::int64_t amount = 0;
    std::string currency;
    std::string transactionNumber;
    OrderState state = OrderState::Pending;
    std::int64_t createdAt = 0;          // unix seconds
    std::int64_t expiresAt = 0;
    std::optional<wire::Ticket> ticket;  // once approved
    std::optional<wire::Receipt> receipt;
    // One-time password state (flow 4), for orders that need one. Never the codes themselves.
    struct Otp {
        std::int64_t attemptsLeft = 0;
        std::int64_t expiresAt = 0;
        bool entered = false;            // the viewer typed the right one on the STB
        bool acknowledged = false;       // the phone returned the acknowledge code (signed)
    };
    std::optional<Otp> otp;
};

struct Options {
    std::int64_t pendingSeconds = 300;   // an order not approved in this time expires
    std::int64_t registrationSeconds = 600; // a registration code is valid this long
    std::int64_t otpAbove = 0;           // orders above this amount need a one-time password (0: only on request)
    std::int64_t otpSeconds = 180;       // a one-time password is valid this long (at most until the order expires)
    std::int64_t otpAttempts = 3;        // wrong entries allowed before the order fails
    std::int64_t registrationAttempts = 5; // wrong registration codes a phone may present per registrationSeconds
};

class OtpChallenges;
class Deliveries;
class Refunds;
class Gifts;

class Settlement {
public:
    // Migrates the "settlement" schema (and the ledger's, through `ledger`).
    // `revocations`: the operator root's revocation list (the server's), checked
    // whenever a registered device's or phone's certificate is used; it must
    // outlive the settlement.
    Settlement(ledger::Ledger& ledger, Keys keys, Options options = {},
               const trust::RevocationState* revocations = nullptr);
    ~Settlement();

    static const storage::Schema& schema();

    // --- accounts and devices (operator) ---
    // Verifies the certificate against the root (role, validity, revocation) and binds it to the account.
    void registerDevice(const wire::Certificate& certificate, const std::string& accountId);
    void registerPhone(const wire::Certificate& certificate, const std::string& accountId);
    // The registered phone's key while its certificate is in force (valid now, not revoked).
    std::optional<crypto::P256PublicKey> phoneKey(const std::string& phoneId);
    // Error(PermissionDenied) for an unregistered or blocked device, the certificate's
    // error (Expired, Revoked, ...) when the registered one is no longer in force.
    void checkDevice(const std::string& deviceId);
    void unblockDevice(const std::string& deviceId);
    // Clears a "not me" inhibition on the account (operator).
    void clearAccount(const std::string& accountId);
    // The account holder clears it from the phone: the inhibition and the blocks on the
    // account's STBs. Returns the account id.
    std::string clearAccountByPhone(const std::string& phoneId);

    // --- registration, device-code flow (RFC 8628 in spirit) ---
    // The STB (authenticated by its TLS certificate) asks for a short code to show on
    // the TV; `certificate` is its root-issued device certificate (subject must be
    // deviceId). An unexpired pending code for the device is returned again.
    struct Registration {
        std::string code;        // 8 characters, easy to type
        std::string deviceId;
        std::string state;       // pending | completed | expired
        std::string accountId;   // once completed
        std::int64_t expiresAt = 0;
    };
    Registration startRegistration(const std::string& deviceId, const wire::Certificate& certificate);
    // The phone presents the code over its own line: binds the device to the phone's
    // account (again the same answer for a retry). Unknown, expired or used by another
    // account: NotFound, counted; past Options::registrationAttempts wrong codes within
    // registrationSeconds: LimitExceeded, whatever the code.
    Registration completeRegistration(const std::string& phoneId, const std::string& code);
    Registration registration(const std::string& deviceId, const std::string& code);

    // --- catalog (operator) ---
    void putEvent(const Event& event);
    std::vector<Event> events();

    // --- the purchase ---
    OrderView order(const std::string& deviceId, const OrderRequest& request);
    // `phoneId`: the phone that sent it (signed request), or empty when relayed by the STB.
    OrderView approve(const std::string& phoneId, const wire::Approval& approval);
    // An approval relayed by STB `deviceId`, sealed to the server (trust/SealedApproval.h): opened,
    // checked to be for that STB's order, then as approve(). WrongAudience when sealed to a server
    // key this server does not hold (current or retired) or for another device's order;
    // BadSignature when it does not open.
    OrderView approveRelayed(const std::string& deviceId, ByteView sealedApproval);
    OrderView acknowledge(const std::string& phoneId, const wire::Acknowledgement& acknowledgement);
    OrderView orderById(const std::string& orderId);
    OrderView orderByTransaction(const std::string& transactionNumber);
    std::vector<OrderView> ordersOfAccount(const std::string& accountId, std::size_t limit = 100);
    std::string accountOfPhone(const std::string& phoneId);
    // Expires pending orders whose time is up; returns how many.
    std::size_t expireDue();

    // DESIGN §6 invariants that involve settlement: one transfer per order in a
    // matching state, every ticket traces to exactly one posted transfer.
    static std::vector<std::string> checkInvariants(storage::Transaction& tx);

    ledger::Ledger& ledger() noexcept { return ledger_; }
    std::int64_t nowSeconds() const { return ledger_.now() / 1000; }
    const Keys& keys() const noexcept { return keys_; }
    const Options& options() const noexcept { return options_; }

    OtpChallenges& otp() noexcept { return *otp_; }
    Deliveries& deliveries() noexcept { return *deliveries_; }
    Refunds& refunds() noexcept { return *refunds_; }
    Gifts& gifts() noexcept { return *gifts_; }

    // --- for the settlement components, inside one Database::write transaction ---
    OrderView load(storage::Transaction& tx, const std::string& orderId);
    std::optional<Event> findEvent(storage::Transaction& tx, const std::string& eventId);
    // A purchase's ticket and receipt signed before its write transaction: the sealing and
    // signing then run on the request's own thread instead of inside the one writer that
    // every purchase queues for (storage group commit).
    struct PreparedPurchase {
        std::string orderId;
        Event event;                     // as read when prepared
        Bytes holderCertificate;         // the ordering device's, encoded as stored
        std::int64_t issuedAt = 0;
        wire::Ticket ticket;
        wire::Receipt receipt;
    };
    // Reads the order's event and device (own read transaction) and signs; nullopt when the
    // event is missing, Error(NotFound) for an unregistered STB (completePurchase() reports both).
    std::optional<PreparedPurchase> preparePurchase(const OrderView& order);
    // Posts the order's pending transfer, issues its ticket (queued for the STB) and
    // the receipt; the approval (phone id, encoded) is stored with it. Nothing when
    // the transfer's time is up: the order is expired instead (returned in that state).
    // `prepared` is used only if it is this order's and its event and holder certificate
    // are still those in the transaction; otherwise the ticket is issued here.
    OrderView completePurchase(storage::Transaction& tx, const OrderView& order, const std::string& phoneId,
                               const Bytes& encodedApproval, const PreparedPurchase* prepared = nullptr);
    // Ends a pending order without a sale: its transfer voided (or expired when its
    // time is up), the order in `state`.
    OrderView endOrder(storage::Transaction& tx, const OrderView& order, OrderState state);
    // A ticket for `deviceId` (registered), its event key sealed to the device, signed by the issuer.
    wire::Ticket issueTicket(storage::Transaction& tx, const std::string& ticketId, const std::string& orderId,
                             const Event& event, const std::string& deviceId, std::int64_t now,
                             wire::TicketKind kind = wire::TicketKind::Ppv,
                             wire::TicketStatus status = wire::TicketStatus::Active);

private:
    std::optional<OrderView> find(storage::Transaction& tx, const std::string& column, const std::string& value);
    // The device's certificate as stored; Error(NotFound) for an unregistered STB.
    static Bytes deviceCertificate(storage::Transaction& tx, const std::string& deviceId);
    // An event (none if unknown) with its holder's certificate as stored; Error(NotFound) for an unregistered STB.
    static std::optional<std::pair<Event, Bytes>> eventAndHolder(storage::Transaction& tx, const std::string& eventId,
                                                                 const std::string& deviceId);
    wire::Ticket signTicket(const std::string& ticketId, const std::string& orderId, const Event& event,
                            const std::string& deviceId, ByteView holderCertificate, std::int64_t now,
                            wire::TicketKind kind, wire::TicketStatus status) const;
    // The order's ticket and the receipt for the phone, signed now.
    PreparedPurchase signPurchase(const OrderView& order, Event event, Bytes holderCertificate) const;

    ledger::Ledger& ledger_;
    storage::Database& db_;
    Keys keys_;
    Options options_;
    const trust::RevocationState* revocations_;
    std::unique_ptr<OtpChallenges> otp_;
    std::unique_ptr<Deliveries> deliveries_;
    std::unique_ptr<Refunds> refunds_;
    std::unique_ptr<Gifts> gifts_;
};

} // namespace boxoffice::settlement
