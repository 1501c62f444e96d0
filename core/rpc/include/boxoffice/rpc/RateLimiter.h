#pragma once
// Token bucket: `ratePerSecond` sustained, `burst` at once; and one bucket per
// client in bounded memory.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace boxoffice::rpc {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    RateLimiter(double ratePerSecond, double burst, Clock::time_point now = Clock::now());

    // Takes one token if available.
    bool tryAcquire(Clock::time_point now = Clock::now());
    // Returns a token taken by tryAcquire (up to the burst): for a try reserved
    // before knowing whether it counts.
    void giveBack(Clock::time_point now);
    // How long until a token is available (zero if one is).
    std::chrono::duration<double> untilAvailable(Clock::time_point now) const;
    // Whether the bucket has refilled to its burst by `now`: a fresh one would be the same.
    bool full(Clock::time_point now) const;

private:
    double tokensAt(Clock::time_point now) const;

    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

// A bucket per client key (an address, a connection). At `maxClients`, buckets
// that are full again are forgotten (their clients went quiet: nothing is lost),
// at most once a second; clients beyond that share one overflow bucket. So
// churning through addresses never hands anyone a fresh bucket of their own
// while the table is full of active clients, and memory stays bounded.
// Thread-safe.
class ClientRateLimits {
public:
    ClientRateLimits(double ratePerSecond, double burst, std::size_t maxClients);

    bool tryAcquire(const std::string& client, RateLimiter::Clock::time_point now = RateLimiter::Clock::now());
    std::size_t tracked() const;  // clients with their own bucket

private:
    double rate_;
    double burst_;
    std::size_t maxClients_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, RateLimiter> buckets_;
    RateLimiter overflow_;
    RateLimiter::Clock::time_point lastSweep_{};
};

} // namespace boxoffice::rpc
