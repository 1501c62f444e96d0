// A real child process appending to the history is killed with SIGKILL at
// random points, again and again. After every kill the history opens (integrity
// check, chain and signatures verified) and holds every record the child
// reported as committed, with the hash it reported.

#include "Fixture.h"

#include <boxoffice/base/Hex.h>

#include <csignal>
#include <map>
#include <random>
#include <sstream>

namespace boxoffice::billing::test {
namespace {

std::map<std::uint64_t, std::string> committedIn(const std::string& output)
{
    std::map<std::uint64_t, std::string> out;
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string word, hash;
        std::uint64_t seq = 0;
        // A line cut by the kill has no hash yet: it was not fully reported.
        if (words >> word && word == "committed" && words >> seq >> hash && hash.size() == 64) out[seq] = hash;
    }
    return out;
}

TEST(BillingCrash, KilledMidAppendLosesNothingCommitted)
{
    testing::TempDir dir("billing-crash");
    const auto db = dir / "history.db";
    const auto device = DevKeys::get().keysDir() / "devices" / "stb-1";
    std::mt19937 random(20261122);
    std::map<std::uint64_t, std::string> reported;

    for (int round = 0; round < 12; ++round) {
        testing::ChildProcess child(BILLING_CRASH_APPENDER, {device.string(), db.string()});
        const std::uint64_t target = (reported.empty() ? 0 : reported.rbegin()->first) + 1 + random() % 15;
        ASSERT_TRUE(child.waitForOutput("committed " + std::to_string(target) + " ", std::chrono::seconds(60)))
            << child.output();
        // Let it go on for a random moment so the kill lands anywhere in an append.
        struct timespec pause{0, static_cast<long>(random() % 3'000'000)};
        nanosleep(&pause, nullptr);
        child.signal(SIGKILL);
        const auto status = child.wait(std::chrono::seconds(30));
        ASSERT_TRUE(status.has_value());
        for (const auto& [seq, hash] : committedIn(child.output())) reported[seq] = hash;

        HistoryStore history(db, *DevKeys::get().stb1, defaultOptions());   // throws if anything is off
        const auto s = history.status();
        ASSERT_GE(s.lastSequence, reported.rbegin()->first) << "round " << round;
        const auto records = history.records(0, s.lastSequence);
        ASSERT_EQ(records.size(), s.lastSequence);
        for (const auto& [seq, hash] : reported) EXPECT_EQ(toHex(records.at(seq - 1).hash), hash) << "record " << seq;
        // The child's half-done append (if any) left nothing behind: appends continue the chain.
    }
    HistoryStore history(db, *DevKeys::get().stb1, defaultOptions());
    const auto next = history.append(purchase(1));
    EXPECT_EQ(next.record.sequence, history.status().lastSequence);
    EXPECT_NO_THROW(history.verify());
}

} // namespace
} // namespace boxoffice::billing::test
