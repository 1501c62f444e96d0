#pragma once
// Deferred settlement through the phone (DESIGN §5 flow 5), the STB's side:
//
//   unsettled deferred purchases, no line, a trusted phone connected
//     -> HistoryHandoff (the oldest unsettled records, signed, sealed to the server)
//     <- SettlementResult (the phone uploaded the batch) or Result !ok (it could not)
//     -> History::applySettlement: every check of the result is the history's own
//
// A phone may also deliver a SettlementResult later on its own (unsolicited); it is
// answered with Result. The phone is an untrusted relay: it carries bytes it can
// neither open nor forge, so nothing it sends changes the history unless the
// server's signature, audience, sequence and chain hash all check out.
//
// The PhoneChannel and ServerLink are found at call time (the bluetooth and sync
// plugins may start later or not at all). A worker thread attaches to the channel
// once it is published and hands off when a phone connects.

#include <boxoffice/billing/History.h>
#include <boxoffice/bluetooth/PhoneChannel.h>
#include <boxoffice/host/ServiceRegistry.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace boxoffice::plugins::billing {

class PhoneHandoff {
public:
    struct Options {
        std::chrono::milliseconds phoneTimeout{60'000};   // the phone uploads before it answers
        bool onConnect = true;                            // hand off when a trusted phone connects
    };
    struct Outcome {
        std::string phoneId;
        boxoffice::billing::Batch batch;
        boxoffice::billing::Settlement settlement;
    };

    PhoneHandoff(std::shared_ptr<boxoffice::billing::History> history, host::ServiceRegistry& services, Options options);
    ~PhoneHandoff();
    PhoneHandoff(const PhoneHandoff&) = delete;
    PhoneHandoff& operator=(const PhoneHandoff&) = delete;

    // Hands the oldest unsettled records that fit one message (one batch) to `phoneId` (empty: a connected trusted
    // phone) and applies the result it brings back. Errors: NotFound (no deferred
    // purchase to settle), Unavailable (no phone channel, no connected phone, or no
    // answer in time), the phone's refusal as its error code (e.g. the server's),
    // and History::applySettlement's (Replayed, Conflict, WrongAudience, ...).
    Outcome handoff(const std::string& phoneId = {});

    // True when deferred purchases wait for settlement and the box has no line.
    bool needed() const;

    // The largest sealed batch a HistoryHandoff body can carry.
    static std::size_t maxBatchBytes();

private:
    static constexpr int kMaxBatchesPerConnection = 64;

    void run();
    std::optional<bluetooth::Message> settlementFromPhone(const std::string& phoneId, const bluetooth::Message& m);

    std::shared_ptr<boxoffice::billing::History> history_;
    host::ServiceRegistry& services_;
    Options options_;
    std::mutex handoffMutex_;   // one handoff at a time: each exports from settledThrough

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::deque<std::string> connected_;   // phones that connected, for the worker
    std::thread worker_;
};

} // namespace boxoffice::plugins::billing
