#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/wire/Reader.h>
#include <boxoffice/wire/Writer.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using wire::Reader;
using wire::Writer;

namespace {
template <typename F> std::string malformed(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Malformed);
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}
}

TEST(Codec, BigEndianFixedWidthAndLengthPrefixes)
{
    Writer w("thing");
    w.unsignedField("a", 0x0102, 0, 0xffff, 2);
    w.signedField("b", -2, -10, 10);
    w.id("c", "ab");
    w.text("d", "é", 10);
    w.bytes("e", Bytes{9}, 0, 4);
    w.currency("f", "EUR");
    w.boolean("g", true);
    EXPECT_EQ(toHex(w.data()), "0102" "fffffffffffffffe" "026162" "0002c3a9" "0000000109" "455552" "01");

    Reader r("thing", w.data());
    EXPECT_EQ(r.unsignedField("a", 0, 0xffff, 2), 0x0102u);
    EXPECT_EQ(r.signedField("b", -10, 10), -2);
    EXPECT_EQ(r.id("c"), "ab");
    EXPECT_EQ(r.text("d", 10), "é");
    EXPECT_EQ(r.bytes("e", 0, 4), Bytes{9});
    EXPECT_EQ(r.currency("f"), "EUR");
    EXPECT_TRUE(r.boolean("g"));
    EXPECT_NO_THROW(r.finish());
}

TEST(Codec, DecodeErrorsNameObjectAndField)
{
    EXPECT_EQ(malformed([] { Reader("ticket", Bytes{0x01}).unsignedField("views_left", 0, 10, 2); }),
              "ticket.views_left: truncated");
    EXPECT_EQ(malformed([] { Reader("ticket", Bytes{0, 11}).unsignedField("views_left", 0, 10, 2); }),
              "ticket.views_left: out of range");
    Bytes longId{65};
    longId.resize(66, 'a');
    EXPECT_EQ(malformed([&] { Reader("ticket", longId).id("event_id"); }), "ticket.event_id: too long");
    EXPECT_EQ(malformed([] { Reader("ticket", Bytes{0}).id("event_id"); }), "ticket.event_id: empty");
    EXPECT_EQ(malformed([] { Reader("ticket", Bytes{2, 'a', ' '}).id("event_id"); }), "ticket.event_id: invalid character");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{0, 2, 0xc3, 0x28}).text("name", 10); }), "x.name: invalid UTF-8");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{0, 1, 0x07}).text("name", 10); }), "x.name: control character");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{0, 3, 'a', 'b', 'c'}).text("name", 2); }), "x.name: too long");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{2}).boolean("flag"); }), "x.flag: not a boolean");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{'e', 'u', 'r'}).currency("currency"); }), "x.currency: not an ISO 4217 code");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{0, 0, 0, 5, 1}).bytes("blob", 0, 10); }), "x.blob: truncated");
    EXPECT_EQ(malformed([] { Reader("x", Bytes{0xff, 0xff, 0xff, 0xff}).bytes("blob", 0, 10); }), "x.blob: too long");
    EXPECT_EQ(malformed([] {
                  const Bytes data{1, 2};
                  Reader r("x", data);
                  r.unsignedField("a", 0, 255, 1);
                  r.finish();
              }),
              "x: 1 trailing bytes");
}

TEST(Codec, EncodeRefusesInvalidValuesNamingTheField)
{
    Writer w("ticket");
    try {
        w.id("event_id", std::string(65, 'a'));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_STREQ(e.what(), "ticket.event_id: too long");
    }
    EXPECT_THROW(w.unsignedField("n", 5, 0, 4, 1), Error);
    EXPECT_THROW(w.text("t", "a\x01", 5), Error);
    EXPECT_THROW(w.currency("c", "EURO"), Error);
    EXPECT_NO_THROW(w.id("order_id", "", true));
}
