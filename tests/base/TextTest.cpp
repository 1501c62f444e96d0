// textProblem and utf8Prefix: the checks applied to text from outside.

#include <boxoffice/base/Text.h>

#include <gtest/gtest.h>

#include <string>

using boxoffice::textProblem;
using boxoffice::utf8Prefix;

TEST(Text, AcceptsWellFormedUtf8AndNewlines)
{
    EXPECT_EQ(textProblem(""), "");
    EXPECT_EQ(textProblem("Alice's phone\nline two"), "");
    EXPECT_EQ(textProblem("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\xac"), "");  // 2-, 3- and 4-byte characters
}

TEST(Text, RefusesMalformedUtf8)
{
    for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("\xe6\x97"),
                                  std::string("\xc0\xaf"),          // overlong '/'
                                  std::string("\xed\xa0\x80"),      // surrogate U+D800
                                  std::string("\xf4\x90\x80\x80"),  // above U+10FFFF
                                  std::string("ok\x80")})
        EXPECT_EQ(textProblem(bad), "invalid UTF-8") << bad;
}

TEST(Text, ControlCharactersOnlyWhenAllowed)
{
    for (const std::string& control : {std::string("\x1b[2J"), std::string("tab\there"), std::string("\x7f"),
                                      std::string("\xc2\x85")}) {  // C1 NEL
        EXPECT_EQ(textProblem(control), "control character") << control;
        EXPECT_EQ(textProblem(control, true), "") << control;
    }
    EXPECT_EQ(textProblem("\xff", true), "invalid UTF-8");
}

TEST(Text, PrefixNeverEndsInsideACharacter)
{
    const std::string s = "ab\xe6\x97\xa5" "c";  // a b U+65E5 c: 6 bytes
    EXPECT_EQ(utf8Prefix(s, 10), s);
    EXPECT_EQ(utf8Prefix(s, 6), s);
    EXPECT_EQ(utf8Prefix(s, 5), "ab\xe6\x97\xa5");
    EXPECT_EQ(utf8Prefix(s, 4), "ab");
    EXPECT_EQ(utf8Prefix(s, 3), "ab");
    EXPECT_EQ(utf8Prefix(s, 2), "ab");
    EXPECT_EQ(utf8Prefix(s, 0), "");
}
