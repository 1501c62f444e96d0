#include <boxoffice/settlement/Settlement.h>

#include <boxoffice/settlement/Deliveries.h>
#include <boxoffice/settlement/Gifts.h>
#include <boxoffice/settlement/Otp.h>
#include <boxoffice/settlement/Refunds.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/SealedApproval.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/trust/TicketIssuer.h>
#include <boxoffice/wire/Ticket.h>
#include <boxoffice/wire/Types.h>

#include <algorithm>
#include <array>

namespace boxoffice::settlement {
namespace {

using storage::Row;
using storage::Transaction;

constexpr const char* kOrderColumns =
    "o.order_id, o.device_id, o.account_id, o.event_id, o.payee, o.amount, o.currency, o.transaction_number,"
    " o.state, o.created_at, o.expires_at, o.ticket, o.receipt";
// Columns of a select list: where the columns that follow it start.
constexpr std::size_t columnCount(std::string_view columns)
{
    return static_cast<std::size_t>(std::count(columns.begin(), columns.end(), ',')) + 1;
}
constexpr std::size_t kOrderColumnCount = columnCount(kOrderColumns);

constexpr std::array<std::pair<OrderState, std::string_view>, 8> kStates{{
    {OrderState::Pending, "pending"},
    {OrderState::Approved, "approved"},
    {OrderState::Closed, "closed"},
    {OrderState::Declined, "declined"},
    {OrderState::NotMe, "not-me"},
    {OrderState::Expired, "expired"},
    {OrderState::Failed, "failed"},
    {OrderState::Refunded, "refunded"},
}};

OrderState stateFrom(std::string_view s)
{
    for (const auto& [state, name] : kStates)
        if (name == s) return state;
    throw Error(ErrorCode::Storage, "unknown order state '" + std::string(s) + "'");
}

std::string transferId(const std::string& orderId) { return "order:" + orderId; }

void checkOrderId(const std::string& id)
{
    bool ok = !id.empty() && id.size() <= 48;
    for (char c : id)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-');
    if (!ok) throw Error(ErrorCode::InvalidArgument, "order id must be 1..48 characters of [A-Za-z0-9._-]");
}

// Characters from an alphabet without look-alikes (32: no modulo bias), easy to read out.
std::string randomCode(std::size_t length)
{
    static constexpr std::string_view alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const auto random = crypto::randomBytes(length);
    std::string out;
    for (auto b : random) out.push_back(alphabet[b % alphabet.size()]);
    return out;
}

std::string newTransactionNumber()
{
    static constexpr std::string_view alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const auto random = crypto::randomBytes(12);
    std::string out;
    for (auto b : random) out.push_back(alphabet[b % alphabet.size()]);
    return out;
}

Bytes readEventKey(const std::filesystem::path& dir, const std::string& keyId)
{
    auto text = trust::readKeyFile(dir / (trust::keyDirName(keyId) + ".key"));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    return fromHex(text, "event key");
}

Event eventFrom(const Row& r)
{
    Event e;
    e.eventId = r.text(0);
    e.title = r.text(1);
    e.payee = r.text(2);
    e.price = r.int64(3);
    e.currency = r.text(4);
    e.saleFrom = r.int64(5);
    e.saleUntil = r.int64(6);
    e.startsAt = r.int64(7);
    e.endsAt = r.int64(8);
    e.previewSeconds = r.int64(9);
    e.blackout = r.int64(10) != 0;
    e.eventKeyId = r.text(11);
    e.views = r.int64(12);
    e.playbackWindow = r.int64(13);
    return e;
}

// Dynamic linking: every element the phone displayed must match what is charged.
// The error to refuse `approval` for `order` with, if any.
std::optional<Error> approvalMismatch(const OrderView& order, const wire::Approval& approval,
                                      const std::string& phoneAccount)
{
    if (order.accountId != phoneAccount || approval.accountId != order.accountId)
        return Error(ErrorCode::WrongAudience, "this phone does not belong to the ordering account");
    if (approval.orderId != order.orderId) return Error(ErrorCode::Conflict, "approval names another order");
    if (approval.amount != order.amount || approval.currency != order.currency)
        return Error(ErrorCode::Conflict, "approval amount does not match the transaction");
    if (approval.payee != order.payee) return Error(ErrorCode::Conflict, "approval payee does not match");
    return std::nullopt;
}

constexpr const char* kEventColumns = "event_id, title, payee, price, currency, sale_from, sale_until, starts_at,"
                                      " ends_at, preview_seconds, blackout, event_key_id, views, playback_window";
constexpr std::size_t kEventColumnCount = columnCount(kEventColumns);

} // namespace

std::string_view toString(OrderState state) noexcept
{
    for (const auto& [s, name] : kStates)
        if (s == state) return name;
    return "?";
}

const storage::Schema& Settlement::schema()
{
    static const storage::Schema schema{
        "settlement",
        {
            {"devices, phones, events, orders, tickets",
             {"CREATE TABLE stl_device (device_id {text} PRIMARY KEY, account_id {text} NOT NULL,"
              " certificate {blob} NOT NULL, blocked {int64} NOT NULL DEFAULT 0, registered_at {int64} NOT NULL)",
              "CREATE TABLE stl_phone (phone_id {text} PRIMARY KEY, account_id {text} NOT NULL,"
              " certificate {blob} NOT NULL, registered_at {int64} NOT NULL)",
              "CREATE TABLE stl_event (event_id {text} PRIMARY KEY, title {text} NOT NULL, payee {text} NOT NULL,"
              " price {int64} NOT NULL, currency {text} NOT NULL, sale_from {int64} NOT NULL,"
              " sale_until {int64} NOT NULL, starts_at {int64} NOT NULL, ends_at {int64} NOT NULL,"
              " preview_seconds {int64} NOT NULL, blackout {int64} NOT NULL, event_key_id {text} NOT NULL)",
              "CREATE TABLE stl_order (order_id {text} PRIMARY KEY, device_id {text} NOT NULL,"
              " account_id {text} NOT NULL, event_id {text} NOT NULL, payee {text} NOT NULL,"
              " amount {int64} NOT NULL, currency {text} NOT NULL, transaction_number {text} NOT NULL UNIQUE,"
              " state {text} NOT NULL, created_at {int64} NOT NULL, expires_at {int64} NOT NULL,"
              " phone_id {text}, approval {blob}, ticket {blob}, receipt {blob}, acknowledgement {blob})",
              "CREATE INDEX stl_order_account ON stl_order (account_id, created_at)",
              "CREATE INDEX stl_order_pending ON stl_order (state, expires_at)",
              "CREATE TABLE stl_ticket (ticket_id {text} PRIMARY KEY, order_id {text} NOT NULL UNIQUE,"
              " transfer_id {text} NOT NULL, device_id {text} NOT NULL, issued_at {int64} NOT NULL)"}},
            {"registrations",
             {"CREATE TABLE stl_registration (code {text} PRIMARY KEY, device_id {text} NOT NULL,"
              " certificate {blob} NOT NULL, created_at {int64} NOT NULL, expires_at {int64} NOT NULL,"
              " account_id {text}, completed_at {int64})",
              "CREATE INDEX stl_registration_device ON stl_registration (device_id, expires_at)"}},
            {"one-time password challenges", OtpChallenges::migration()},
            {"ticket delivery queue", Deliveries::migration()},
            {"refunds and revocations", Refunds::migration()},
            {"gifts", Gifts::migration()},
            {"dormant tickets", Deliveries::dormantMigration()},
            {"wrong registration codes",
             {"CREATE TABLE stl_registration_failure (phone_id {text} NOT NULL, at {int64} NOT NULL)",
              "CREATE INDEX stl_registration_failure_phone ON stl_registration_failure (phone_id, at)"}},
            // Tickets with a number of views and rentals (a playback window after the first play).
            {"event views and playback window",
             {"ALTER TABLE stl_event ADD COLUMN views {int64} NOT NULL DEFAULT 0",
              "ALTER TABLE stl_event ADD COLUMN playback_window {int64} NOT NULL DEFAULT 0"}},
            // Every price an event has had, from when it was set: a box without a line
            // may buy at a price its catalog still shows after the operator changed it.
            {"event price history",
             {"CREATE TABLE stl_event_price (event_id {text} NOT NULL, price {int64} NOT NULL,"
              " currency {text} NOT NULL, since {int64} NOT NULL)",
              "CREATE INDEX stl_event_price_event ON stl_event_price (event_id, since)",
              "INSERT INTO stl_event_price (event_id, price, currency, since)"
              " SELECT event_id, price, currency, 0 FROM stl_event"}},
            {"one-time password entry ids", OtpChallenges::attemptIdMigration()},
        }};
    return schema;
}

Settlement::Settlement(ledger::Ledger& ledger, Keys keys, Options options, const trust::RevocationState* revocations)
    : ledger_(ledger), db_(ledger.database()), keys_(std::move(keys)), options_(options), revocations_(revocations)
{
    db_.migrate(schema());
    otp_ = std::make_unique<OtpChallenges>(*this, keys_.server.key);
    deliveries_ = std::make_unique<Deliveries>(*this);
    refunds_ = std::make_unique<Refunds>(*this);
    gifts_ = std::make_unique<Gifts>(*this);
}

Settlement::~Settlement() = default;

void Settlement::registerDevice(const wire::Certificate& certificate, const std::string& accountId)
{
    trust::verifyCertificate(certificate, keys_.root, wire::CertificateRole::Device, nowSeconds(), revocations_);
    if (certificate.agreementKey.size() != 32)
        throw Error(ErrorCode::InvalidArgument, "device certificate has no X25519 agreement key");
    ledger_.account(accountId); // NotFound for an unknown account
    db_.write([&](Transaction& tx) {
        tx.execute("INSERT INTO stl_device (device_id, account_id, certificate, registered_at) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (device_id) DO UPDATE SET account_id = excluded.account_id,"
                   " certificate = excluded.certificate",
                   {certificate.subject, accountId, certificate.encode(), nowSeconds()});
    });
}

void Settlement::registerPhone(const wire::Certificate& certificate, const std::string& accountId)
{
    trust::verifyCertificate(certificate, keys_.root, wire::CertificateRole::Phone, nowSeconds(), revocations_);
    if (certificate.keyAlgorithm != wire::SignatureAlgorithm::EcdsaP256Sha256)
        throw Error(ErrorCode::InvalidArgument, "a phone key must be P-256");
    ledger_.account(accountId);
    db_.write([&](Transaction& tx) {
        tx.execute("INSERT INTO stl_phone (phone_id, account_id, certificate, registered_at) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (phone_id) DO UPDATE SET account_id = excluded.account_id,"
                   " certificate = excluded.certificate",
                   {certificate.subject, accountId, certificate.encode(), nowSeconds()});
    });
}

std::optional<crypto::P256PublicKey> Settlement::phoneKey(const std::string& phoneId)
{
    auto row = db_.query("SELECT certificate FROM stl_phone WHERE phone_id = ?", {phoneId}).single();
    if (!row) return std::nullopt;
    const auto cert = wire::Certificate::decode(row->blob(0));
    try {
        trust::checkInForce(cert, wire::CertificateRole::Phone, nowSeconds(), revocations_);
    } catch (const Error&) {
        return std::nullopt;  // as unknown: the server's answer gives no oracle for phone ids
    }
    return crypto::P256PublicKey::fromRaw(cert.publicKey);
}

std::string Settlement::accountOfPhone(const std::string& phoneId)
{
    auto row = db_.query("SELECT account_id FROM stl_phone WHERE phone_id = ?", {phoneId}).single();
    if (!row) throw Error(ErrorCode::PermissionDenied, "phone " + phoneId + " is not registered");
    return row->text(0);
}

void Settlement::checkDevice(const std::string& deviceId)
{
    auto row = db_.query("SELECT blocked, certificate FROM stl_device WHERE device_id = ?", {deviceId}).single();
    if (!row) throw Error(ErrorCode::PermissionDenied, "device " + deviceId + " is not registered");
    if (row->int64(0) != 0)
        throw Error(ErrorCode::PermissionDenied, "device " + deviceId + " is blocked after a 'not me' report");
    trust::checkInForce(wire::Certificate::decode(row->blob(1)), wire::CertificateRole::Device, nowSeconds(),
                        revocations_);
}

void Settlement::unblockDevice(const std::string& deviceId)
{
    db_.write([&](Transaction& tx) {
        if (tx.execute("UPDATE stl_device SET blocked = 0 WHERE device_id = ?", {deviceId}) != 1)
            throw Error(ErrorCode::NotFound, "no device " + deviceId);
    });
}

void Settlement::clearAccount(const std::string& accountId) { ledger_.setInhibited(accountId, false); }

std::string Settlement::clearAccountByPhone(const std::string& phoneId)
{
    const auto accountId = accountOfPhone(phoneId);
    db_.write([&](Transaction& tx) {
        ledger_.setInhibited(tx, accountId, false);
        tx.execute("UPDATE stl_device SET blocked = 0 WHERE account_id = ?", {accountId});
    });
    return accountId;
}

Settlement::Registration Settlement::startRegistration(const std::string& deviceId,
                                                       const wire::Certificate& certificate)
{
    trust::verifyCertificate(certificate, keys_.root, wire::CertificateRole::Device, nowSeconds(), revocations_);
    if (certificate.subject != deviceId)
        throw Error(ErrorCode::WrongAudience, "the device certificate is not this TLS client's");
    if (certificate.agreementKey.size() != 32)
        throw Error(ErrorCode::InvalidArgument, "device certificate has no X25519 agreement key");
    const auto now = nowSeconds();
    return db_.write([&](Transaction& tx) {
        auto row = tx.query("SELECT code, expires_at FROM stl_registration WHERE device_id = ? AND expires_at > ?"
                            " AND completed_at IS NULL ORDER BY expires_at DESC LIMIT 1",
                            {deviceId, now})
                       .single();
        if (row) return Registration{row->text(0), deviceId, "pending", {}, row->int64(1)};
        Registration r{randomCode(8), deviceId, "pending", {}, now + options_.registrationSeconds};
        tx.execute("INSERT INTO stl_registration (code, device_id, certificate, created_at, expires_at)"
                   " VALUES (?, ?, ?, ?, ?)",
                   {r.code, deviceId, certificate.encode(), now, r.expiresAt});
        return r;
    });
}

Settlement::Registration Settlement::completeRegistration(const std::string& phoneId, const std::string& code)
{
    const auto accountId = accountOfPhone(phoneId);
    const auto now = nowSeconds();
    struct Attempt {
        std::optional<Registration> registration;
        std::optional<Error> refused;  // thrown after the commit, which keeps the failure counted
    };
    const auto attempt = db_.write([&](Transaction& tx) -> Attempt {
        // Wrong codes are counted per phone in the database, so every server process
        // enforces the same limit; a code is 40 bits, the limit makes guessing hopeless.
        const auto windowStart = now - options_.registrationSeconds;
        tx.execute("DELETE FROM stl_registration_failure WHERE phone_id = ? AND at <= ?", {phoneId, windowStart});
        const auto failures = tx.query("SELECT CAST(COUNT(*) AS BIGINT) FROM stl_registration_failure"
                                       " WHERE phone_id = ?",
                                       {phoneId})
                                  .single()
                                  ->int64(0);
        if (failures >= options_.registrationAttempts)
            return {std::nullopt, Error(ErrorCode::LimitExceeded, "too many wrong registration codes from this phone;"
                                                                  " try again later")};
        auto wrong = [&]() -> Attempt {
            tx.execute("INSERT INTO stl_registration_failure (phone_id, at) VALUES (?, ?)", {phoneId, now});
            // One answer for unknown, expired and another account's codes: nothing for a guesser to learn.
            return {std::nullopt, Error(ErrorCode::NotFound, "unknown or expired registration code")};
        };
        auto row = tx.query("SELECT device_id, certificate, expires_at, account_id FROM stl_registration"
                            " WHERE code = ?",
                            {code})
                       .single();
        if (!row) return wrong();
        const auto deviceId = row->text(0);
        if (auto done = row->optText(3)) {
            if (*done == accountId) return {Registration{code, deviceId, "completed", accountId, row->int64(2)}, {}};
            return wrong();
        }
        if (row->int64(2) <= now) return wrong();
        tx.execute("UPDATE stl_registration SET account_id = ?, completed_at = ? WHERE code = ?",
                   {accountId, now, code});
        tx.execute("INSERT INTO stl_device (device_id, account_id, certificate, registered_at) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (device_id) DO UPDATE SET account_id = excluded.account_id,"
                   " certificate = excluded.certificate",
                   {deviceId, accountId, row->blob(1), now});
        return {Registration{code, deviceId, "completed", accountId, row->int64(2)}, {}};
    });
    if (attempt.refused) throw *attempt.refused;
    return *attempt.registration;
}

Settlement::Registration Settlement::registration(const std::string& deviceId, const std::string& code)
{
    auto row = db_.query("SELECT device_id, expires_at, account_id FROM stl_registration WHERE code = ?", {code})
                   .single();
    if (!row || row->text(0) != deviceId) throw Error(ErrorCode::NotFound, "unknown registration code");
    if (auto account = row->optText(2)) return {code, deviceId, "completed", *account, row->int64(1)};
    return {code, deviceId, row->int64(1) <= nowSeconds() ? "expired" : "pending", {}, row->int64(1)};
}

void Settlement::putEvent(const Event& e)
{
    // What goes into tickets must fit the wire format, checked here rather than
    // when a phone has already approved an order.
    wire::checkId(e.eventId, "event id");
    wire::checkId(e.payee, "payee");
    wire::checkId(e.eventKeyId, "event key id");
    ledger::checkCurrency(e.currency);
    for (const auto t : {e.saleFrom, e.saleUntil, e.startsAt, e.endsAt})
        if (t < 0 || t > wire::maxTime)
            throw Error(ErrorCode::InvalidArgument, "times must be 0.." + std::to_string(wire::maxTime));
    if (e.price <= 0 || e.price > wire::maxAmount) throw Error(ErrorCode::InvalidArgument, "price out of range");
    if (e.saleUntil <= e.saleFrom || e.endsAt <= e.startsAt)
        throw Error(ErrorCode::InvalidArgument, "sale window and broadcast times must be ordered");
    if (e.previewSeconds < 0 || e.previewSeconds > wire::maxPreviewSeconds)
        throw Error(ErrorCode::InvalidArgument,
                    "preview allowance must be 0.." + std::to_string(wire::maxPreviewSeconds) + " seconds");
    if (e.views < 0 || e.views >= wire::unlimitedViews)
        throw Error(ErrorCode::InvalidArgument,
                    "views must be 1.." + std::to_string(wire::unlimitedViews - 1) + ", or 0 for unlimited");
    if (e.playbackWindow < 0 || e.playbackWindow > wire::maxPlaybackWindow)
        throw Error(ErrorCode::InvalidArgument,
                    "playback window must be 0.." + std::to_string(wire::maxPlaybackWindow) + " seconds");
    if (e.title.empty() || e.title.size() > 200) throw Error(ErrorCode::InvalidArgument, "title must be 1..200 bytes");
    if (ledger_.account(e.payee).spec.currency != e.currency)
        throw Error(ErrorCode::InvalidArgument, "payee account currency differs from the price's");
    readEventKey(keys_.eventKeys, e.eventKeyId); // the key must exist before anyone can buy
    db_.write([&](Transaction& tx) {
        // A new price is in force from now on; an event's first price from the start.
        const auto latest = tx.query("SELECT price, currency FROM stl_event_price WHERE event_id = ?"
                                     " ORDER BY since DESC LIMIT 1",
                                     {e.eventId})
                                .single();
        if (!latest || latest->int64(0) != e.price || latest->text(1) != e.currency)
            tx.execute("INSERT INTO stl_event_price (event_id, price, currency, since) VALUES (?, ?, ?, ?)",
                       {e.eventId, e.price, e.currency, latest ? nowSeconds() : std::int64_t{0}});
        tx.execute(std::string("INSERT INTO stl_event (") + kEventColumns +
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET"
                       " title = excluded.title, payee = excluded.payee, price = excluded.price,"
                       " currency = excluded.currency, sale_from = excluded.sale_from,"
                       " sale_until = excluded.sale_until, starts_at = excluded.starts_at,"
                       " ends_at = excluded.ends_at, preview_seconds = excluded.preview_seconds,"
                       " blackout = excluded.blackout, event_key_id = excluded.event_key_id,"
                       " views = excluded.views, playback_window = excluded.playback_window",
                   {e.eventId, e.title, e.payee, e.price, e.currency, e.saleFrom, e.saleUntil, e.startsAt, e.endsAt,
                    e.previewSeconds, e.blackout ? 1 : 0, e.eventKeyId, e.views, e.playbackWindow});
    });
}

std::vector<Event> Settlement::events()
{
    std::vector<Event> out;
    for (const auto& r : db_.query(std::string("SELECT ") + kEventColumns + " FROM stl_event ORDER BY starts_at"))
        out.push_back(eventFrom(r));
    return out;
}

namespace {

// An order with its OTP challenge in one query: it runs several times per purchase.
std::string orderSelect(const std::string& column)
{
    return std::string("SELECT ") + kOrderColumns + ", " + OtpChallenges::statusColumns +
           " FROM stl_order o LEFT JOIN stl_otp otp ON otp.order_id = o.order_id WHERE o." + column + " = ?";
}

std::optional<OrderView> orderFrom(const std::optional<Row>& row)
{
    if (!row) return std::nullopt;
    OrderView o;
    o.orderId = row->text(0);
    o.deviceId = row->text(1);
    o.accountId = row->text(2);
    o.eventId = row->text(3);
    o.payee = row->text(4);
    o.amount = row->int64(5);
    o.currency = row->text(6);
    o.transactionNumber = row->text(7);
    o.state = stateFrom(row->text(8));
    o.createdAt = row->int64(9);
    o.expiresAt = row->int64(10);
    if (auto t = row->optBlob(11)) o.ticket = wire::Ticket::decode(*t);
    if (auto r = row->optBlob(12)) o.receipt = wire::Receipt::decode(*r);
    o.otp = OtpChallenges::status(*row, kOrderColumnCount);
    return o;
}

// An event and a device's certificate in one round trip; parameters: device id, event id.
std::string eventAndHolderSelect()
{
    return std::string("SELECT ") + kEventColumns +
           ", (SELECT certificate FROM stl_device WHERE device_id = ?) FROM stl_event WHERE event_id = ?";
}

std::optional<std::pair<Event, Bytes>> eventAndHolderFrom(const std::optional<Row>& row, const std::string& deviceId)
{
    if (!row) return std::nullopt;
    auto certificate = row->optBlob(kEventColumnCount);
    if (!certificate) throw Error(ErrorCode::NotFound, "no registered STB " + deviceId);
    return std::pair{eventFrom(*row), std::move(*certificate)};
}

} // namespace

std::optional<OrderView> Settlement::find(Transaction& tx, const std::string& column, const std::string& value)
{
    return orderFrom(tx.query(orderSelect(column), {value}).single());
}

OrderView Settlement::load(Transaction& tx, const std::string& orderId)
{
    auto o = find(tx, "order_id", orderId);
    if (!o) throw Error(ErrorCode::NotFound, "no order " + orderId);
    return *o;
}

OrderView Settlement::orderById(const std::string& orderId)
{
    checkOrderId(orderId);
    auto o = orderFrom(db_.query(orderSelect("order_id"), {orderId}).single());
    if (!o) throw Error(ErrorCode::NotFound, "no order " + orderId);
    return *o;
}

OrderView Settlement::orderByTransaction(const std::string& transactionNumber)
{
    auto o = orderFrom(db_.query(orderSelect("transaction_number"), {transactionNumber}).single());
    if (!o) throw Error(ErrorCode::NotFound, "no transaction " + transactionNumber);
    return *o;
}

std::vector<OrderView> Settlement::ordersOfAccount(const std::string& accountId, std::size_t limit)
{
    return db_.read([&](Transaction& tx) {
        std::vector<OrderView> out;
        for (const auto& r : tx.query("SELECT order_id FROM stl_order WHERE account_id = ? ORDER BY created_at DESC"
                                      " LIMIT ?",
                                      {accountId, static_cast<std::int64_t>(limit)}))
            out.push_back(load(tx, r.text(0)));
        return out;
    });
}

OrderView Settlement::order(const std::string& deviceId, const OrderRequest& request)
{
    checkOrderId(request.orderId);
    ledger::checkId(request.eventId, "event id");
    ledger::checkCurrency(request.currency);
    if (request.amount <= 0 || request.amount > wire::maxAmount)
        throw Error(ErrorCode::InvalidArgument, "amount must be 1.." + std::to_string(wire::maxAmount));
    const bool needsOtp = otp_->required(request.amount, request.method);
    auto run = [&](Transaction& tx) {
        if (auto existing = find(tx, "order_id", request.orderId)) {
            if (existing->deviceId != deviceId || existing->eventId != request.eventId ||
                existing->amount != request.amount || existing->currency != request.currency ||
                (request.method == "otp" && !existing->otp))
                throw Error(ErrorCode::Conflict, "order id " + request.orderId + " was used for another order");
            return *existing;
        }
        // The event's columns, then the device's: one round trip; no row means no such device.
        auto row = tx.query(std::string("SELECT ") + kEventColumns +
                                ", d.account_id, d.blocked FROM stl_device d LEFT JOIN stl_event e"
                                " ON e.event_id = ? WHERE d.device_id = ?",
                            {request.eventId, deviceId})
                       .single();
        if (!row) throw Error(ErrorCode::PermissionDenied, "device " + deviceId + " is not registered");
        if (row->int64(kEventColumnCount + 1) != 0)
            throw Error(ErrorCode::PermissionDenied, "device " + deviceId + " is blocked");
        if (row->isNull(0)) throw Error(ErrorCode::NotFound, "no event " + request.eventId);
        const Event event = eventFrom(*row);
        const auto now = nowSeconds();
        if (event.blackout) throw Error(ErrorCode::PermissionDenied, "event " + event.eventId + " is blacked out");
        if (now < event.saleFrom) throw Error(ErrorCode::NotYetValid, "sales for this event have not opened");
        if (now >= event.saleUntil) throw Error(ErrorCode::Expired, "sales for this event have closed");
        // What the viewer saw must be what is charged.
        if (event.price != request.amount || event.currency != request.currency)
            throw Error(ErrorCode::Conflict, "the price of " + event.eventId + " is " + std::to_string(event.price) +
                                                 " " + event.currency);
        const auto accountId = row->text(kEventColumnCount);
        try {
            ledger_.create(tx, {transferId(request.orderId), accountId, event.payee, request.amount, request.currency,
                                options_.pendingSeconds, "order " + request.orderId});
        } catch (const Error& e) {
            // PermissionDenied from the ledger: the account is inhibited (Ledger::create); say why.
            if (e.code() != ErrorCode::PermissionDenied) throw;
            throw Error(ErrorCode::PermissionDenied, "account " + accountId + " is inhibited after a 'not me' report:"
                                                     " the operator or the account holder must clear it");
        }
        OrderView placed;
        placed.orderId = request.orderId;
        placed.deviceId = deviceId;
        placed.accountId = accountId;
        placed.eventId = event.eventId;
        placed.payee = event.payee;
        placed.amount = request.amount;
        placed.currency = request.currency;
        placed.transactionNumber = newTransactionNumber();
        placed.createdAt = now;
        placed.expiresAt = now + options_.pendingSeconds;
        // Sent with the unit's end (executeDeferred); a clash there fails the unit as AlreadyExists.
        tx.executeDeferred("INSERT INTO stl_order (order_id, device_id, account_id, event_id, payee, amount, currency,"
                           " transaction_number, state, created_at, expires_at)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           {placed.orderId, deviceId, accountId, placed.eventId, placed.payee, placed.amount,
                            placed.currency, placed.transactionNumber, toString(placed.state), placed.createdAt,
                            placed.expiresAt});
        if (!needsOtp) return placed; // exactly the row written: no need to read it back
        otp_->open(tx, request.orderId, now, placed.expiresAt);
        return load(tx, request.orderId);
    };
    try {
        return db_.write(run);
    } catch (const Error& e) {
        // Lost a race with a concurrent duplicate (or, once in 10^18, a transaction number clash).
        if (e.code() != ErrorCode::AlreadyExists) throw;
        return db_.write(run);
    }
}

