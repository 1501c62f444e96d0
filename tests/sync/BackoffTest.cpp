// Backoff of the sync plugin's retries: doubling, capped, jittered within [d/2, d].

#include "Backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace boxoffice::plugins::sync {
namespace {

TEST(Backoff, DoublesUpToTheCapWithJitter)
{
    Backoff b{100, 1600};
    std::mt19937_64 random(7);
    const std::int64_t expected[] = {100, 200, 400, 800, 1600, 1600, 1600};
    for (std::int64_t failures = 1; failures <= 7; ++failures) {
        for (int i = 0; i < 200; ++i) {
            const auto d = b.delayMs(failures, random);
            EXPECT_GE(d, expected[failures - 1] / 2) << failures;
            EXPECT_LE(d, expected[failures - 1]) << failures;
        }
    }
    // Hours offline: still capped, never overflowing.
    EXPECT_LE(b.delayMs(10'000, random), 1600);
}

TEST(Backoff, JitterSpreadsRetries)
{
    Backoff b{1000, 60'000};
    std::mt19937_64 random(11);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 50; ++i) seen.insert(b.delayMs(3, random));
    EXPECT_GT(seen.size(), 10u);
}

} // namespace
} // namespace boxoffice::plugins::sync
