#include <boxoffice/trust/TrustedClock.h>

#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/wire/Base64Url.h>

#include "SecureFile.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace boxoffice::trust {

wire::UnixTime TrustedClock::systemNow()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {
constexpr std::string_view sealLabel = "trusted-clock";
}

TrustedClock::TrustedClock(std::filesystem::path stateFile, SystemClock systemClock, wire::UnixTime tolerance)
    : TrustedClock(std::move(stateFile), nullptr, std::move(systemClock), tolerance)
{
}

TrustedClock::TrustedClock(std::filesystem::path stateFile, std::shared_ptr<const KeySealer> sealer,
                           SystemClock systemClock, wire::UnixTime tolerance)
    : stateFile_(std::move(stateFile)), systemClock_(std::move(systemClock)), tolerance_(tolerance),
      sealer_(std::move(sealer))
{
    if (std::filesystem::exists(stateFile_)) load();
}

void TrustedClock::load()
{
    std::string text = detail::readFile(stateFile_);
    if (sealer_) {
        try {
            const auto plain = sealer_->unseal(
                ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), sealLabel);
            text.assign(plain.view().begin(), plain.view().end());
        } catch (const Error&) {
            throw Error(ErrorCode::Storage, "trusted clock state " + stateFile_.string() + " was tampered with");
        }
    }
    std::istringstream in(text);
    std::string k1, k2;
    if (!(in >> k1 >> highWater_ >> k2 >> offset_) || k1 != "high_water" || k2 != "offset" || highWater_ < 0)
        throw Error(ErrorCode::Storage, "trusted clock state " + stateFile_.string() + " is corrupt");
}

wire::UnixTime TrustedClock::now() const
{
    std::lock_guard lock(mutex_);
    const wire::UnixTime t = systemClock_() + offset_;
    if (t + tolerance_ < highWater_)
        throw Error(ErrorCode::ClockRollback, "clock is " + std::to_string(highWater_ - t)
                                                   + " s behind the trusted high-water mark");
    return t;
}

wire::UnixTime TrustedClock::highWaterMark() const
{
    std::lock_guard lock(mutex_);
    return highWater_;
}

wire::UnixTime TrustedClock::signerCheckTime() const
{
    const auto system = systemClock_();
    std::lock_guard lock(mutex_);
    return std::max(highWater_, system);
}

wire::UnixTime TrustedClock::latestKnown() const
{
    std::lock_guard lock(mutex_);
    const wire::UnixTime t = systemClock_() + offset_;
    return t + tolerance_ < highWater_ ? highWater_ : t;   // set back: what now() refuses
}

void TrustedClock::accept(const wire::TrustedTime& time, const VerifyingKey& serverKey, std::string_view deviceId,
                          ByteView expectedNonce)
{
    verifySignature(time, serverKey);
    if (!time.audience.empty() && time.audience != deviceId)
        throw Error(ErrorCode::WrongAudience, "trusted_time.audience: for device '" + time.audience + "'");
    if (!expectedNonce.empty() && !crypto::constantTimeEqual(time.nonce, expectedNonce))
        throw Error(ErrorCode::Replayed, "trusted_time.nonce: does not answer this request");
    std::lock_guard lock(mutex_);
    if (time.time < highWater_)
        throw Error(ErrorCode::ClockRollback, "trusted_time.time: behind the high-water mark");
    const wire::UnixTime oldHigh = highWater_, oldOffset = offset_;
    highWater_ = time.time;
    // Signed time has whole seconds and arrives after a round trip: a system clock within a
    // second of it is right already, and taking the truncation's -1 would end tickets early.
    const wire::UnixTime measured = time.time - systemClock_();
    offset_ = (measured >= -1 && measured <= 1) ? 0 : measured;
    try {
        persist();
    } catch (...) {
        highWater_ = oldHigh;
        offset_ = oldOffset;
        throw;
    }
}

wire::UnixTime TrustedClock::fetchFrom(const TimeRequest& get, const VerifyingKey& serverKey, std::string_view deviceId)
{
    const Bytes nonce = crypto::randomBytes(16);
    const std::string encoded =
        get("/v1/time?audience=" + std::string(deviceId) + "&nonce=" + wire::toBase64Url(nonce));
    const auto time = wire::TrustedTime::decode(wire::fromBase64Url(encoded, "trustedTime"));
    accept(time, serverKey, deviceId, nonce);
    return time.time;
}

void TrustedClock::observe(wire::UnixTime time)
{
    std::lock_guard lock(mutex_);
    if (time <= highWater_) return;
    const wire::UnixTime old = highWater_;
    highWater_ = time;
    try {
        persist();
    } catch (...) {
        highWater_ = old;
        throw;
    }
}

void TrustedClock::persist() const
{
    const std::string text = "high_water " + std::to_string(highWater_) + "\noffset " + std::to_string(offset_) + "\n";
    if (!sealer_) {
        detail::writeFileAtomically(stateFile_, text, true);
        return;
    }
    const Bytes sealed =
        sealer_->seal(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), sealLabel);
    detail::writeFileAtomically(stateFile_, std::string_view(reinterpret_cast<const char*>(sealed.data()), sealed.size()),
                                true);
}

} // namespace boxoffice::trust