OrderView Settlement::approveRelayed(const std::string& deviceId, ByteView sealedApproval)
{
    // Sealed to the current key, or to one rotated out (the box had not learnt the new one).
    const auto keyId = trust::peekSealedApproval(sealedApproval).serverKeyId;
    const auto approval = trust::openSealedApproval(sealedApproval, keys_.agreement.forKeyId(keyId), keyId);
    if (orderByTransaction(approval.transactionNumber).deviceId != deviceId)
        throw Error(ErrorCode::WrongAudience, "approval is for another device's order");
    return approve({}, approval);
}

OrderView Settlement::approve(const std::string& phoneId, const wire::Approval& approval)
{
    if (!phoneId.empty() && approval.phoneId != phoneId)
        throw Error(ErrorCode::WrongAudience, "approval is signed for another phone");
    // Two reads (the write below decides again on what it reads itself).
    auto phone = db_.query("SELECT account_id, certificate FROM stl_phone WHERE phone_id = ?", {approval.phoneId})
                     .single();
    auto pending = orderFrom(db_.query(orderSelect("transaction_number"), {approval.transactionNumber}).single());
    if (!phone) throw Error(ErrorCode::PermissionDenied, "phone " + approval.phoneId + " is not registered");
    // Relayed approvals come without a signed request: the certificate is checked here for both.
    trust::verifySignature(approval, trust::keyInForce(wire::Certificate::decode(phone->blob(1)),
                                                       wire::CertificateRole::Phone, nowSeconds(), revocations_));
    const auto phoneAccount = phone->text(0);
    const auto encodedApproval = approval.encode();
    // A plain approval that will most likely complete the purchase: its ticket is signed out here.
    // The transaction below decides again on what it reads itself, and reports any failure.
    std::optional<PreparedPurchase> prepared;
    if (pending && pending->state == OrderState::Pending && !pending->otp &&
        approval.decision == wire::Decision::Approve && !approvalMismatch(*pending, approval, phoneAccount)) {
        try {
            prepared = preparePurchase(*pending);
        } catch (const Error&) {
            // Not prepared: the transaction issues the ticket itself, or refuses with this error.
        }
    }

    struct Outcome {
        OrderView order;
        bool expired = false;
    };
    auto outcome = db_.write([&](Transaction& tx) -> Outcome {
        auto order = find(tx, "transaction_number", approval.transactionNumber);
        if (!order) throw Error(ErrorCode::NotFound, "no transaction " + approval.transactionNumber);
        if (auto refused = approvalMismatch(*order, approval, phoneAccount)) throw *refused;

        // Expired (by a first try, or by the sweep): 410 for every try, a retry included.
        if (order->state == OrderState::Expired)
            throw Error(ErrorCode::Expired, "transaction " + approval.transactionNumber + " has expired");
        if (order->state != OrderState::Pending) {
            auto stored = tx.query("SELECT approval FROM stl_order WHERE order_id = ?", {order->orderId}).single();
            // A retry (possibly signed again: ECDSA signatures differ) of the same decision.
            auto previous = stored ? stored->optBlob(0) : std::nullopt;
            if (previous && wire::Approval::decode(*previous).signedBytes() == approval.signedBytes())
                return {*order, false};
            throw Error(ErrorCode::Conflict, "transaction " + approval.transactionNumber + " is already " +
                                                 std::string(toString(order->state)));
        }
        const auto now = nowSeconds();
        const auto tid = transferId(order->orderId);
        if (approval.decision != wire::Decision::Approve) {
            ledger_.voidTransfer(tx, tid);
            const auto state = approval.decision == wire::Decision::NotMe ? OrderState::NotMe : OrderState::Declined;
            if (state == OrderState::NotMe) {
                ledger_.setInhibited(tx, order->accountId, true);
                tx.execute("UPDATE stl_device SET blocked = 1 WHERE device_id = ?", {order->deviceId});
            }
            tx.execute("UPDATE stl_order SET state = ?, phone_id = ?, approval = ? WHERE order_id = ?",
                       {toString(state), approval.phoneId, encodedApproval, order->orderId});
            return {load(tx, order->orderId), false};
        }
        if (order->otp) {
            // Flow 4: the acknowledge code is needed too, and the viewer's entry on the STB.
            if (!otp_->acknowledge(tx, order->orderId, approval.oneTimePassword, now)) {
                tx.execute("UPDATE stl_order SET phone_id = ?, approval = ? WHERE order_id = ?",
                           {approval.phoneId, encodedApproval, order->orderId});
                return {load(tx, order->orderId), false};
            }
        }
        auto done = completePurchase(tx, *order, approval.phoneId, encodedApproval, prepared ? &*prepared : nullptr);
        return {done, done.state == OrderState::Expired};
    });
    if (outcome.expired)
        throw Error(ErrorCode::Expired, "transaction " + approval.transactionNumber + " has expired");
    return outcome.order;
}


