#pragma once
// The STB's notion of trusted time: the system clock corrected by the last
// server-signed time, never allowed behind a persisted high-water mark.
//   - accept(): takes a signed TrustedTime from the server, moves the mark forward.
//   - now(): Error(ClockRollback) when the corrected clock is behind the mark by
//     more than the tolerance (someone set the clock back to revive an expired ticket).
//   - observe(t): raises the mark (called when a ticket is accepted at t).
// The state file (mode 0600) is written atomically. With a KeySealer it is sealed
// too, so that lowering the mark by editing the file is detected (Error(Storage)).

#include <boxoffice/trust/KeySealer.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/TrustedTime.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

namespace boxoffice::trust {

class TrustedClock {
public:
    using SystemClock = std::function<wire::UnixTime()>;
    static wire::UnixTime systemNow();

    explicit TrustedClock(std::filesystem::path stateFile, SystemClock systemClock = systemNow,
                          wire::UnixTime tolerance = 60);
    TrustedClock(std::filesystem::path stateFile, std::shared_ptr<const KeySealer> sealer,
                 SystemClock systemClock = systemNow, wire::UnixTime tolerance = 60);

    wire::UnixTime now() const;
    wire::UnixTime highWaterMark() const;
    // now(), or the high-water mark when the clock was set back behind it: the time to
    // check a certificate's validity at for a caller that must go on rather than stop
    // (a certificate that expired before the mark stays expired).
    wire::UnixTime latestKnown() const;
    // max(mark, system clock): the time to check the certificate of the server that signs
    // trusted time at. Unlike latestKnown() it ignores the offset, so a stale one (the system
    // clock corrected since it was taken) cannot lock the box out of the very time that would
    // correct it; a clock set back still meets the mark.
    wire::UnixTime signerCheckTime() const;

    // Verifies signature (serverKey from a verified server certificate), audience
    // (empty or `deviceId`) and nonce (when `expectedNonce` is not empty); refuses a
    // time behind the mark with ClockRollback. Adjusts the offset and persists.
    void accept(const wire::TrustedTime& time, const VerifyingKey& serverKey, std::string_view deviceId,
                ByteView expectedNonce = {});

    // One exchange with the server (GET /v1/time): a fresh nonce and this device
    // as audience, the answer accepted as above. `get` performs the GET of the
    // path and query it is given over the caller's line and returns the answer's
    // "trustedTime" field (base64url); it throws when the line fails.
    using TimeRequest = std::function<std::string(const std::string& pathAndQuery)>;
    wire::UnixTime fetchFrom(const TimeRequest& get, const VerifyingKey& serverKey, std::string_view deviceId);

    void observe(wire::UnixTime time);

private:
    void load();
    void persist() const;

    std::filesystem::path stateFile_;
    SystemClock systemClock_;
    wire::UnixTime tolerance_;
    std::shared_ptr<const KeySealer> sealer_;
    mutable std::mutex mutex_;
    wire::UnixTime highWater_ = 0;
    wire::UnixTime offset_ = 0;   // trusted - system, from the last accepted time
};

} // namespace boxoffice::trust
