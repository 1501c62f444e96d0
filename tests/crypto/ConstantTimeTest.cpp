#include <boxoffice/crypto/ConstantTime.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using crypto::SecretBytes;

TEST(ConstantTime, EqualAndDifferent)
{
    const Bytes a{1, 2, 3, 4};
    Bytes b = a;
    EXPECT_TRUE(crypto::constantTimeEqual(a, b));
    for (std::size_t i = 0; i < b.size(); ++i) {
        Bytes c = a;
        c[i] ^= 0x80;
        EXPECT_FALSE(crypto::constantTimeEqual(a, c)) << i;
    }
    b.pop_back();
    EXPECT_FALSE(crypto::constantTimeEqual(a, b));
    EXPECT_TRUE(crypto::constantTimeEqual(ByteView{}, ByteView{}));
}

TEST(ConstantTime, WipeZeroes)
{
    Bytes data{9, 9, 9};
    crypto::wipe(data);
    EXPECT_EQ(data, (Bytes{0, 0, 0}));
}

TEST(SecretBytes, CopiesMovesAndClears)
{
    const Bytes raw{5, 6, 7};
    SecretBytes s(raw);
    SecretBytes copy = s;
    EXPECT_TRUE(crypto::constantTimeEqual(copy, raw));
    SecretBytes moved = std::move(s);
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(moved.size(), 3u);
    moved.clear();
    EXPECT_TRUE(moved.empty());
    EXPECT_EQ(SecretBytes(4).view()[3], 0);
}
