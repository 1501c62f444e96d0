// purchase_to_frame_bench: issue 7's two end-to-end benchmarks, on the real stack of
// the demo (tests/e2e/stack: boxoffice-server, headend streams, boxofficed with every
// STB plugin, the fake BlueZ on a private dbus-daemon, the reference phone approving
// every settlement request at once over its own HTTPS line).
//
//   build-bench/bin/purchase_to_frame_bench [--iterations N]   (default 10)
//
// 1. Time from OK on "buy" to the first descrambled video frame, N purchases, each of a
//    new event with its own stream and EIT event_id (so only its own, new ticket opens
//    its ECMs). Steps, each from the end of the previous one, all on this process's
//    steady clock:
//      order        ppv.1.buy {eventId, pin} sent -> its answer (PIN checked, order placed
//                   on the server over the STB's mTLS line, state awaiting-phone)
//      bluetooth    -> the SettlementRequest arrives at the phone (ppv -> bluetooth plugin
//                   -> D-Bus -> fake BlueZ -> phone)
//      approval     -> the phone has its answers: approval posted over its own line
//                   (server posts the transfer, issues ticket and receipt), receipt
//                   acknowledged
//      ticket       -> ppv.1.orderChanged "approved" arrives on a WebSocket subscription
//                   (Result back over Bluetooth, the STB fetches the ticket, verifies and
//                   stores it, appends the billing record)
//      first ECM    -> ppv.1.watch and descrambler.1.play sent at once; the key service
//                   opened the first ECM (descrambler.1.status timeline.firstEcmMs, taken
//                   in the plugin from the play request)
//      first frame  -> the first decoded video frame (timeline.firstFrameMs)
//    Median and p90 per step and in total, and each median as a multiple of baselines
//    measured in the same run: a JSON-RPC no-op round trip (host.1.version over the TV's
//    WebSocket), the phone's Bluetooth ping (Ping -> Pong through the same D-Bus path and
//    plugin), an HTTPS round trip to the server (GET /v1/time).
// 2. boxofficed's memory (VmRSS, VmHWM from /proc/<pid>/status) with every plugin active
//    and the last purchase's stream playing in real time (fakesinks with sync=true), next
//    to boxofficed with no plugins, started in the same run. Broken down: every plugin
//    active and idle (before the first purchase), playing, and 2 s after the stream stopped
//    (what playback keeps: GStreamer's registry and loaded plugins, allocator pools).
//
// Build without sanitizers (Release) for meaningful figures; see README "Tests and benchmarks".

#include "Stack.h"  // tests/e2e/stack

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/crypto/Random.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::e2e;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Poco::JSON::Object;
namespace fs = std::filesystem;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Summary {
    double median = 0, p90 = 0;
};

Summary summarize(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    // Nearest rank.
    const auto rank = [&](double p) {
        const auto i = static_cast<std::size_t>(std::max(1.0, std::ceil(p * static_cast<double>(values.size()))));
        return values[i - 1];
    };
    return {rank(0.5), rank(0.9)};
}

// The TV's event subscription on its own WebSocket, each notification stamped when it arrives.
class EventLog {
public:
    EventLog(std::uint16_t port, const std::string& token) : ws_("127.0.0.1", port, token)
    {
        Poco::JSON::Array::Ptr events = new Poco::JSON::Array;
        events->add(std::string("ppv.1.orderChanged"));
        ws_.call("host.1.subscribe", params({{"events", events}}), 10s);
        reader_ = std::thread([this] {
            while (!stop_) {
                std::optional<rpc::Notification> n;
                try {
                    n = ws_.nextNotification(100ms);
                } catch (const Error&) {
                    return;  // boxofficed closed the connection (it is stopping)
                }
                if (!n) continue;
                const auto at = Clock::now();
                std::lock_guard lock(mutex_);
                orders_.push_back({at, n->params.extract<Object::Ptr>()});
                arrived_.notify_all();
            }
        });
    }
    ~EventLog()
    {
        stop_ = true;
        reader_.join();
    }
    // When the order reached a final state, and that state.
    std::pair<Clock::time_point, std::string> finalState(const std::string& orderId, std::chrono::seconds timeout)
    {
        std::unique_lock lock(mutex_);
        std::pair<Clock::time_point, std::string> found{{}, ""};
        arrived_.wait_for(lock, timeout, [&] {
            for (const auto& [at, order] : orders_) {
                const auto state = order->getValue<std::string>("state");
                if (order->getValue<std::string>("orderId") == orderId && state != "ordering" && state != "awaiting-phone") {
                    found = {at, state};
                    return true;
                }
            }
            return false;
        });
        return found;
    }

private:
    rpc::WebSocketClient ws_;
    std::thread reader_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<std::pair<Clock::time_point, Object::Ptr>> orders_;
};

