// Helper process for the SIGKILL test: opens (and so verifies) the history in
// argv[2] with the keytool device directory argv[1], then appends purchases until
// killed, printing "committed <sequence> <hash hex>" after each append returns,
// i.e. after its commit: what a viewer would have been told.

#include "HistoryStore.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/trust/KeyFiles.h>

#include <cstdio>

using namespace boxoffice;
using namespace boxoffice::billing;

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <device dir> <history.db>\n", argv[0]);
        return 2;
    }
    try {
        HistoryOptions options;
        options.creditLimit = wire::maxAmount;
        HistoryStore history(argv[2], trust::loadDeviceIdentity(argv[1]), options);
        std::printf("opened %llu\n", static_cast<unsigned long long>(history.status().lastSequence));
        std::fflush(stdout);
        for (wire::Amount i = 1;; ++i) {
            Entry e;
            e.eventId = "ev-crash";
            e.orderId = "o-" + std::to_string(i);
            e.amount = i;
            e.deferred = (i % 2) == 0;
            const auto r = history.append(e);
            std::printf("committed %llu %s\n", static_cast<unsigned long long>(r.record.sequence), toHex(r.hash).c_str());
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crash appender: %s\n", e.what());
        return 1;
    }
}