std::optional<Event> Settlement::findEvent(Transaction& tx, const std::string& eventId)
{
    auto row = tx.query(std::string("SELECT ") + kEventColumns + " FROM stl_event WHERE event_id = ?", {eventId})
                   .single();
    if (!row) return std::nullopt;
    return eventFrom(*row);
}

wire::Ticket Settlement::signTicket(const std::string& ticketId, const std::string& orderId, const Event& event,
                                    const std::string& deviceId, ByteView holderCertificate, std::int64_t now,
                                    wire::TicketKind kind, wire::TicketStatus status) const
{
    const auto deviceCertificate = wire::Certificate::decode(holderCertificate);
    // A key sealed to a revoked or expired box could never be delivered (checkDevice refuses
    // the box): a gift or a dormant ticket for it is refused, and charges nothing.
    trust::checkInForce(deviceCertificate, wire::CertificateRole::Device, now, revocations_);
    wire::Ticket draft;
    draft.ticketId = ticketId;
    draft.kind = kind;
    draft.status = status;
    draft.eventId = event.eventId;
    draft.serviceProviderId = event.payee;
    draft.holderDeviceId = deviceId;
    draft.orderId = orderId;
    draft.issuedAt = now;
    draft.notBefore = std::min(now, event.startsAt);
    draft.notAfter = event.endsAt;
    draft.previewSeconds = static_cast<std::uint32_t>(event.previewSeconds);
    draft.viewsLeft = event.views == 0 ? wire::unlimitedViews : static_cast<std::uint16_t>(event.views);
    draft.playbackWindow = static_cast<std::uint32_t>(event.playbackWindow);
    draft.eventKeyId = event.eventKeyId;
    const auto eventKey = readEventKey(keys_.eventKeys, event.eventKeyId);
    return trust::issueTicket(draft, eventKey, crypto::X25519PublicKey::fromRaw(deviceCertificate.agreementKey),
                              keys_.issuer);
}

