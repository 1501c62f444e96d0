#include <boxoffice/rpc/RateLimiter.h>

#include <gtest/gtest.h>

using boxoffice::rpc::RateLimiter;

TEST(RateLimiter, AllowsTheBurstThenTheSustainedRate)
{
    RateLimiter limiter(10.0, 3.0);
    auto t = RateLimiter::Clock::now();
    EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_FALSE(limiter.tryAcquire(t));
    t += std::chrono::milliseconds(100);  // one token at 10/s
    EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_FALSE(limiter.tryAcquire(t));
    t += std::chrono::seconds(10);  // refills to the burst, not beyond
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_FALSE(limiter.tryAcquire(t));
}
