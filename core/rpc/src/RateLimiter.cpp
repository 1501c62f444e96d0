#include <boxoffice/rpc/RateLimiter.h>

#include <algorithm>

namespace boxoffice::rpc {

RateLimiter::RateLimiter(double ratePerSecond, double burst)
    : rate_(ratePerSecond), burst_(burst), tokens_(burst), last_(Clock::now())
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

} // namespace boxoffice::rpc