wire::Ticket Settlement::issueTicket(Transaction& tx, const std::string& ticketId, const std::string& orderId,
                                     const Event& event, const std::string& deviceId, std::int64_t now,
                                     wire::TicketKind kind, wire::TicketStatus status)
{
    return signTicket(ticketId, orderId, event, deviceId, deviceCertificate(tx, deviceId), now, kind, status);
}

Bytes Settlement::deviceCertificate(Transaction& tx, const std::string& deviceId)
{
    auto device = tx.query("SELECT certificate FROM stl_device WHERE device_id = ?", {deviceId}).single();
    if (!device) throw Error(ErrorCode::NotFound, "no registered STB " + deviceId);
    return device->blob(0);
}

Settlement::PreparedPurchase Settlement::signPurchase(const OrderView& order, Event event, Bytes holderCertificate) const
{
    PreparedPurchase p{order.orderId, std::move(event), std::move(holderCertificate), nowSeconds(), {}, {}};
    // The ticket: bound to the ordering device, its event key sealed to that device.
    p.ticket = signTicket("t-" + order.orderId, order.orderId, p.event, order.deviceId, p.holderCertificate,
                          p.issuedAt, wire::TicketKind::Ppv, wire::TicketStatus::Active);
    p.receipt.receiptId = "r-" + order.orderId;
    p.receipt.orderId = order.orderId;
    p.receipt.transactionNumber = order.transactionNumber;
    p.receipt.ticketId = p.ticket.ticketId;
    p.receipt.accountId = order.accountId;
    p.receipt.payee = order.payee;
    p.receipt.amount = order.amount;
    p.receipt.currency = order.currency;
    p.receipt.issuedAt = p.issuedAt;
    trust::sign(p.receipt, keys_.server.key);
    return p;
}

