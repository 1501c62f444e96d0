// The purchase PIN: PBKDF2 against a published vector, bounded attempts, a lockout
// that survives a restart, nothing but a salted hash on disk.

#include "Pin.h"
#include "PpvDatabase.h"
#include "Refusal.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/testing/ChildProcess.h>

#include <gmock/gmock.h>

#include <fstream>
#include <iterator>

using ::testing::HasSubstr;

namespace boxoffice::ppv::test {
namespace {

using plugins::ppv::PinGuard;
using plugins::ppv::Refusal;

std::string refusalOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Refusal& r) {
        return r.reason() + " | " + r.what();
    }
    return "accepted";
}

TEST(Pbkdf2, MatchesRfc7914Vector)
{
    // RFC 7914 §11: PBKDF2-HMAC-SHA256, P = "passwd", S = "salt", c = 1 (first 32 of its 64 bytes).
    const std::string salt = "salt";
    const auto dk = plugins::ppv::pbkdf2Sha256("passwd", ByteView(reinterpret_cast<const std::uint8_t*>(salt.data()), salt.size()), 1);
    EXPECT_EQ(toHex(dk), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
}

class PinTest : public ::testing::Test {
protected:
    std::unique_ptr<PinGuard> open(const std::string& initial = "4321")
    {
        PinGuard::Options o;
        o.initialPin = initial;
        o.maxAttempts = 3;
        o.lockSeconds = 600;
        o.iterations = 1000;
        return std::make_unique<PinGuard>(plugins::ppv::openPpvDatabase(dir / "ppv.db"), o);
    }
    boxoffice::testing::TempDir dir{"ppv-pin"};
    const wire::UnixTime t0 = 1'800'000'000;
};

TEST_F(PinTest, WrongPinsCountDownThenLockAcrossRestarts)
{
    auto pin = open();
    EXPECT_EQ(refusalOf([&] { pin->check("4321", t0); }), "accepted");
    EXPECT_THAT(refusalOf([&] { pin->check("0000", t0); }), HasSubstr("pin-wrong | pin-wrong: wrong PIN, 2 attempts left"));
    EXPECT_EQ(pin->status(t0).attemptsLeft, 2);
    // A restart does not reset the count (and the initial PIN does not overwrite the stored hash).
    pin = open("9999");
    EXPECT_THAT(refusalOf([&] { pin->check("1111", t0); }), HasSubstr("1 attempts left"));
    EXPECT_THAT(refusalOf([&] { pin->check("2222", t0 + 1); }), HasSubstr("pin-locked"));
    pin = open();
    EXPECT_EQ(pin->status(t0 + 2).lockedUntil, t0 + 601);
    EXPECT_EQ(pin->status(t0 + 2).attemptsLeft, 0);
    // While locked even the right PIN is refused.
    EXPECT_THAT(refusalOf([&] { pin->check("4321", t0 + 100); }), HasSubstr("pin-locked"));
    // After the lock: fresh attempts, the right PIN works.
    EXPECT_EQ(pin->status(t0 + 601).attemptsLeft, 3);
    EXPECT_EQ(refusalOf([&] { pin->check("4321", t0 + 601); }), "accepted");
    EXPECT_EQ(pin->status(t0 + 602).lockedUntil, 0);
}

TEST_F(PinTest, ChangeNeedsTheOldPinAndStoresOnlyASaltedHash)
{
    auto pin = open();
    EXPECT_THAT(refusalOf([&] { pin->change("0000", "8642", t0); }), HasSubstr("pin-wrong"));
    EXPECT_THROW(pin->change("4321", "12a4", t0), Error);
    pin->change("4321", "8642", t0);
    EXPECT_THAT(refusalOf([&] { pin->check("4321", t0); }), HasSubstr("pin-wrong"));
    EXPECT_EQ(refusalOf([&] { pin->check("8642", t0); }), "accepted");
    for (const auto* name : {"ppv.db", "ppv.db-wal"}) {
        std::ifstream in(dir / name, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find("8642"), std::string::npos) << name;
    }
}

} // namespace
} // namespace boxoffice::ppv::test
