#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>

#include <gtest/gtest.h>

using namespace boxoffice;

TEST(Hex, RoundTripsEveryByteValue)
{
    Bytes all(256);
    for (int i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
    const std::string text = toHex(all);
    EXPECT_EQ(text.size(), 512u);
    EXPECT_EQ(text.substr(0, 6), "000102");
    EXPECT_EQ(text.substr(506), "fdfeff");
    EXPECT_EQ(fromHex(text), all);
}

TEST(Hex, AcceptsUpperCase)
{
    EXPECT_EQ(fromHex("DEADbeef"), (Bytes{0xde, 0xad, 0xbe, 0xef}));
}

TEST(Hex, RejectsOddLengthNamingTheField)
{
    try {
        fromHex("abc", "even-key");
        FAIL() << "odd length accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
        EXPECT_NE(std::string(e.what()).find("even-key"), std::string::npos);
    }
}

TEST(Hex, RejectsNonHexCharacters)
{
    EXPECT_THROW(fromHex("0g"), Error);
    EXPECT_THROW(fromHex("0 "), Error);
    EXPECT_TRUE(fromHex("").empty());
}

TEST(Error, KeywordsRoundTrip)
{
    for (int i = 0; i <= static_cast<int>(ErrorCode::Internal); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        EXPECT_EQ(errorCodeFromString(toString(code)), code) << toString(code);
    }
    EXPECT_EQ(errorCodeFromString("no such keyword"), ErrorCode::Internal);
}
