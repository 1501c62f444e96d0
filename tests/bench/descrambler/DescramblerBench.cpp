// tsdescrambler throughput against baselines timed in the same iterations:
// - CISSA and IDSA descrambling (the Descrambler engine) vs bulk AES-128-CBC
//   decryption (OpenSSL through core/crypto) of the same number of payload bytes
//   (goal for CISSA: >= 0.7x);
// - CSA2 descrambling vs libdvbcsa's own batch decryption of the same payloads
//   (goal: >= 0.9x);
// - the element (GstHarness, 1000-packet buffers) vs the bare descrambler
//   (ratio) and, for CISSA and IDSA, vs the same bulk AES (aes_ratio);
// - CPU cost of adding the element to filesrc ! tsparse ! tsdemux ! fakesink
//   (goal: <= 1.10x), with aes_floor_ratio: what the pipeline would cost if
//   descrambling cost nothing but OpenSSL's bulk AES-CBC of the payload bytes
//   (see BM_PipelineCpuCost for the two baselines);
// - packets lost or left scrambled across 1000 crypto-period changes (goal: 0).
// Counters: *_MBps are MB/s of TS, ratio = measured throughput / baseline throughput
// (for the pipeline: CPU time with / without the element).

#include "../../descrambler/SyntheticStream.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/BlockCipher.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/mpegts/Descrambler.h>
#include <boxoffice/mpegts/StreamDescrambler.h>

#include "TsDescrambler.h"

#include <benchmark/benchmark.h>
#include <dvbcsa/dvbcsa.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

using namespace boxoffice;
using namespace boxoffice::mpegts;

namespace {

// The timed regions count this thread's CPU time, not wall time: on a shared
// 2-core machine a preemption inside one region would otherwise land in one
// side of a ratio only.
struct Clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<Clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return time_point(std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec));
    }
};
constexpr std::size_t packets = 4000;

Bytes keyFor(Algorithm a) { return Bytes(controlWordSize(a), 0x5A); }

