#pragma once
// The headend: turns a clear MPEG-TS into what a BoxOffice broadcaster sends.
// - scrambles the elementary streams of one program with control words that
//   rotate every crypto-period (default 10 s of PCR time), each PID flipping
//   parity at its first PES start after the boundary;
// - inserts ECMs (core/mpegts/ECM.md) on an ECM PID, sealed under the event key;
// - rewrites the PMT with a CA_descriptor (our CA_system_id -> ECM PID) and,
//   for AES algorithms, a scrambling_descriptor;
// - optionally signals PPV events in the EIT present/following (free_CA_mode 1).
// Input packets of the PMT PID (and of the EIT PID when events are signalled)
// are replaced by ours; every other packet keeps its bytes, order and position
// relative to its PID.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/mpegts/Algorithm.h>
#include <boxoffice/mpegts/Ecm.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace boxoffice::headend {

struct PpvEvent {
    std::uint16_t eventId = 0;
    std::int64_t start = 0;          // Unix seconds, UTC
    std::uint32_t duration = 0;      // seconds
    std::string name;
};

struct HeadendConfig {
    mpegts::Algorithm algorithm = mpegts::Algorithm::DvbCissa;
    double cryptoPeriodSeconds = 10.0;      // by PCR time...
    std::uint64_t packetsPerCryptoPeriod = 0;  // ...or, when > 0, by packet count
    double ecmIntervalSeconds = 0.1;
    std::uint64_t ecmIntervalPackets = 100;    // when counting packets
    std::uint16_t programNumber = 0;           // 0: the first program of the PAT
    std::uint16_t ecmPid = 0x1FF0;
    std::uint16_t caSystemId = mpegts::boxofficeCaSystemId;
    std::uint16_t eventId = 1;                 // the PPV event whose key seals the ECMs
    crypto::SecretBytes eventKey;              // 16 or 32 bytes
    std::uint16_t originalNetworkId = 1;
    std::vector<PpvEvent> events;              // EIT p/f (at most two: present, following)
    double eitIntervalSeconds = 2.0;
};

struct HeadendStatistics {
    std::uint64_t packetsIn = 0;
    std::uint64_t packetsOut = 0;
    std::uint64_t scrambled = 0;
    std::uint64_t ecmPackets = 0;
    std::uint64_t cryptoPeriods = 0;   // crypto-periods started
};

class Headend {
public:
    // Error(InvalidArgument) for an unusable configuration (key size, PIDs).
    explicit Headend(HeadendConfig config);
    ~Headend();
    Headend(const Headend&) = delete;
    Headend& operator=(const Headend&) = delete;

    // Whole 188-byte packets in; the packets to send out. Packets without sync
    // byte are passed on unchanged.
    Bytes process(ByteView packets);

    const HeadendStatistics& statistics() const noexcept;
    // Control word of a crypto-period that has been used (for tests and audits).
    Bytes controlWord(std::uint32_t cryptoPeriod) const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Scrambles a whole file (the command-line tool's job).
HeadendStatistics scrambleFile(const std::string& input, const std::string& output, const HeadendConfig& config);

} // namespace boxoffice::headend
