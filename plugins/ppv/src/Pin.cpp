#include "Pin.h"
#include "Refusal.h"

#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/Random.h>

#include <algorithm>

namespace boxoffice::plugins::ppv {

std::array<std::uint8_t, 32> pbkdf2Sha256(std::string_view password, ByteView salt, std::uint32_t iterations)
{
    if (iterations == 0) throw Error(ErrorCode::InvalidArgument, "PBKDF2 needs at least one iteration");
    const ByteView key(reinterpret_cast<const std::uint8_t*>(password.data()), password.size());
    Bytes first(salt.begin(), salt.end());
    first.insert(first.end(), {0, 0, 0, 1});   // INT(1): the first (only) block
    auto u = crypto::hmacSha256(key, first);
    auto t = u;
    for (std::uint32_t i = 1; i < iterations; ++i) {
        u = crypto::hmacSha256(key, u);
        for (std::size_t j = 0; j < t.size(); ++j) t[j] ^= u[j];
    }
    crypto::wipe(u);
    return t;
}

namespace {

bool validPin(const std::string& pin)
{
    return pin.size() >= 4 && pin.size() <= 8 && std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

PinGuard::PinGuard(std::shared_ptr<storage::Database> db, Options options) : db_(std::move(db)), options_(std::move(options))
{
    if (options_.maxAttempts < 1) throw Error(ErrorCode::InvalidArgument, "pin maxAttempts must be at least 1");
    if (!validPin(options_.initialPin)) throw Error(ErrorCode::InvalidArgument, "the initial PIN must be 4..8 digits");
    const bool present = db_->query("SELECT 1 FROM ppv_pin WHERE id = 1").single().has_value();
    if (!present) store(options_.initialPin);
}

void PinGuard::store(const std::string& pin)
{
    const Bytes salt = crypto::randomBytes(16);
    auto hash = pbkdf2Sha256(pin, salt, options_.iterations);
    const Bytes hashBytes(hash.begin(), hash.end());
    crypto::wipe(hash);
    db_->write([&](storage::Transaction& tx) {
        tx.execute("INSERT INTO ppv_pin (id, salt, hash, iterations, failures, locked_until) VALUES (1, ?, ?, ?, 0, 0) "
                   "ON CONFLICT (id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash, "
                   "iterations = excluded.iterations, failures = 0, locked_until = 0",
                   {salt, hashBytes, static_cast<std::int64_t>(options_.iterations)});
    });
}

PinGuard::Status PinGuard::status(wire::UnixTime now) const
{
    const auto row = db_->query("SELECT failures, locked_until FROM ppv_pin WHERE id = 1").single();
    Status s;
    const auto failures = row ? row->int64(0) : 0;
    const auto lockedUntil = row ? row->int64(1) : 0;
    if (lockedUntil > now) {
        s.lockedUntil = lockedUntil;
        s.attemptsLeft = 0;
    } else {
        s.attemptsLeft = options_.maxAttempts - static_cast<int>(failures);
    }
    return s;
}

void PinGuard::check(const std::string& pin, wire::UnixTime now)
{
    std::lock_guard lock(mutex_);
    const auto row =
        db_->query("SELECT salt, hash, iterations, failures, locked_until FROM ppv_pin WHERE id = 1").single();
    if (!row) throw Error(ErrorCode::Storage, "no purchase PIN is set");
    const auto lockedUntil = row->int64(4);
    if (lockedUntil > now)
        throw Refusal(ErrorCode::LimitExceeded, "pin-locked",
                      "too many wrong PINs; purchases are locked until " + std::to_string(lockedUntil),
                      {{"lockedUntil", lockedUntil}});
    // A lock that has run out gives a fresh set of attempts.
    const auto failures = lockedUntil != 0 ? 0 : row->int64(3);
    auto candidate = pbkdf2Sha256(pin, row->blob(0), static_cast<std::uint32_t>(row->int64(2)));
    const Bytes stored = row->blob(1);
    const bool ok = crypto::constantTimeEqual(candidate, stored);
    crypto::wipe(candidate);
    if (ok) {
        if (failures != 0 || lockedUntil != 0)
            db_->write([](storage::Transaction& tx) { tx.execute("UPDATE ppv_pin SET failures = 0, locked_until = 0 WHERE id = 1"); });
        return;
    }
    const auto used = failures + 1;
    if (used >= options_.maxAttempts) {
        const auto until = now + options_.lockSeconds;
        db_->write([&](storage::Transaction& tx) {
            tx.execute("UPDATE ppv_pin SET failures = 0, locked_until = ? WHERE id = 1", {until});
        });
        throw Refusal(ErrorCode::LimitExceeded, "pin-locked",
                      "wrong PIN; too many attempts, purchases are locked until " + std::to_string(until),
                      {{"lockedUntil", until}, {"attemptsLeft", 0}});
    }
    db_->write([&](storage::Transaction& tx) {
        tx.execute("UPDATE ppv_pin SET failures = ?, locked_until = 0 WHERE id = 1", {used});
    });
    throw Refusal(ErrorCode::PermissionDenied, "pin-wrong",
                  "wrong PIN, " + std::to_string(options_.maxAttempts - used) + " attempts left",
                  {{"attemptsLeft", options_.maxAttempts - used}});
}

void PinGuard::change(const std::string& oldPin, const std::string& newPin, wire::UnixTime now)
{
    if (!validPin(newPin)) throw Error(ErrorCode::InvalidArgument, "the new PIN must be 4..8 digits");
    check(oldPin, now);
    std::lock_guard lock(mutex_);
    store(newPin);
}

} // namespace boxoffice::plugins::ppv
