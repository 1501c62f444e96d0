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

TEST(RateLimiter, TellsHowLongUntilTheNextTokenAndTakesBackAReservedOne)
{
    RateLimiter limiter(4.0, 1.0);
    auto t = RateLimiter::Clock::now();
    EXPECT_EQ(limiter.untilAvailable(t).count(), 0.0);
    EXPECT_EQ(limiter.untilAvailable(t).count(), 0.0);  // asking takes nothing
    EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_NEAR(limiter.untilAvailable(t).count(), 0.25, 1e-9);
    t += std::chrono::milliseconds(100);
    EXPECT_NEAR(limiter.untilAvailable(t).count(), 0.15, 1e-9);
    limiter.giveBack(t);  // a reservation that did not count
    EXPECT_EQ(limiter.untilAvailable(t).count(), 0.0);
    limiter.giveBack(t);  // never beyond the burst
    EXPECT_TRUE(limiter.tryAcquire(t));
    EXPECT_FALSE(limiter.tryAcquire(t));
    RateLimiter never(0.0, 1.0, t);
    EXPECT_TRUE(never.tryAcquire(t));
    EXPECT_EQ(never.untilAvailable(t), std::chrono::duration<double>::max());
}

using boxoffice::rpc::ClientRateLimits;

// A client over its limit stays limited however many other addresses appear: once the
// table is full of active clients, newcomers share one overflow bucket instead of
// anyone getting a fresh one.
TEST(ClientRateLimits, ChurningAddressesFreesNoOneFromTheLimit)
{
    ClientRateLimits limits(1.0, 2.0, 4);
    const auto t = RateLimiter::Clock::now();
    EXPECT_TRUE(limits.tryAcquire("abuser", t));
    EXPECT_TRUE(limits.tryAcquire("abuser", t));
    EXPECT_FALSE(limits.tryAcquire("abuser", t));
    int admitted = 0;
    for (int i = 0; i < 1000; ++i) admitted += limits.tryAcquire("addr-" + std::to_string(i), t);
    EXPECT_EQ(limits.tracked(), 4u);
    EXPECT_EQ(admitted, 3 + 2);   // three with their own bucket, then the overflow bucket's burst
    EXPECT_FALSE(limits.tryAcquire("abuser", t));
    EXPECT_FALSE(limits.tryAcquire("addr-999", t));
}

// Clients whose bucket has refilled are forgotten when room is needed: a newcomer then
// gets its own bucket, and the table never grows past its size.
TEST(ClientRateLimits, QuietClientsMakeRoomForNewOnes)
{
    ClientRateLimits limits(1.0, 2.0, 2);
    auto t = RateLimiter::Clock::now();
    EXPECT_TRUE(limits.tryAcquire("a", t));
    EXPECT_TRUE(limits.tryAcquire("b", t));
    t += std::chrono::seconds(5);   // both refilled
    EXPECT_TRUE(limits.tryAcquire("b", t));   // b is active again, a is quiet
    EXPECT_TRUE(limits.tryAcquire("c", t));
    EXPECT_TRUE(limits.tryAcquire("c", t));
    EXPECT_FALSE(limits.tryAcquire("c", t));  // its own bucket, not the overflow's
    EXPECT_EQ(limits.tracked(), 2u);
    EXPECT_TRUE(limits.tryAcquire("b", t));
    EXPECT_FALSE(limits.tryAcquire("b", t));  // b kept its bucket (1 token left at the sweep)
}
