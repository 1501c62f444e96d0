#include "Fixture.h"

#include <boxoffice/trust/TrustedClock.h>

#include <sys/stat.h>

using namespace boxoffice;
using namespace boxoffice::trust;
using namespace boxoffice::trust::testing;

namespace {

class TrustedClockTest : public ::testing::Test {
protected:
    ScratchDir dir;
    SigningKey server{"server-1", crypto::Ed25519PrivateKey::generate()};
    wire::UnixTime systemTime = 1000;   // an STB that booted without a real-time clock
    TrustedClock clock{dir.path / "clock", [this] { return systemTime; }};

    wire::TrustedTime signedTime(wire::UnixTime t, std::string audience = "stb-1", Bytes nonce = {}) const
    {
        wire::TrustedTime time;
        time.time = t;
        time.audience = std::move(audience);
        time.nonce = std::move(nonce);
        sign(time, server);
        return time;
    }
};

} // namespace

TEST_F(TrustedClockTest, SignedTimeCorrectsTheSystemClockAndPersists)
{
    EXPECT_EQ(clock.now(), 1000);
    const Bytes nonce = crypto::randomBytes(16);
    clock.accept(signedTime(t0, "stb-1", nonce), server.verifyingKey(), "stb-1", nonce);
    EXPECT_EQ(clock.now(), t0);
    systemTime += 30;
    EXPECT_EQ(clock.now(), t0 + 30);
    EXPECT_EQ(clock.highWaterMark(), t0);

    struct stat st {};
    ASSERT_EQ(::stat((dir.path / "clock").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    TrustedClock reloaded(dir.path / "clock", [this] { return systemTime; });
    EXPECT_EQ(reloaded.now(), t0 + 30);
    EXPECT_EQ(reloaded.highWaterMark(), t0);
}

// The server's time is truncated to the second: a box clock a second ahead is not pulled
// back (its tickets would end a second early), a larger difference is corrected.
TEST_F(TrustedClockTest, ADifferenceWithinTheSignedTimesResolutionIsNotAnOffset)
{
    systemTime = t0 + 1;
    clock.accept(signedTime(t0), server.verifyingKey(), "stb-1");
    EXPECT_EQ(clock.now(), t0 + 1);
    systemTime = t0 + 12;
    clock.accept(signedTime(t0 + 10), server.verifyingKey(), "stb-1");
    EXPECT_EQ(clock.now(), t0 + 10);
    systemTime += 5;
    EXPECT_EQ(clock.now(), t0 + 15);
}

TEST_F(TrustedClockTest, RefusesBadTimeWithoutChangingState)
{
    clock.accept(signedTime(t0), server.verifyingKey(), "stb-1");
    const auto expectRefused = [&](const wire::TrustedTime& t, ErrorCode code, ByteView nonce = {}) {
        EXPECT_EQ(errorOf([&] { clock.accept(t, server.verifyingKey(), "stb-1", nonce); }).code(), code);
        EXPECT_EQ(clock.highWaterMark(), t0);
        EXPECT_EQ(clock.now(), t0);
    };
    expectRefused(signedTime(t0 - 3600), ErrorCode::ClockRollback);
    expectRefused(signedTime(t0 + 10, "stb-2"), ErrorCode::WrongAudience);
    expectRefused(signedTime(t0 + 10, "stb-1", Bytes(16, 1)), ErrorCode::Replayed, Bytes(16, 2));
    wire::TrustedTime forged = signedTime(t0 + 10);
    forged.time += 3600;
    expectRefused(forged, ErrorCode::BadSignature);
    wire::TrustedTime otherKey = signedTime(t0 + 10);
    sign(otherKey, SigningKey("server-1", crypto::Ed25519PrivateKey::generate()));
    expectRefused(otherKey, ErrorCode::BadSignature);
}

TEST_F(TrustedClockTest, SystemClockRollbackIsDetectedBeyondTolerance)
{
    systemTime = t0;
    clock.observe(t0);
    systemTime = t0 - 30;   // within the 60 s tolerance (NTP slew)
    EXPECT_EQ(clock.now(), t0 - 30);
    systemTime = t0 - 3600;
    EXPECT_EQ(errorOf([&] { clock.now(); }).code(), ErrorCode::ClockRollback);
}

// What certificate checks that must go on use: the corrected clock while it is fine, the
// mark (not the clock set back) once it is not.
TEST_F(TrustedClockTest, LatestKnownIsTheMarkWhileTheClockIsSetBack)
{
    clock.accept(signedTime(5000), server.verifyingKey(), "stb-1");
    systemTime = 1100;   // offset +4000: 5100
    EXPECT_EQ(clock.latestKnown(), 5100);
    clock.observe(9000);
    systemTime = 1200;   // corrected 5200, far behind the mark of 9000
    EXPECT_EQ(errorOf([&] { clock.now(); }).code(), ErrorCode::ClockRollback);
    EXPECT_EQ(clock.latestKnown(), 9000);
    systemTime = 6000;   // the clock comes back past the mark
    EXPECT_EQ(clock.latestKnown(), 10000);
}

// The time to check the signer of trusted time at ignores the offset: once the system clock
// has been corrected (NTP) the old offset runs ahead, and checking there could find the
// signer's certificate expired and shut out the very time that would fix the offset.
TEST_F(TrustedClockTest, SignerCheckTimeIsTheSystemClockOrTheMarkNotTheOffset)
{
    clock.accept(signedTime(5000), server.verifyingKey(), "stb-1");   // offset +4000
    systemTime = 5050;   // the RTC corrected since
    EXPECT_EQ(clock.latestKnown(), 9050);
    EXPECT_EQ(clock.signerCheckTime(), 5050);
    systemTime = 100;    // and set far back
    EXPECT_EQ(clock.signerCheckTime(), 5000);
}

TEST_F(TrustedClockTest, CorruptStateIsAStorageError)
{
    std::FILE* f = std::fopen((dir.path / "bad").c_str(), "w");
    std::fputs("high_water x\n", f);
    std::fclose(f);
    EXPECT_EQ(errorOf([&] { TrustedClock(dir.path / "bad"); }).code(), ErrorCode::Storage);
}

TEST_F(TrustedClockTest, SealedStateDetectsTampering)
{
    auto sealer = std::make_shared<MachineSecretSealer>(dir.path / "secret");
    {
        TrustedClock sealed(dir.path / "sealed-clock", sealer, [this] { return systemTime; });
        sealed.accept(signedTime(t0), server.verifyingKey(), "stb-1");
    }
    TrustedClock reopened(dir.path / "sealed-clock", sealer, [this] { return systemTime; });
    EXPECT_EQ(reopened.highWaterMark(), t0);

    // Someone writes a lower mark in clear text over the sealed state.
    std::FILE* f = std::fopen((dir.path / "sealed-clock").c_str(), "w");
    std::fputs("high_water 0\noffset 0\n", f);
    std::fclose(f);
    EXPECT_EQ(errorOf([&] { TrustedClock(dir.path / "sealed-clock", sealer, [this] { return systemTime; }); }).code(),
              ErrorCode::Storage);
}
