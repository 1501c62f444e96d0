#pragma once
// Token bucket: `ratePerSecond` sustained, `burst` at once.

#include <chrono>

namespace boxoffice::rpc {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    RateLimiter(double ratePerSecond, double burst);

    // Takes one token if available.
    bool tryAcquire(Clock::time_point now = Clock::now());

private:
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

} // namespace boxoffice::rpc
