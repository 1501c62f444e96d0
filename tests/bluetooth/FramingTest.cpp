// Framing: fragment sizes per MTU, reassembly, and every rejection path.

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Framing.h>
#include <boxoffice/bluetooth/Handshake.h>
#include <boxoffice/bluetooth/Info.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/bluetooth/Protocol.h>
#include <boxoffice/crypto/Random.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::bluetooth;

namespace {
ErrorCode codeOf(Reassembler& r, ByteView f)
{
    try {
        r.push(f);
    } catch (const Error& e) {
        return e.code();
    }
    return ErrorCode::Internal;
}
} // namespace

class FramingMtu : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FramingMtu, FourKilobytesRoundTripWithinMtu)
{
    const std::size_t mtu = GetParam();
    const Bytes message = crypto::randomBytes(4096);
    const auto fragments = fragment(message, 7, mtu);
    Reassembler r(kMaxTransportMessage);
    std::optional<Bytes> out;
    for (std::size_t i = 0; i < fragments.size(); ++i) {
        EXPECT_LE(fragments[i].size(), std::min<std::size_t>(mtu - 3, 512));
        EXPECT_EQ(*fragmentChannel(fragments[i]), 7);
        out = r.push(fragments[i]);
        EXPECT_EQ(out.has_value(), i + 1 == fragments.size());
    }
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, message);
    EXPECT_FALSE(r.inProgress());
}

INSTANTIATE_TEST_SUITE_P(Mtus, FramingMtu, ::testing::Values(23, 24, 185, 247, 517));

TEST(Framing, SmallestMessageIsOneFragment)
{
    const auto f = fragment(Bytes{0x42}, 1, 23);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0], (Bytes{0xc0, 1, 0, 1, 0x42}));
}

TEST(Framing, OversizedMessageRefusedBySender)
{
    const Bytes big(kMaxTransportMessage + 1, 0);
    try {
        fragment(big, 1, 185);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::LimitExceeded);
    }
    EXPECT_THROW(fragment(Bytes{1}, 1, 22), Error);
    EXPECT_THROW(fragment(Bytes{1}, 0, 23), Error);
    EXPECT_THROW(fragment(Bytes{}, 1, 23), Error);
}

TEST(Framing, OversizedAnnouncementRefusedByReceiver)
{
    Reassembler r(1000);
    const Bytes first{0x80, 1, 0x03, 0xe9, 1, 2, 3};  // announces 1001
    EXPECT_EQ(codeOf(r, first), ErrorCode::LimitExceeded);
    EXPECT_FALSE(r.inProgress());
}

TEST(Framing, TruncatedMessageRejectedAndNextOneAccepted)
{
    const Bytes message = crypto::randomBytes(100);
    auto f = fragment(message, 1, 23);
    ASSERT_GE(f.size(), 3u);
    Reassembler r(kMaxTransportMessage);
    r.push(f[0]);
    f[1][0] |= kFragmentLast;  // the sender claims the end early
    EXPECT_EQ(codeOf(r, f[1]), ErrorCode::Malformed);
    EXPECT_FALSE(r.inProgress());
    // A stray continuation of the broken message is refused too.
    EXPECT_EQ(codeOf(r, f[2]), ErrorCode::Malformed);
    // The link survives: a fresh message goes through.
    std::optional<Bytes> out;
    for (const auto& g : fragment(message, 1, 23)) out = r.push(g);
    EXPECT_EQ(*out, message);
}

TEST(Framing, ReorderedRepeatedOrLostFragmentsRejected)
{
    const Bytes message = crypto::randomBytes(200);
    const auto f = fragment(message, 1, 23);
    {
        Reassembler r(kMaxTransportMessage);
        r.push(f[0]);
        EXPECT_EQ(codeOf(r, f[2]), ErrorCode::Malformed);  // lost / reordered
    }
    {
        Reassembler r(kMaxTransportMessage);
        r.push(f[0]);
        r.push(f[1]);
        EXPECT_EQ(codeOf(r, f[1]), ErrorCode::Malformed);  // repeated
    }
    {
        Reassembler r(kMaxTransportMessage);
        Bytes overlong = f[0];
        overlong[3] = 5;  // announce 5 bytes, carry 16
        EXPECT_EQ(codeOf(r, overlong), ErrorCode::Malformed);
    }
    {
        Reassembler r(kMaxTransportMessage);
        EXPECT_EQ(codeOf(r, Bytes{0x80}), ErrorCode::Malformed);
        EXPECT_EQ(codeOf(r, Bytes{0xb0, 1, 0, 1, 9}), ErrorCode::Malformed);  // reserved bits
    }
}

TEST(Framing, NewFirstFragmentAbandonsPartialMessage)
{
    const Bytes a = crypto::randomBytes(100);
    const Bytes b = crypto::randomBytes(50);
    const auto fa = fragment(a, 1, 23);
    Reassembler r(kMaxTransportMessage);
    r.push(fa[0]);
    std::optional<Bytes> out;
    for (const auto& g : fragment(b, 1, 23)) out = r.push(g);
    EXPECT_EQ(*out, b);
}

TEST(Framing, IndexWrapsAfterSixteenFragments)
{
    const Bytes message = crypto::randomBytes(1000);  // ~56 fragments at MTU 23
    Reassembler r(kMaxTransportMessage);
    std::optional<Bytes> out;
    for (const auto& g : fragment(message, 9, 23)) out = r.push(g);
    EXPECT_EQ(*out, message);
}

// Random and mutated input to every decoder: only boxoffice::Error, never a
// crash, hang or other exception (ASan/UBSan watch the memory side).
TEST(Robustness, DecodersRefuseGarbageCleanly)
{
    const Bytes valid = crypto::randomBytes(300);
    const auto fragments = fragment(valid, 3, 23);
    Reassembler r(kMaxTransportMessage);
    for (int i = 0; i < 20000; ++i) {
        Bytes input;
        if (i % 2 == 0) {
            input = crypto::randomBytes(crypto::randomBytes(1)[0] % 64);
        } else {
            input = fragments[static_cast<std::size_t>(i) % fragments.size()];
            input[crypto::randomBytes(1)[0] % input.size()] ^= static_cast<std::uint8_t>(1u << (i % 8));
            if (!input.empty() && i % 3 == 0) input[0] = static_cast<std::uint8_t>(0x01 + i % 3);
        }
        try {
            r.push(input);
        } catch (const Error&) {
        }
        for (auto decode : {+[](ByteView b) { Message::decode(b); }, +[](ByteView b) { Alert::decode(b); },
                            +[](ByteView b) { handshakeTypeOf(b); }, +[](ByteView b) { SettlementRequestBody::decode(b); },
                            +[](ByteView b) { ResultBody::decode(b); }, +[](ByteView b) { SettlementResultBody::decode(b); },
                            +[](ByteView b) { ReceiptBody::decode(b); },
                            +[](ByteView b) { PeripheralInfo::decode(b); },
                            +[](ByteView b) { StbSessionHandshake::phoneKeyOf(b); }}) {
            try {
                decode(input);
            } catch (const Error&) {
            }
        }
    }
}
