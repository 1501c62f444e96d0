// Guide data from real captures (TSDuck test suite, see tests/data/README.md).

#include "TestData.h"

#include <boxoffice/mpegts/Guide.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::mpegts;

TEST(Guide, TdtTotGiveTheBroadcastTime) {
    std::vector<std::int64_t> times;
    GuideCollector g({.onTime = [&](std::int64_t t) { times.push_back(t); }});
    g.pushAll(testdata::readFile("tsduck/test-018.ts"));
    ASSERT_TRUE(g.utcTime());
    EXPECT_EQ(*g.utcTime(), 1518525308);  // 2018-02-13 12:35:08 UTC
    EXPECT_GE(times.size(), 2u) << "TDT and TOT";
    EXPECT_EQ(g.errors(), 0u);
}

TEST(Guide, CatListsEmmPidsPerCaSystem) {
    GuideCollector g;
    g.pushAll(testdata::readFile("tsduck/test-030.ts"));
    std::set<std::uint16_t> systems;
    for (const auto& [system, pid] : g.emmPids())
        systems.insert(system);
    EXPECT_EQ(g.emmPids().size(), 12u);
    EXPECT_EQ(systems, (std::set<std::uint16_t>{0x0500, 0x1811, 0x1863, 0x1883}));
}

TEST(Guide, EitPresentFollowingWithScrambledEvents) {
    std::size_t callbacks = 0;
    GuideCollector g({.onEvent = [&](const GuideEvent&) { ++callbacks; }});
    g.pushAll(testdata::readFile("tsduck/test-030.ts"));
    ASSERT_EQ(g.events().size(), 20u);
    EXPECT_GE(callbacks, 20u);
    const GuideEvent& e = g.events().at({8801, 36479});
    EXPECT_EQ(e.tableId, 0x4E);
    EXPECT_EQ(e.name, "PETER ET ELLIOTT LE DRAGON");
    EXPECT_EQ(e.start, 1503488700);
    EXPECT_EQ(e.duration, 6000u);
    EXPECT_EQ(e.runningStatus, 4);
    EXPECT_TRUE(e.scrambled) << "free_CA_mode: a pay event";
    EXPECT_FALSE(g.events().at({8802, 30865}).scrambled);
}

TEST(Guide, IgnoresOtherPidsAndGarbage) {
    GuideCollector g;
    Bytes noise(188 * 50, 0xFF);
    for (std::size_t at = 0; at < noise.size(); at += 188) {
        noise[at] = 0x47;
        noise[at + 1] = 0x40;
        noise[at + 2] = 0x12;  // EIT PID, nonsense sections
        noise[at + 3] = static_cast<std::uint8_t>(0x10 | (at / 188 % 16));
        noise[at + 4] = 0;
        noise[at + 5] = 0x4E;
    }
    g.pushAll(noise);
    EXPECT_TRUE(g.events().empty());
    EXPECT_FALSE(GuideCollector::wants(0x100));
}
