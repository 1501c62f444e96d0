#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Base64Url.h>

#include <gtest/gtest.h>

using namespace boxoffice;

TEST(Base64Url, Rfc4648VectorsWithoutPadding)
{
    // RFC 4648 section 10, padding removed.
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        const Bytes raw(plain, plain + std::char_traits<char>::length(plain));
        EXPECT_EQ(wire::toBase64Url(raw), encoded);
        EXPECT_EQ(wire::fromBase64Url(encoded), raw);
    }
    EXPECT_EQ(wire::toBase64Url(Bytes{0xfb, 0xff}), "-_8");
    EXPECT_EQ(wire::fromBase64Url("-_8"), (Bytes{0xfb, 0xff}));
}

TEST(Base64Url, RejectsForeignCharactersPaddingAndNonCanonicalText)
{
    for (const char* bad : {"Zg==", "Zm9v+", "Zm9v/", "Z", "Zm 9v", "Zh"}) {
        try {
            wire::fromBase64Url(bad, "field");
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::Malformed);
            EXPECT_NE(std::string(e.what()).find("field"), std::string::npos);
        }
    }
}
