#pragma once
// The purchase PIN: a salted PBKDF2-HMAC-SHA256 hash (core/crypto has HMAC but no
// password KDF, so PBKDF2 is built on crypto::hmacSha256 here), compared in
// constant time, with a bounded number of attempts and a lockout that survive a
// restart (both in the ppv database). The PIN itself is never stored.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/wire/Types.h>

#include <array>
#include <memory>
#include <string_view>
#include <mutex>
#include <string>

namespace boxoffice::plugins::ppv {

// PBKDF2 (RFC 8018) with HMAC-SHA256, one 32-byte block.
std::array<std::uint8_t, 32> pbkdf2Sha256(std::string_view password, ByteView salt, std::uint32_t iterations);

class PinGuard {
public:
    struct Options {
        std::string initialPin = "1234";   // hashed on first start
        int maxAttempts = 3;
        wire::UnixTime lockSeconds = 900;
        std::uint32_t iterations = 20000;
    };
    struct Status {
        int attemptsLeft = 0;
        wire::UnixTime lockedUntil = 0;    // 0: not locked
    };

    PinGuard(std::shared_ptr<storage::Database> db, Options options);

    Status status(wire::UnixTime now) const;
    // Refusal pin-locked (LimitExceeded) while locked; pin-wrong (PermissionDenied)
    // with the attempts left; the last wrong attempt locks. The count is committed
    // before the answer is given.
    void check(const std::string& pin, wire::UnixTime now);
    // check(oldPin) then stores a new salted hash. New PIN: 4..8 digits.
    void change(const std::string& oldPin, const std::string& newPin, wire::UnixTime now);

private:
    void store(const std::string& pin);

    std::shared_ptr<storage::Database> db_;
    Options options_;
    std::mutex mutex_;
};

} // namespace boxoffice::plugins::ppv
