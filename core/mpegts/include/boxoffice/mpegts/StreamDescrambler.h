#pragma once
// The descrambling engine behind the tsdescrambler element, free of GStreamer:
// whole packets in, the same packets out (descrambled in place where possible).
//
// Fixed-key mode: even/odd control words given by the caller.
// ECM mode (a KeyService is set): follows PAT/PMT to the ECM PID of our CA
// system, hands new ECM sections to the key service, installs both control
// words it returns, and HOLDS packets whose key is missing or stale (a parity
// flip to a key older than the one in use) until the key arrives — bounded by
// maxHeldPackets, beyond which they are released still scrambled.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Algorithm.h>
#include <boxoffice/mpegts/CaTracker.h>
#include <boxoffice/mpegts/Descrambler.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/Guide.h>
#include <boxoffice/mpegts/KeyService.h>

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::mpegts {

struct DescramblerStatistics {
    std::uint64_t descrambled = 0;  // packets whose scrambling bits were reset to 00
    std::uint64_t clear = 0;        // packets that came in clear
    std::uint64_t held = 0;         // packets that had to wait for a key (cumulative)
    std::uint64_t withoutKey = 0;   // packets passed on still scrambled
    std::uint64_t errors = 0;       // invalid packets, PSI errors, rejected ECMs, sync losses
};

struct StreamDescramblerConfig {
    Algorithm algorithm = Algorithm::DvbCissa;  // ECM mode: until the PMT or an ECM says otherwise
    std::size_t maxHeldPackets = 20000;         // ~3.7 MB, ~1.5 s of a 20 Mbit/s service
    std::uint16_t caSystemId = boxofficeCaSystemId;
    std::uint16_t programNumber = 0;            // 0: the first program with our CA system
    bool reduceCsa2Entropy = false;             // fixed-key mode: apply CSA2 entropy reduction
};

// Something worth telling the application (posted on the GStreamer bus).
struct DescramblerNotice {
    enum class Kind { KeyLate, KeyArrived, HoldOverflow, CaChanged, EcmRejected, PsiError };
    Kind kind;
    std::string text;
};

class StreamDescrambler final : private CaTracker::Listener {
public:
    explicit StreamDescrambler(const StreamDescramblerConfig& config);
    ~StreamDescrambler() override;

    // Fixed-key mode. An empty view clears that parity. Error(InvalidArgument) on bad sizes.
    void setFixedKey(Scrambling parity, ByteView controlWord);
    // ECM mode when not null. Not owned: must outlive this object or be reset first.
    void setKeyService(KeyService* service);
    // Hands the guide's packets (CAT, EIT, TDT/TOT) to `guide` as they pass, in the
    // same pass over the stream as descrambling. Not owned; nullptr stops it.
    void setGuideCollector(GuideCollector* guide) noexcept { guide_ = guide; }

    struct Output {
        std::size_t inPlace = 0;  // the first inPlace bytes of the input, processed in place...
        Bytes tail;               // ...followed by these bytes
    };
    // `packets`: whole 188-byte packets. Packets without a sync byte are passed on
    // untouched (counted as errors). If it throws, the engine keeps nothing that
    // points into `packets` and drops its held packets (as reset() does).
    Output process(MutableByteView packets);
    // End of stream: releases held packets as they are (counted without key).
    Bytes drain();
    // Flush / discontinuity: drops held packets and key state, re-reads PSI.
    void reset();

    const DescramblerStatistics& statistics() const noexcept { return stats_; }
    std::size_t heldPackets() const noexcept { return held_.size() / packetSize; }
    std::vector<DescramblerNotice> takeNotices();
    std::optional<CaInfo> caInfo() const;

private:
    void onCaInfo(const std::optional<CaInfo>& info) override;
    void onEcmSection(ByteView section) override;
    void onPsiError(std::string_view message) override;
    bool holdsEcm(ByteView section) const override;

    void handle(std::uint8_t* packet);
    void emit(std::uint8_t* packet);
    void count(Descrambler::Outcome outcome);
    bool needsKey(std::uint16_t pid, Scrambling parity) const;
    void settleHeld();
    void tryRelease();
    void releaseAll();
    void enterTailMode();
    void clearKeys();
    void forgetCa();
    // ECM mode: a PID our CA descriptor does not cover (see foreign_).
    bool foreign(std::uint16_t pid) const noexcept { return keyService_ && foreign_[pid & 0x1FFF]; }
    void useAlgorithm(Algorithm algorithm);
    void notice(DescramblerNotice::Kind kind, std::string text);

    StreamDescramblerConfig config_;
    std::unique_ptr<Descrambler> descrambler_;
    KeyService* keyService_ = nullptr;
    std::unique_ptr<CaTracker> tracker_;
    GuideCollector* guide_ = nullptr;

    std::array<std::int64_t, 2> keyPeriod_{-1, -1};  // crypto-period of the even/odd key
    struct PidKey {
        Scrambling parity = Scrambling::Clear;  // Clear: nothing descrambled on this PID yet
        std::int64_t period = -1;               // crypto-period of the key it was descrambled with
    };
    // Per PID (all 8192): the key last used. Read and written for every packet, so
    // an array rather than a map.
    std::vector<PidKey> pidKeys_;
    Bytes lastEcm_;
    Bytes rejectedEcm_;  // the last ECM refused for what it is (format, service): its repeats are too
    std::optional<CaInfo> lastCa_;
    // ECM mode, once the PMT is known: the PIDs our CA descriptor does not cover. Their
    // scrambled packets (another program, another CA system) pass on untouched.
    std::bitset<8192> foreign_;
    bool holding_ = false;
    bool lateReported_ = false;
    Bytes held_;
    std::vector<std::uint8_t> settled_;  // per held packet: already descrambled
    Bytes drained_;                      // released outside process() (drain)

    // State of the current process() call.
    std::uint8_t* input_ = nullptr;
    std::size_t inputSize_ = 0;
    std::size_t position_ = 0;  // offset of the packet being handled
    bool tailMode_ = false;
    Output out_;

    DescramblerStatistics stats_;
    std::vector<DescramblerNotice> notices_;
};

} // namespace boxoffice::mpegts
