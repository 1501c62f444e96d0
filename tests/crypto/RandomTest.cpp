#include <boxoffice/crypto/Random.h>

#include <gtest/gtest.h>

#include <set>

using namespace boxoffice;

TEST(Random, ReturnsRequestedLengthAndDiffers)
{
    EXPECT_TRUE(crypto::randomBytes(0).empty());
    const Bytes a = crypto::randomBytes(32);
    const Bytes b = crypto::randomBytes(32);
    ASSERT_EQ(a.size(), 32u);
    EXPECT_NE(a, b);
}

TEST(Random, FillsTheWholeBuffer)
{
    // Over 4096 bytes every byte value shows up with overwhelming probability; a fill
    // that skipped a region would leave zeros behind the sentinel.
    Bytes buffer(4096, 0);
    crypto::randomFill(buffer);
    std::set<std::uint8_t> seen(buffer.begin(), buffer.end());
    EXPECT_GT(seen.size(), 250u);
    std::size_t zerosAtEnd = 0;
    for (std::size_t i = buffer.size() - 64; i < buffer.size(); ++i) zerosAtEnd += buffer[i] == 0;
    EXPECT_LT(zerosAtEnd, 10u);
}