struct Memory {
    long rssKiB = -1, hwmKiB = -1;
    long anonKiB = -1, fileKiB = -1;   // RSS split: private heap/stacks vs mapped files (shared libraries)
};

Memory memoryOf(pid_t pid)
{
    return {testing::statusKiB(pid, "VmRSS"), testing::statusKiB(pid, "VmHWM"), testing::statusKiB(pid, "RssAnon"),
            testing::statusKiB(pid, "RssFile")};
}

// boxofficed with no plugin at all (an empty plugin directory): the memory baseline.
Memory bareDaemon(const fs::path& dir)
{
    const auto bare = dir / "bare";
    fs::create_directories(bare / "no-plugins");
    Stb stb(bare, R"({"host": {"pluginDirectory": ")" + (bare / "no-plugins").string() + R"(", "dataDirectory": ")" +
                      (bare / "data").string() + R"("}, "logging": {"level": "warning"},
                      "rpc": {"port": 0, "portFile": ")" + (bare / "rpc.port").string() + R"("}})");
    std::this_thread::sleep_for(1s);  // settled, as the full daemon is when it is read
    const auto memory = memoryOf(stb.pid());
    stb.stop();
    return memory;
}

template <class F>
Summary timeRoundTrips(int count, F&& once)
{
    std::vector<double> samples;
    for (int i = 0; i < count; ++i) {
        const auto start = Clock::now();
        once();
        samples.push_back(ms(Clock::now() - start));
    }
    return summarize(samples);
}

