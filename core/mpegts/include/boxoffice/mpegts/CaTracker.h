#pragma once
// Follows PAT -> PMT (libdvbpsi) to the ECM PID of the CA_descriptor (0x09)
// carrying our CA_system_id, and reassembles the ECM sections on that PID.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Algorithm.h>

#include <bitset>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

struct dvbpsi_s;

namespace boxoffice::mpegts {

struct CaInfo {
    std::uint16_t programNumber = 0;
    std::uint16_t pmtPid = 0;
    std::uint8_t pmtVersion = 0;
    std::uint16_t ecmPid = 0;
    // The elementary streams our CA descriptor covers: those the ECMs' keys are for.
    std::vector<std::uint16_t> esPids;
    // From the scrambling_descriptor (0x65); nullopt when absent or unknown.
    std::optional<Algorithm> algorithm;
};

class CaTracker {
public:
    class Listener {
    public:
        virtual ~Listener() = default;
        // A new or changed PMT of the followed program (nullopt: it lost our CA descriptor).
        virtual void onCaInfo(const std::optional<CaInfo>& info) = 0;
        // A complete, CRC-checked section from the ECM PID.
        virtual void onEcmSection(ByteView section) = 0;
        // libdvbpsi reported an error (bad CRC, discontinuity, bad length...).
        virtual void onPsiError(std::string_view message) = 0;
        // Whether `section` is the ECM the listener has applied and still holds: an
        // unchanged repeat of its packet is then not offered again.
        virtual bool holdsEcm(ByteView section) const = 0;
    };

    // programNumber 0 follows the first program whose PMT has our CA descriptor.
    CaTracker(std::uint16_t caSystemId, std::uint16_t programNumber, Listener& listener);
    ~CaTracker();
    CaTracker(const CaTracker&) = delete;
    CaTracker& operator=(const CaTracker&) = delete;

    // Whether packets of `pid` must be pushed (PAT, PMTs, the ECM PID). Asked for
    // every packet of the stream, so a table lookup rather than a map search.
    bool wants(std::uint16_t pid) const noexcept { return wanted_[pid & 0x1FFF]; }
    // One 188-byte packet of a wanted PID, in stream order.
    void push(const std::uint8_t* packet);
    // Forgets everything (after a flush or a discontinuity of the whole stream).
    void reset();

    const std::optional<CaInfo>& current() const noexcept { return current_; }
    // Table and ECM packets repeated unchanged that did not need libdvbpsi (see CaTracker.cpp).
    std::uint64_t repeatsSkipped() const noexcept { return repeatsSkipped_; }

    // Internal: libdvbpsi callbacks.
    struct Callbacks;

private:
    struct Handle;
    void attachPat();
    void setEcmPid(std::optional<std::uint16_t> pid);
    void updateWanted();

    std::uint16_t caSystemId_;
    std::uint16_t programNumber_;
    Listener& listener_;
    std::unique_ptr<Handle> pat_;
    std::map<std::uint16_t, std::unique_ptr<Handle>> pmts_;  // by PMT PID
    std::unique_ptr<Handle> ecm_;
    std::optional<std::uint16_t> ecmPid_;
    std::optional<CaInfo> current_;
    std::bitset<8192> wanted_;  // by PID: PAT, the PMT PIDs and the ECM PID
    std::uint64_t repeatsSkipped_ = 0;
};

} // namespace boxoffice::mpegts