std::optional<Settlement::PreparedPurchase> Settlement::preparePurchase(const OrderView& order)
{
    auto found = eventAndHolderFrom(db_.query(eventAndHolderSelect(), {order.deviceId, order.eventId}).single(),
                                    order.deviceId);
    if (!found) return std::nullopt;
    return signPurchase(order, std::move(found->first), std::move(found->second));
}

std::optional<std::pair<Event, Bytes>> Settlement::eventAndHolder(Transaction& tx, const std::string& eventId,
                                                                  const std::string& deviceId)
{
    return eventAndHolderFrom(tx.query(eventAndHolderSelect(), {deviceId, eventId}).single(), deviceId);
}

OrderView Settlement::completePurchase(Transaction& tx, const OrderView& order, const std::string& phoneId,
                                       const Bytes& encodedApproval, const PreparedPurchase* prepared)
{
    const auto tid = transferId(order.orderId);
    if (ledger_.post(tx, tid).state == ledger::TransferState::Expired) {
        tx.execute("UPDATE stl_order SET state = ? WHERE order_id = ?", {toString(OrderState::Expired), order.orderId});
        return load(tx, order.orderId);
    }
    auto found = eventAndHolder(tx, order.eventId, order.deviceId);
    if (!found) throw Error(ErrorCode::Internal, "ordered event vanished");
    auto& [event, certificate] = *found;
    std::optional<PreparedPurchase> here;
    if (!prepared || prepared->orderId != order.orderId || prepared->event != event ||
        prepared->holderCertificate != certificate)
        prepared = &here.emplace(signPurchase(order, std::move(event), std::move(certificate)));
    const auto& ticket = prepared->ticket;
    const auto now = prepared->issuedAt;
    // These go to the database with the unit's end (executeDeferred).
    tx.executeDeferred(
        "INSERT INTO stl_ticket (ticket_id, order_id, transfer_id, device_id, issued_at) VALUES (?, ?, ?, ?, ?)",
        {ticket.ticketId, order.orderId, tid, order.deviceId, now});
    tx.executeDeferred(
        "UPDATE stl_order SET state = ?, phone_id = ?, approval = ?, ticket = ?, receipt = ? WHERE order_id = ?",
        {toString(OrderState::Approved), phoneId, encodedApproval, ticket.encode(), prepared->receipt.encode(),
         order.orderId});
    deliveries_->enqueue(tx, ticket, "purchase", now);
    if (order.otp) return load(tx, order.orderId); // the challenge's state changed in this transaction too
    // Exactly the row written: no need to read it back.
    OrderView approved = order;
    approved.state = OrderState::Approved;
    approved.ticket = ticket;
    approved.receipt = prepared->receipt;
    return approved;
}

