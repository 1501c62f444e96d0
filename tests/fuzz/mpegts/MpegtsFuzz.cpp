// Fuzz target for the TS / PSI / ECM path: arbitrary bytes as a transport stream
// through the ECM-mode engine (PAT/PMT via libdvbpsi, ECM reassembly, ECM
// parsing and opening, holding, descrambling), in arbitrary buffer sizes, and
// as a raw ECM section. Must never crash, hang or lose bytes.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/Guide.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/StreamDescrambler.h>

#include <cstdint>
#include <cstdlib>
#include <exception>

using namespace boxoffice;
using namespace boxoffice::mpegts;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    const Bytes key(16, 0x42);
    // As an ECM section.
    try {
        peekEcm(ByteView(data, size));
        openEcm(ByteView(data, size), key);
    } catch (const std::exception&) {
    }

    // As guide data (CAT, EIT, TDT/TOT).
    {
        GuideCollector guide;
        Bytes packets(data, data + size - size % packetSize);
        guide.pushAll(packets);
    }

    // As a stream: first byte picks the buffer size (in packets) and the algorithm.
    const std::size_t chunk = 1 + data[0] % 16;
    const auto algorithm = static_cast<Algorithm>(data[1] % 3);
    Bytes stream(data + 2, data + size);
    stream.resize(stream.size() - stream.size() % packetSize);
    EventKeyService keys;
    keys.setDefaultKey(key);
    StreamDescramblerConfig config;
    config.algorithm = algorithm;
    config.maxHeldPackets = 1 + data[0] % 64;
    StreamDescrambler engine(config);
    engine.setKeyService(&keys);
    std::size_t out = 0;
    for (std::size_t at = 0; at < stream.size(); at += chunk * packetSize) {
        const std::size_t n = std::min(chunk * packetSize, stream.size() - at);
        const auto r = engine.process(MutableByteView(stream.data() + at, n));
        out += r.inPlace + r.tail.size();
    }
    out += engine.drain().size();
    if (out != stream.size())
        std::abort();  // bytes were lost or invented
    engine.takeNotices();
    return 0;
}
