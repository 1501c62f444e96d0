#include <boxoffice/rpc/RateLimiter.h>

#include <algorithm>

namespace boxoffice::rpc {

RateLimiter::RateLimiter(double ratePerSecond, double burst, Clock::time_point now)
    : rate_(ratePerSecond), burst_(burst), tokens_(burst), last_(now)
{
}

bool RateLimiter::tryAcquire(Clock::time_point now)
{
    const std::chrono::duration<double> elapsed = now - last_;
    if (elapsed.count() > 0) {
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

double RateLimiter::tokensAt(Clock::time_point now) const
{
    const std::chrono::duration<double> elapsed = now - last_;
    return std::min(burst_, tokens_ + std::max(0.0, elapsed.count()) * rate_);
}

void RateLimiter::giveBack(Clock::time_point now)
{
    tokens_ = std::min(burst_, tokensAt(now) + 1.0);
    last_ = std::max(last_, now);
}

std::chrono::duration<double> RateLimiter::untilAvailable(Clock::time_point now) const
{
    const double missing = 1.0 - tokensAt(now);
    if (missing <= 0) return std::chrono::duration<double>(0);
    if (rate_ <= 0) return std::chrono::duration<double>::max();
    return std::chrono::duration<double>(missing / rate_);
}

bool RateLimiter::full(Clock::time_point now) const { return tokensAt(now) >= burst_; }

ClientRateLimits::ClientRateLimits(double ratePerSecond, double burst, std::size_t maxClients)
    : rate_(ratePerSecond), burst_(burst), maxClients_(std::max<std::size_t>(maxClients, 1)), overflow_(ratePerSecond, burst)
{
}

bool ClientRateLimits::tryAcquire(const std::string& client, RateLimiter::Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(client);
    if (it == buckets_.end()) {
        if (buckets_.size() >= maxClients_ && now - lastSweep_ >= std::chrono::seconds(1)) {
            lastSweep_ = now;
            std::erase_if(buckets_, [&](const auto& entry) { return entry.second.full(now); });
        }
        if (buckets_.size() >= maxClients_) return overflow_.tryAcquire(now);
        it = buckets_.try_emplace(client, rate_, burst_, now).first;
    }
    return it->second.tryAcquire(now);
}

std::size_t ClientRateLimits::tracked() const
{
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

} // namespace boxoffice::rpc