OrderView Settlement::endOrder(Transaction& tx, const OrderView& order, OrderState state)
{
    const auto tid = transferId(order.orderId);
    auto t = ledger_.findTransfer(tx, tid);
    if (t && t->state == ledger::TransferState::Pending) {
        // Past its time the ledger expires it (post() never posts an overdue transfer).
        if (t->expiresAt <= ledger_.now()) ledger_.post(tx, tid);
        else ledger_.voidTransfer(tx, tid);
    }
    tx.execute("UPDATE stl_order SET state = ? WHERE order_id = ?", {toString(state), order.orderId});
    return load(tx, order.orderId);
}

OrderView Settlement::acknowledge(const std::string& phoneId, const wire::Acknowledgement& ack)
{
    if (!phoneId.empty() && ack.phoneId != phoneId)
        throw Error(ErrorCode::WrongAudience, "acknowledgement is signed for another phone");
    auto phone = db_.query("SELECT certificate FROM stl_phone WHERE phone_id = ?", {ack.phoneId}).single();
    if (!phone) throw Error(ErrorCode::PermissionDenied, "phone " + ack.phoneId + " is not registered");
    trust::verifySignature(ack, trust::keyInForce(wire::Certificate::decode(phone->blob(0)), wire::CertificateRole::Phone,
                                                  nowSeconds(), revocations_));
    checkOrderId(ack.orderId);
    const auto encoded = ack.encode();
    return db_.write([&](Transaction& tx) {
        auto order = load(tx, ack.orderId);
        auto row = tx.query("SELECT phone_id, acknowledgement FROM stl_order WHERE order_id = ?", {ack.orderId})
                       .single();
        if (row->optText(0).value_or("") != ack.phoneId)
            throw Error(ErrorCode::WrongAudience, "the order was approved by another phone");
        if (!order.receipt || order.receipt->receiptId != ack.receiptId)
            throw Error(ErrorCode::Conflict, "acknowledgement names another receipt");
        if (order.state == OrderState::Closed) {
            auto previous = row->optBlob(1);
            if (previous && wire::Acknowledgement::decode(*previous).signedBytes() == ack.signedBytes()) return order;
            throw Error(ErrorCode::Conflict, "order " + ack.orderId + " is already acknowledged");
        }
        if (order.state != OrderState::Approved)
            throw Error(ErrorCode::Conflict, "order " + ack.orderId + " is " + std::string(toString(order.state)));
        tx.execute("UPDATE stl_order SET state = ?, acknowledgement = ? WHERE order_id = ?",
                   {toString(OrderState::Closed), encoded, ack.orderId});
        return load(tx, ack.orderId);
    });
}

std::size_t Settlement::expireDue()
{
    const auto now = nowSeconds();
    std::vector<std::string> due;
    for (const auto& r : db_.query("SELECT order_id FROM stl_order WHERE state = ? AND expires_at <= ? LIMIT 1000",
                                   {toString(OrderState::Pending), now}))
        due.push_back(r.text(0));
    std::size_t expired = 0;
    for (const auto& id : due) {
        expired += db_.write([&](Transaction& tx) -> std::size_t {
            auto order = load(tx, id);
            if (order.state != OrderState::Pending) return 0;
            // The ledger decides by its own clock; post() of an overdue transfer expires it.
            auto t = ledger_.findTransfer(tx, transferId(id));
            if (!t || t->state != ledger::TransferState::Pending || t->expiresAt > ledger_.now()) return 0;
            ledger_.post(tx, transferId(id)); // past its time: becomes Expired, never Posted
            tx.execute("UPDATE stl_order SET state = ? WHERE order_id = ?", {toString(OrderState::Expired), id});
            return 1;
        });
    }
    return expired;
}

} // namespace boxoffice::settlement
