#pragma once
// Exponential backoff with jitter for retries to the server: the n-th failure
// waits a random time in [d/2, d] with d = min(max, initial * 2^(n-1)), so a
// fleet of boxes coming back after an outage does not retry in lockstep.

#include <algorithm>
#include <cstdint>
#include <random>

namespace boxoffice::plugins::sync {

struct Backoff {
    std::int64_t initialMs = 1000;
    std::int64_t maxMs = 300'000;

    // Milliseconds to wait after the `failures`-th consecutive failure (>= 1).
    template <class Random> std::int64_t delayMs(std::int64_t failures, Random& random) const
    {
        std::int64_t d = std::max<std::int64_t>(initialMs, 1);
        for (std::int64_t i = 1; i < failures && d < maxMs; ++i) d *= 2;
        d = std::min(d, std::max<std::int64_t>(maxMs, 1));
        std::uniform_int_distribution<std::int64_t> jitter(d / 2, d);
        return jitter(random);
    }
};

} // namespace boxoffice::plugins::sync
