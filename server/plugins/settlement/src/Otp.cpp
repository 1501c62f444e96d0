#include <boxoffice/settlement/Otp.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/Random.h>

namespace boxoffice::settlement {
namespace {

using storage::Transaction;

ByteView view(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

// HMAC input with every part length-framed, so no two (purpose, order, value) tuples collide.
Bytes framed(std::initializer_list<std::string_view> parts, ByteView tail = {})
{
    Bytes out;
    for (auto p : parts) {
        out.push_back(static_cast<std::uint8_t>(p.size()));
        out.insert(out.end(), p.begin(), p.end());
    }
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
}

bool isOtp(const std::string& otp)
{
    if (otp.size() != 6) return false;
    for (char c : otp)
        if (c < '0' || c > '9') return false;
    return true;
}

// The refusal of a wrong password, `left` attempts remaining (none: the order failed).
Error wrongEntry(std::int64_t left)
{
    if (left <= 0) return Error(ErrorCode::LimitExceeded, "too many wrong one-time passwords: the order failed");
    return Error(ErrorCode::PermissionDenied, "wrong one-time password, " + std::to_string(left) + " attempt(s) left");
}

} // namespace

OtpChallenges::OtpChallenges(Settlement& settlement, const trust::SigningKey& serverKey) : settlement_(settlement)
{
    // The server's only long-term secret is its signing key. An Ed25519 signature is
    // deterministic and unpredictable without the key, so a fixed message signed gives
    // every server process of the operator the same OTP key without another key file.
    static const std::string label = "BOXOFFICE-OTP-KEY-1";
    const auto first = serverKey.sign(view(label));
    if (first != serverKey.sign(view(label)))
        throw Error(ErrorCode::InvalidArgument, "the server signing key must be Ed25519 (deterministic) for OTPs");
    const auto digest = crypto::sha256(first);
    key_ = crypto::SecretBytes(ByteView(digest));
}

std::vector<std::string> OtpChallenges::migration()
{
    return {"CREATE TABLE stl_otp (order_id {text} PRIMARY KEY, salt {blob} NOT NULL, otp_hash {blob} NOT NULL,"
            " ack_hash {blob} NOT NULL, attempts {int64} NOT NULL, max_attempts {int64} NOT NULL,"
            " expires_at {int64} NOT NULL, entered_at {int64}, acknowledged_at {int64})"};
}

std::vector<std::string> OtpChallenges::attemptIdMigration()
{
    // The last wrong entry: its client id and the keyed hash of what was typed.
    return {"ALTER TABLE stl_otp ADD COLUMN last_attempt_id {text}",
            "ALTER TABLE stl_otp ADD COLUMN last_attempt_hash {blob}"};
}

std::string OtpChallenges::code(const std::string& purpose, const std::string& orderId, ByteView salt) const
{
    const auto mac = crypto::hmacSha256(key_.view(), framed({"code", purpose, orderId}, salt));
    if (purpose == "otp") {
        // 6 digits from 40 bits: the modulo bias (2^40 mod 10^6 / 2^40) is negligible.
        std::uint64_t v = 0;
        for (int i = 0; i < 5; ++i) v = (v << 8) | mac[static_cast<std::size_t>(i)];
        auto digits = std::to_string(v % 1000000);
        return std::string(6 - digits.size(), '0') + digits;
    }
    static constexpr std::string_view alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // 32: no bias
    std::string out;
    for (int i = 0; i < 10; ++i) out.push_back(alphabet[mac[static_cast<std::size_t>(i)] % alphabet.size()]);
    return out;
}

Bytes OtpChallenges::hash(const std::string& purpose, const std::string& orderId, const std::string& value) const
{
    // Keyed: a copy of the table does not let anyone try the 10^6 passwords offline.
    const auto mac = crypto::hmacSha256(key_.view(), framed({"hash", purpose, orderId}, view(value)));
    return Bytes(mac.begin(), mac.end());
}

bool OtpChallenges::required(std::int64_t amount, const std::string& method) const
{
    if (method == "otp") return true;
    if (method != "phone") throw Error(ErrorCode::InvalidArgument, "method must be \"phone\" or \"otp\"");
    const auto above = settlement_.options().otpAbove;
    return above > 0 && amount > above;
}

void OtpChallenges::open(Transaction& tx, const std::string& orderId, std::int64_t now, std::int64_t orderExpiresAt)
{
    const auto salt = crypto::randomBytes(16);
    const auto& o = settlement_.options();
    tx.execute("INSERT INTO stl_otp (order_id, salt, otp_hash, ack_hash, attempts, max_attempts, expires_at)"
               " VALUES (?, ?, ?, ?, 0, ?, ?)",
               {orderId, salt, hash("otp", orderId, code("otp", orderId, salt)),
                hash("ack", orderId, code("ack", orderId, salt)), std::max<std::int64_t>(1, o.otpAttempts),
                std::min(orderExpiresAt, now + o.otpSeconds)});
}

std::optional<OrderView::Otp> OtpChallenges::status(const storage::Row& r, std::size_t first)
{
    if (r.isNull(first)) return std::nullopt; // attempts is NOT NULL: no joined challenge
    return OrderView::Otp{std::max<std::int64_t>(0, r.int64(first + 1) - r.int64(first)), r.int64(first + 2),
                          !r.isNull(first + 3), !r.isNull(first + 4)};
}

OrderView OtpChallenges::enter(const std::string& deviceId, const std::string& orderId, const std::string& otp,
                               const std::string& attemptId)
{
    if (!isOtp(otp)) throw Error(ErrorCode::InvalidArgument, "the one-time password is 6 digits");
    const auto entered = hash("otp", orderId, otp);
    struct Outcome {
        OrderView order;
        std::optional<Error> refusal; // committed, then thrown
    };
    auto outcome = settlement_.ledger().database().write([&](Transaction& tx) -> Outcome {
        auto order = settlement_.load(tx, orderId);
        if (order.deviceId != deviceId) throw Error(ErrorCode::NotFound, "no order " + orderId);
        auto row = tx.query("SELECT c.otp_hash, c.attempts, c.max_attempts, c.expires_at, c.entered_at,"
                            " c.acknowledged_at, o.phone_id, o.approval, c.last_attempt_id, c.last_attempt_hash"
                            " FROM stl_otp c JOIN stl_order o ON o.order_id = c.order_id WHERE c.order_id = ?",
                            {orderId})
                       .single();
        if (!row) throw Error(ErrorCode::InvalidArgument, "order " + orderId + " does not use a one-time password");
        // Expired: 410 for every try, a retry of an entry made before included.
        if (order.state == OrderState::Expired) throw Error(ErrorCode::Expired, "the one-time password has expired");
        if (!row->isNull(4)) return {order, std::nullopt}; // entered already: a retry
        const auto now = settlement_.nowSeconds();
        if (order.state == OrderState::Pending && now >= row->int64(3))
            return {settlement_.endOrder(tx, order, OrderState::Expired),
                    Error(ErrorCode::Expired, "the one-time password has expired")};
        // A retried wrong entry (its answer was lost on the way): the same answer, counted
        // once. Only while pending, or when wrong entries failed the order.
        const auto left = row->int64(2) - row->int64(1);
        if (!attemptId.empty() && !row->isNull(8) && row->text(8) == attemptId &&
            (order.state == OrderState::Pending || (order.state == OrderState::Failed && left <= 0))) {
            if (!crypto::constantTimeEqual(entered, row->blob(9)))
                throw Error(ErrorCode::Conflict, "entry " + attemptId + " was made with another password");
            return {order, wrongEntry(left)};
        }
        if (order.state != OrderState::Pending)
            throw Error(ErrorCode::Conflict, "order " + orderId + " is " + std::string(toString(order.state)));
        if (!crypto::constantTimeEqual(entered, row->blob(0))) {
            tx.execute("UPDATE stl_otp SET attempts = ?, last_attempt_id = ?, last_attempt_hash = ? WHERE order_id = ?",
                       {row->int64(1) + 1, attemptId.empty() ? storage::Value() : storage::Value(attemptId), entered,
                        orderId});
            if (left - 1 <= 0) return {settlement_.endOrder(tx, order, OrderState::Failed), wrongEntry(0)};
            return {settlement_.load(tx, orderId), wrongEntry(left - 1)};
        }
        tx.execute("UPDATE stl_otp SET entered_at = ? WHERE order_id = ?", {now, orderId});
        if (row->isNull(5)) return {settlement_.load(tx, orderId), std::nullopt}; // waits for the phone
        auto done = settlement_.completePurchase(tx, order, row->text(6), row->blob(7));
        if (done.state == OrderState::Expired)
            return {done, Error(ErrorCode::Expired, "order " + orderId + " has expired")};
        return {done, std::nullopt};
    });
    if (outcome.refusal) throw *outcome.refusal;
    return outcome.order;
}

bool OtpChallenges::acknowledge(Transaction& tx, const std::string& orderId, const std::string& ackCode,
                                std::int64_t now)
{
    auto row = tx.query("SELECT ack_hash, expires_at, entered_at, acknowledged_at FROM stl_otp WHERE order_id = ?",
                        {orderId})
                   .single();
    if (!row) throw Error(ErrorCode::Internal, "no challenge for order " + orderId);
    if (ackCode.empty())
        throw Error(ErrorCode::PermissionDenied, "this order needs the acknowledge code (GET /v1/phone/otps) in the"
                                                 " approval's one_time_password");
    if (!crypto::constantTimeEqual(hash("ack", orderId, ackCode), row->blob(0)))
        throw Error(ErrorCode::PermissionDenied, "the acknowledge code does not match");
    if (row->isNull(3)) {
        if (now >= row->int64(1)) throw Error(ErrorCode::Expired, "the one-time password has expired");
        tx.execute("UPDATE stl_otp SET acknowledged_at = ? WHERE order_id = ?", {now, orderId});
    }
    return !row->isNull(2);
}

std::vector<OtpChallenges::Challenge> OtpChallenges::challengesForPhone(const std::string& phoneId)
{
    const auto accountId = settlement_.accountOfPhone(phoneId);
    const auto now = settlement_.nowSeconds();
    return settlement_.ledger().database().read([&](Transaction& tx) {
        std::vector<Challenge> out;
        for (const auto& r : tx.query("SELECT c.order_id, c.salt FROM stl_otp c JOIN stl_order o ON o.order_id = c.order_id"
                                      " WHERE o.account_id = ? AND o.state = 'pending' AND c.expires_at > ?"
                                      " AND c.attempts < c.max_attempts ORDER BY o.created_at",
                                      {accountId, now})) {
            const auto id = r.text(0);
            const auto salt = r.blob(1);
            out.push_back({settlement_.load(tx, id), code("otp", id, salt), code("ack", id, salt)});
        }
        return out;
    });
}

} // namespace boxoffice::settlement