int bench(int iterations)
{
    Stack stack("purchase-bench", [](const std::string& line) { std::cerr << "    " << line << std::endl; });
    std::cerr << "setting up: keys, " << iterations << " scrambled streams, server, boxofficed, phone" << std::endl;
    stack.generateVideo(20);
    std::vector<Event> events;
    for (int i = 1; i <= iterations; ++i) {
        Event e{"ev-bench-" + std::to_string(i), "Bench " + std::to_string(i), 450, 100 + i, {}};
        e.stream = stack.scramble(e, "bench-" + std::to_string(i) + ".ts");
        events.push_back(e);
    }
    stack.startServer();
    stack.createAccounts(450 * iterations + 1000);
    for (const auto& e : events) stack.putEvent(e);
    stack.registerPhoneKey();

    const Memory bare = bareDaemon(stack.dir());

    auto& stb = stack.startStb(events, {"fakesink sync=true", "fakesink sync=true"});
    auto& tv = stack.tv();
    stack.checkPlugins();
    stack.registerStb();
    auto& phone = stack.pairPhone();
    std::mutex settlementsMutex;
    std::map<std::string, PhoneSettlement> settlements;  // by transaction number
    stack.approveOnPhone([&](const PhoneSettlement& s) {
        std::lock_guard lock(settlementsMutex);
        settlements[s.transactionId] = s;
    });
    tv.call("ppv.1.refresh");
    auto log = std::make_unique<EventLog>(stb.port, stack.token());
    const Memory idle = memoryOf(stb.pid());

    // Baselines, same run.
    // 100 calls: within the per-connection burst of boxofficed's rate limit (rpc.requestBurst 200).
    const auto rpcNoop = timeRoundTrips(100, [&] { tv.call("host.1.version"); });
    std::this_thread::sleep_for(1s);  // the limiter's tokens back for the purchases' calls
    const auto btPing = timeRoundTrips(50, [&] {
        phone.request(bluetooth::Message{bluetooth::MessageType::Ping, 0, 0, crypto::randomBytes(16)}, 10s);
    });
    const auto https = timeRoundTrips(50, [&] {
        if (stack.operatorLine().get("/v1/time").status != 200) throw std::runtime_error("GET /v1/time failed");
    });

    const std::vector<std::string> names{"order", "bluetooth", "approval", "ticket", "first ECM", "first frame", "total"};
    std::vector<std::vector<double>> steps(names.size());
    std::printf("%-4s", "#");
    for (const auto& n : names) std::printf(" %11s", n.c_str());
    std::printf("   (ms)\n");
    Memory playing;
    for (int i = 0; i < iterations; ++i) {
        const auto& event = events[static_cast<std::size_t>(i)];
        const auto ok = Clock::now();
        const auto order = tv.object("ppv.1.buy", params({{"eventId", event.eventId}, {"pin", "1234"}}));
        const auto ordered = Clock::now();
        const auto [approvedAt, state] = log->finalState(order->getValue<std::string>("orderId"), 60s);
        if (state != "approved") throw std::runtime_error("purchase of " + event.eventId + " ended " + (state.empty() ? "never" : state));
        const auto playAt = Clock::now();
        const auto watch = tv.object("ppv.1.watch", params({{"eventId", event.eventId}}));
        tv.call("descrambler.1.play", watch->getObject("play"));
        Object::Ptr timeline;
        const bool framed = testing::eventually(
            [&] {
                timeline = tv.object("descrambler.1.status")->getObject("timeline");
                return timeline && timeline->has("firstFrameMs");
            },
            30s);
        if (!framed) throw std::runtime_error("no decoded frame for " + event.eventId + ": " + json(tv.call("descrambler.1.status")));
        const auto firstEcm = playAt + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double, std::milli>(timeline->getValue<double>("firstEcmMs")));
        const auto firstFrame = playAt + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double, std::milli>(timeline->getValue<double>("firstFrameMs")));
        PhoneSettlement phoneSide;
        {
            std::lock_guard lock(settlementsMutex);
            const auto s = settlements.find(order->getValue<std::string>("transactionNumber"));
            if (s == settlements.end()) throw std::runtime_error("the phone never saw the settlement request of " + event.eventId);
            phoneSide = s->second;
        }
        const std::vector<double> row{ms(ordered - ok),
                                      ms(phoneSide.requested - ordered),
                                      ms(phoneSide.approved - phoneSide.requested),
                                      ms(approvedAt - phoneSide.approved),
                                      ms(firstEcm - approvedAt),
                                      ms(firstFrame - firstEcm),
                                      ms(firstFrame - ok)};
        std::printf("%-4d", i + 1);
        for (std::size_t s = 0; s < row.size(); ++s) {
            steps[s].push_back(row[s]);
            std::printf(" %11.2f", row[s]);
        }
        std::printf("\n");
        std::fflush(stdout);
        if (i + 1 == iterations) {
            // Memory with everything active and this stream playing (in real time).
            std::this_thread::sleep_for(2s);
            const auto status = tv.object("descrambler.1.status");
            if (status->getValue<std::string>("state") != "playing")
                throw std::runtime_error("the stream is not playing when memory is read: " + json(status));
            playing = memoryOf(stb.pid());
        }
    }
    tv.call("descrambler.1.stop");
    std::this_thread::sleep_for(2s);
    const Memory stopped = memoryOf(stb.pid());
    log.reset();

    std::printf("\nOK on \"buy\" to the first descrambled frame, %d purchases, phone approving at once:\n", iterations);
    std::printf("%-12s %10s %10s %12s %12s %12s\n", "step", "median ms", "p90 ms", "x rpc no-op", "x bt ping", "x https rt");
    for (std::size_t s = 0; s < names.size(); ++s) {
        const auto sum = summarize(steps[s]);
        std::printf("%-12s %10.2f %10.2f %12.1f %12.1f %12.1f\n", names[s].c_str(), sum.median, sum.p90, sum.median / rpcNoop.median,
                    sum.median / btPing.median, sum.median / https.median);
    }
    std::printf("baselines (median / p90 ms): JSON-RPC no-op host.1.version %.3f / %.3f; Bluetooth ping phone->STB->phone %.2f / %.2f; "
                "HTTPS GET /v1/time %.2f / %.2f\n",
                rpcNoop.median, rpcNoop.p90, btPing.median, btPing.p90, https.median, https.p90);
    std::printf("\nboxofficed memory (KiB):     VmRSS    VmHWM  RssAnon  RssFile\n");
    const auto row = [&](const char* what, const Memory& m) {
        std::printf("  %-20s  %8ld %8ld %8ld %8ld   (%.1fx the bare daemon's RSS)\n", what, m.rssKiB, m.hwmKiB, m.anonKiB,
                    m.fileKiB, static_cast<double>(m.rssKiB) / static_cast<double>(bare.rssKiB));
    };
    row("no plugins", bare);
    row("all plugins, idle", idle);
    row("all plugins, playing", playing);
    row("stopped again", stopped);
    const int exit = stack.stb().stop();
    if (exit != 0) throw std::runtime_error("boxofficed exited with " + std::to_string(exit) + ":\n" + stack.stb().output());
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    int iterations = 10;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--iterations" && i + 1 < argc && std::atoi(argv[i + 1]) > 0)
            iterations = std::atoi(argv[++i]);
        else {
            std::cerr << "usage: purchase_to_frame_bench [--iterations N]\n";
            return 2;
        }
    }
    try {
        return bench(iterations);
    } catch (const std::exception& e) {
        std::cerr << "purchase_to_frame_bench: FAILED: " << e.what() << std::endl;
        return 1;
    }
}
