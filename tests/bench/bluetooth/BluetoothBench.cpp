// Message round trips through the real D-Bus path: reference phone -> fake
// radio -> fake org.bluez -> WriteValue on the bluetooth plugin (loaded into a
// PluginHost) -> reassembly, AEAD, dispatch -> Pong sealed, fragmented and
// notified -> fake org.bluez -> phone. Run: build/bin/bluetooth_bench
//
// Counters per benchmark:
//   items_per_second    round trips per second (wall clock, one at a time)
//   latency_us          wall-clock time of one round trip
//   cpu_us_per_msg      CPU of the whole process (phone, fake BlueZ, plugin,
//                       their D-Bus threads) per message, i.e. per half round trip;
//                       dbus-daemon's own CPU is not included
//   x_dbus_call         latency over the baseline's: one bare D-Bus method call
//                       round trip (ay -> ay echo) on the same private bus,
//                       measured in the same run (BM_DbusEchoBaseline)

#include "Rig.h"

#include <boxoffice/bluetooth/Messages.h>

#include <benchmark/benchmark.h>
#include <sdbus-c++/sdbus-c++.h>

#include <ctime>

using namespace boxoffice;
using namespace boxoffice::testing;

namespace {

double baselineLatencyUs = 0;

double cpuSeconds()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

struct Meter {
    std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
    double cpu = cpuSeconds();

    void report(benchmark::State& state, double messagesPerIteration, bool compare = true)
    {
        const double iterations = double(state.iterations());
        const double wallUs = double(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - wall).count()) / 1e3;
        const double latency = wallUs / iterations;
        state.counters["latency_us"] = latency;
        state.counters["cpu_us_per_msg"] = (cpuSeconds() - cpu) * 1e6 / (iterations * messagesPerIteration);
        if (compare && baselineLatencyUs > 0) state.counters["x_dbus_call"] = latency / baselineLatencyUs;
        state.SetItemsProcessed(state.iterations());
    }
};

void BM_DbusEchoBaseline(benchmark::State& state)
{
    fakebluez::PrivateBus bus;
    auto serverConnection = sdbus::createSessionBusConnectionWithAddress(bus.address());
    auto object = sdbus::createObject(*serverConnection, "/echo");
    object->registerMethod("Echo").onInterface("org.boxoffice.Bench").implementedAs(
        [](std::vector<std::uint8_t> v) { return v; });
    object->finishRegistration();
    serverConnection->enterEventLoopAsync();
    auto clientConnection = sdbus::createSessionBusConnectionWithAddress(bus.address());
    auto proxy = sdbus::createProxy(*clientConnection, serverConnection->getUniqueName(), "/echo");
    const std::vector<std::uint8_t> payload(static_cast<std::size_t>(state.range(0)), 0x5a);
    Meter meter;
    for (auto _ : state) {
        std::vector<std::uint8_t> back;
        proxy->callMethod("Echo").onInterface("org.boxoffice.Bench").withArguments(payload).storeResultsTo(back);
        benchmark::DoNotOptimize(back);
    }
    meter.report(state, 2, false);
    baselineLatencyUs = state.counters["latency_us"];
    serverConnection->leaveEventLoop();
}

void BM_PhoneRoundTrip(benchmark::State& state)
{
    const auto mtu = static_cast<std::uint16_t>(state.range(0));
    const auto size = static_cast<std::size_t>(state.range(1));
    Rig rig;
    auto t = rig.connect("AA:BB:CC:DD:EE:77", mtu);
    rig.pairFully(t);
    const bluetooth::Message ping{bluetooth::MessageType::Ping, 0, 0, crypto::randomBytes(size)};
    Meter meter;
    for (auto _ : state) {
        auto pong = t.phone->request(ping, 10s);
        if (pong.body.size() != size) state.SkipWithError("corrupt pong");
    }
    meter.report(state, 2);
}

// STB -> phone -> STB through the PhoneChannel service, as the ppv plugin uses it.
void BM_StbRequest(benchmark::State& state)
{
    const auto mtu = static_cast<std::uint16_t>(state.range(0));
    const auto size = static_cast<std::size_t>(state.range(1));
    Rig rig;
    auto t = rig.connect("AA:BB:CC:DD:EE:78", mtu);
    rig.pairFully(t);
    auto channel = rig.channel();
    const bluetooth::Message request{bluetooth::MessageType::Receipt, 0, 0, crypto::randomBytes(size)};
    t.phone->onMessage([](const bluetooth::Message& m) -> std::optional<bluetooth::Message> {
        return bluetooth::Message{bluetooth::MessageType::Acknowledgement, 0, 0, m.body};
    });
    Meter meter;
    for (auto _ : state) {
        auto reply = channel->request(t.phone->id(), request, 10s);
        if (reply.body.size() != size) state.SkipWithError("corrupt reply");
    }
    meter.report(state, 2);
}

} // namespace

BENCHMARK(BM_DbusEchoBaseline)->Arg(182)->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(1.0);
BENCHMARK(BM_PhoneRoundTrip)
    ->Args({185, 64})->Args({517, 64})->Args({185, 4096})->Args({517, 4096})
    ->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(1.0);
BENCHMARK(BM_StbRequest)->Args({185, 64})->Args({517, 64})->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(1.0);

int main(int argc, char** argv)
{
    // Find the plugin module in this build tree unless told otherwise.
    ::setenv("BOXOFFICE_BUILD_DIR", BOXOFFICE_BENCH_BUILD_DIR, 0);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