// Payload-only packets (the common case for video), all scrambled with the even key.
Bytes scrambledPackets(Algorithm a) {
    Bytes s = testutil::makeStream(testutil::StreamOptions{.packets = packets, .psiEvery = packets + 1});
    Scrambler scrambler(a);
    scrambler.setKey(Scrambling::Even, keyFor(a));
    for (std::size_t at = 0; at < s.size(); at += packetSize)
        scrambler.scramble(s.data() + at, Scrambling::Even);
    return s;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void report(benchmark::State& state, double measured, double baseline, std::size_t bytesPerRun) {
    const double runs = static_cast<double>(state.iterations());
    const double bytes = static_cast<double>(bytesPerRun);
    state.counters["MBps"] = bytes * runs / measured / 1e6;
    state.counters["baseline_MBps"] = bytes * runs / baseline / 1e6;
    state.counters["ratio"] = baseline / measured;
}

// The AES baseline: bulk AES-128-CBC decryption (one call) of as many bytes as
// the packets' scrambled payloads.
class BulkAes {
public:
    BulkAes(Algorithm a, ByteView stream) : cbc_(keyFor(a), crypto::Direction::Decrypt) {
        std::size_t payloadBytes = 0;
        for (std::size_t at = 0; at < stream.size(); at += packetSize) {
            const auto p = PacketView(stream.data() + at).payload().size();
            payloadBytes += a == Algorithm::DvbCissa ? p - p % 16 : p;
        }
        bulk_.assign(payloadBytes - payloadBytes % 16, 0x33);
    }
    Clock::duration run() {
        const auto t0 = Clock::now();
        cbc_.process(iv_, bulk_);
        benchmark::DoNotOptimize(bulk_.data());
        return Clock::now() - t0;
    }

private:
    crypto::AesCbc cbc_;
    Bytes bulk_;
    const Bytes iv_ = Bytes(16, 0);
};

void BM_AesDescrambler(benchmark::State& state, Algorithm a) {
    const Bytes source = scrambledPackets(a);
    Bytes work(source.size());
    Descrambler d(a);
    d.setKey(Scrambling::Even, keyFor(a));
    BulkAes aes(a, source);
    Clock::duration measured{}, baseline{};
    for (auto _ : state) {
        std::memcpy(work.data(), source.data(), source.size());
        auto t0 = Clock::now();
        benchmark::DoNotOptimize(d.descramble(work));
        measured += Clock::now() - t0;
        baseline += aes.run();
    }
    report(state, seconds(measured), seconds(baseline), source.size());
}

void BM_Csa2Descrambler(benchmark::State& state) {
    const Bytes source = scrambledPackets(Algorithm::DvbCsa2);
    Bytes work(source.size()), raw(source.size());
    Descrambler d(Algorithm::DvbCsa2);
    d.setKey(Scrambling::Even, keyFor(Algorithm::DvbCsa2));
    dvbcsa_bs_key_s* key = dvbcsa_bs_key_alloc();
    dvbcsa_cw_t cw;
    std::memcpy(cw, keyFor(Algorithm::DvbCsa2).data(), 8);
    dvbcsa_bs_key_set(cw, key);
    const unsigned batchSize = dvbcsa_bs_batch_size();
    std::vector<dvbcsa_bs_batch_s> batch(batchSize + 1);
    Clock::duration measured{}, baseline{};
    for (auto _ : state) {
        std::memcpy(work.data(), source.data(), source.size());
        std::memcpy(raw.data(), source.data(), source.size());
        auto t0 = Clock::now();
        benchmark::DoNotOptimize(d.descramble(work));
        auto t1 = Clock::now();
        // Baseline: libdvbcsa alone on the same payloads, full batches.
        std::size_t n = 0;
        for (std::size_t at = 0; at < raw.size(); at += packetSize) {
            auto payload = mutablePayload(raw.data() + at);
            batch[n].data = payload.data();
            batch[n].len = static_cast<unsigned>(payload.size());
            if (++n == batchSize) {
                batch[n].data = nullptr;
                dvbcsa_bs_decrypt(key, batch.data(), 184);
                n = 0;
            }
        }
        if (n) {
            batch[n].data = nullptr;
            dvbcsa_bs_decrypt(key, batch.data(), 184);
        }
        auto t2 = Clock::now();
        measured += t1 - t0;
        baseline += t2 - t1;
    }
    dvbcsa_bs_key_free(key);
    report(state, seconds(measured), seconds(baseline), source.size());
}

// The element through GstHarness (buffers of 1000 packets, writable), against the
// bare Descrambler on the same bytes (ratio) and, for the AES algorithms, against
// bulk AES as BM_AesDescrambler (aes_ratio): the figure for the element.
void BM_Element(benchmark::State& state, Algorithm a) {
    const Bytes source = scrambledPackets(a);
    const std::string launch = "tsdescrambler algorithm=" + std::string(toString(a)) + " even-key=" + toHex(keyFor(a));
    GstElement* element = gst_parse_launch(launch.c_str(), nullptr);
    GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
    gst_object_unref(element);
    gst_harness_set_src_caps_str(h, "video/mpegts,systemstream=(boolean)true,packetsize=(int)188");
    Descrambler d(a);
    d.setKey(Scrambling::Even, keyFor(a));
    Bytes work(source.size());
    const std::size_t chunk = 1000 * packetSize;
    std::optional<BulkAes> aes;
    if (a != Algorithm::DvbCsa2) aes.emplace(a, source);
    Clock::duration measured{}, baseline{}, aesBaseline{};
    for (auto _ : state) {
        std::vector<GstBuffer*> buffers;
        for (std::size_t at = 0; at < source.size(); at += chunk)
            buffers.push_back(gst_buffer_new_memdup(source.data() + at, std::min(chunk, source.size() - at)));
        std::memcpy(work.data(), source.data(), source.size());
        auto t0 = Clock::now();
        for (GstBuffer* b : buffers) {
            gst_harness_push(h, b);
            gst_buffer_unref(gst_harness_pull(h));
        }
        auto t1 = Clock::now();
        benchmark::DoNotOptimize(d.descramble(work));
        auto t2 = Clock::now();
        measured += t1 - t0;
        baseline += t2 - t1;
        if (aes) aesBaseline += aes->run();
    }
    gst_harness_teardown(h);
    report(state, seconds(measured), seconds(baseline), source.size());
    if (aes) state.counters["aes_ratio"] = seconds(aesBaseline) / seconds(measured);
}

double processCpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n == 0 ? 0 : n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double runPipeline(const std::string& description) {
    GstElement* p = gst_parse_launch(description.c_str(), nullptr);
    const double before = processCpuSeconds();
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(p);
    gst_message_unref(gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    const double after = processCpuSeconds();
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(p);
    return after - before;
}

// The scrambled file descrambled once by the engine: the same packets as the
// scrambled file (ECMs, CA descriptor) in clear.
void writeDescrambledTwin(const std::filesystem::path& scrambled, const std::filesystem::path& twin, ByteView key) {
    std::ifstream in(scrambled, std::ios::binary);
    Bytes stream((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EventKeyService keys;
    keys.setDefaultKey(key);
    StreamDescrambler engine(StreamDescramblerConfig{});
    engine.setKeyService(&keys);
    std::ofstream out(twin, std::ios::binary);
    const auto write = [&](const std::uint8_t* data, std::size_t size) {
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    };
    const std::size_t whole = stream.size() / packetSize * packetSize;
    const auto r = engine.process(MutableByteView(stream.data(), whole));
    write(stream.data(), r.inPlace);
    write(r.tail.data(), r.tail.size());
    const Bytes rest = engine.drain();
    write(rest.data(), rest.size());
}

// A real service (MPEG-2 video + MP2 audio made by ffmpeg, ~9.6 MB, 60 s), its
// CISSA-scrambled version from the headend, and that descrambled again (the
// "twin"). CPU time of filesrc ! tsdescrambler ! tsparse ! tsdemux ! fakesink on
// the scrambled file against filesrc ! tsparse ! tsdemux ! fakesink on
//  - the twin (ratio): the same packets downstream, ECMs included, so the
//    difference is what adding the element costs;
//  - the headend's clear input (ratio_vs_clear_input): also charges the element
//    with demuxing the headend's ECM packets (+0.7% packets).
void BM_PipelineCpuCost(benchmark::State& state) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto clear = dir / "boxoffice-bench-clear.ts", scrambled = dir / "boxoffice-bench-scrambled.ts",
               twin = dir / "boxoffice-bench-twin.ts";
    const std::string ffmpeg = "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=720x576:rate=25 "
                               "-f lavfi -i sine=frequency=440:sample_rate=48000 -t 60 -c:v mpeg2video -b:v 4M "
                               "-g 12 -c:a mp2 -b:a 192k -f mpegts " + clear.string();
    if (std::system(ffmpeg.c_str()) != 0) {
        state.SkipWithError("ffmpeg cannot generate the test file");
        return;
    }
    const Bytes key(16, 7);
    headend::HeadendConfig c;
    c.eventKey = crypto::SecretBytes(key);
    headend::scrambleFile(clear.string(), scrambled.string(), c);
    writeDescrambledTwin(scrambled, twin, key);
    const std::string demux = " ! tsparse ! tsdemux ! fakesink sync=false";
    const std::string tail = " blocksize=65536" + demux;
    double withoutClear = 0, withoutTwin = 0, with = 0;
    // Ratios per iteration (the three pipelines back to back), reported as medians:
    // a burst of load from elsewhere spoils one iteration, not the figure.
    std::vector<double> ratios, ratiosVsClear;
    for (auto _ : state) {
        const double fromClear = runPipeline("filesrc location=" + clear.string() + tail);
        const double t = runPipeline("filesrc location=" + twin.string() + tail);
        const double w = runPipeline("filesrc location=" + scrambled.string() +
                                     " blocksize=65536 ! tsdescrambler event-key=" + toHex(key) + demux);
        withoutClear += fromClear;
        withoutTwin += t;
        with += w;
        ratios.push_back(w / t);
        ratiosVsClear.push_back(w / fromClear);
    }
    // The floor no descrambler can beat: bulk AES-128-CBC decryption (OpenSSL) of
    // as many bytes as the file's TS payloads, added to the twin pipeline's CPU.
    Bytes bulk(std::filesystem::file_size(scrambled) / packetSize * (packetSize - 4) / 16 * 16, 0x5a);
    crypto::AesCbc cbc(key, crypto::Direction::Decrypt);
    const double aesBefore = processCpuSeconds();
    for (int i = 0; i < 10; ++i) {
        cbc.process(Bytes(16, 0), bulk);
        benchmark::DoNotOptimize(bulk.data());
    }
    const double aesSeconds = (processCpuSeconds() - aesBefore) / 10;
    const auto n = static_cast<double>(state.iterations());
    state.counters["aes_floor_ratio"] = (withoutTwin / n + aesSeconds) / (withoutTwin / n);
    state.counters["file_MB"] = static_cast<double>(std::filesystem::file_size(scrambled)) / 1e6;
    state.counters["cpu_without_s"] = withoutTwin / n;
    state.counters["cpu_with_s"] = with / n;
    state.counters["ratio"] = median(ratios);
    state.counters["ratio_vs_clear_input"] = median(ratiosVsClear);
    for (const auto& f : {clear, scrambled, twin})
        std::filesystem::remove(f);
}

// 1000 crypto-period changes (periods of 60 packets, buffers of 7 packets): packets
// lost or left scrambled.
void BM_CryptoPeriodChanges(benchmark::State& state) {
    const Bytes key(16, 9);
    const Bytes clear = testutil::makeStream(testutil::StreamOptions{.packets = 60'500});
    headend::HeadendConfig c;
    c.eventKey = crypto::SecretBytes(key);
    c.packetsPerCryptoPeriod = 60;
    c.ecmIntervalPackets = 10;
    headend::Headend h(c);
    const Bytes scrambled = h.process(clear);
    double lost = 0, leftScrambled = 0, changes = 0;
    for (auto _ : state) {
        EventKeyService keys;
        keys.setDefaultKey(key);
        StreamDescrambler engine(StreamDescramblerConfig{});
        engine.setKeyService(&keys);
        Bytes work = scrambled, out;
        for (std::size_t at = 0; at < work.size(); at += 7 * packetSize) {
            const std::size_t n = std::min<std::size_t>(7 * packetSize, work.size() - at);
            auto r = engine.process(MutableByteView(work.data() + at, n));
            out.insert(out.end(), work.begin() + static_cast<std::ptrdiff_t>(at),
                       work.begin() + static_cast<std::ptrdiff_t>(at + r.inPlace));
            out.insert(out.end(), r.tail.begin(), r.tail.end());
        }
        const Bytes rest = engine.drain();
        out.insert(out.end(), rest.begin(), rest.end());
        const auto want = testutil::packetsOf(clear, {0x100, 0x101});
        const auto got = testutil::packetsOf(out, {0x100, 0x101});
        std::size_t same = 0;
        for (std::size_t i = 0; i < std::min(want.size(), got.size()); ++i)
            same += want[i] == got[i];
        lost = static_cast<double>(want.size() - same);
        leftScrambled = static_cast<double>(engine.statistics().withoutKey);
        changes = static_cast<double>(h.statistics().cryptoPeriods - 1);
    }
    state.counters["period_changes"] = changes;
    state.counters["packets_lost_or_wrong"] = lost;
    state.counters["packets_left_scrambled"] = leftScrambled;
}

} // namespace

BENCHMARK_CAPTURE(BM_AesDescrambler, dvb_cissa, Algorithm::DvbCissa);
BENCHMARK_CAPTURE(BM_AesDescrambler, atis_idsa, Algorithm::AtisIdsa);
BENCHMARK(BM_Csa2Descrambler);
BENCHMARK_CAPTURE(BM_Element, dvb_cissa, Algorithm::DvbCissa);
BENCHMARK_CAPTURE(BM_Element, dvb_csa2, Algorithm::DvbCsa2);
BENCHMARK_CAPTURE(BM_Element, atis_idsa, Algorithm::AtisIdsa);
BENCHMARK(BM_PipelineCpuCost)->Iterations(21)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CryptoPeriodChanges)->Iterations(1)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    gst_init(&argc, &argv);
    GST_ELEMENT_REGISTER(tsdescrambler, nullptr);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
