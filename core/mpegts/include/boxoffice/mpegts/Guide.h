#pragma once
// Service information for the guide and the trusted clock, on libdvbpsi: the
// EIT (present/following and schedule, actual and other TS) with the PPV events
// (free_CA_mode set = scrambled), the TDT/TOT (broadcast UTC time) and the CAT
// (EMM PIDs per CA system).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Packet.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::mpegts {

struct GuideEvent {
    std::uint16_t serviceId = 0;
    std::uint16_t eventId = 0;
    std::uint8_t tableId = 0;        // 0x4E/0x4F present/following, 0x50-0x6F schedule
    std::int64_t start = 0;          // Unix seconds, UTC
    std::uint32_t duration = 0;      // seconds
    std::uint8_t runningStatus = 0;  // 4 = running
    bool scrambled = false;          // free_CA_mode: a PPV candidate
    std::string name;                // short_event_descriptor, character-table byte(s) stripped
    std::string text;
};

class GuideCollector {
public:
    struct Callbacks {
        std::function<void(const GuideEvent&)> onEvent = {};  // new or changed event
        std::function<void(std::int64_t utc)> onTime = {};    // each TDT/TOT
        std::function<void(std::uint16_t caSystemId, std::uint16_t emmPid)> onEmmPid = {};
    };

    GuideCollector();
    explicit GuideCollector(Callbacks callbacks);
    ~GuideCollector();
    GuideCollector(const GuideCollector&) = delete;
    GuideCollector& operator=(const GuideCollector&) = delete;

    // Whether packets of `pid` must be pushed (CAT 0x01, EIT 0x12, TDT/TOT 0x14).
    static bool wants(std::uint16_t pid) noexcept { return pid == catPid || pid == eitPid || pid == tdtPid; }
    // One 188-byte packet of a wanted PID, in stream order.
    void push(const std::uint8_t* packet);
    // A whole buffer of packets: picks the wanted ones.
    void pushAll(ByteView packets);

    // Events by (service_id, event_id).
    const std::map<std::pair<std::uint16_t, std::uint16_t>, GuideEvent>& events() const noexcept { return events_; }
    std::optional<std::int64_t> utcTime() const noexcept { return utc_; }
    // (CA_system_id, EMM PID) pairs from the CAT.
    const std::set<std::pair<std::uint16_t, std::uint16_t>>& emmPids() const noexcept { return emmPids_; }
    std::uint64_t errors() const noexcept { return errors_; }

    struct Decoders;

private:
    Callbacks callbacks_;
    std::unique_ptr<Decoders> decoders_;
    std::map<std::pair<std::uint16_t, std::uint16_t>, GuideEvent> events_;
    std::optional<std::int64_t> utc_;
    std::set<std::pair<std::uint16_t, std::uint16_t>> emmPids_;
    std::uint64_t errors_ = 0;
};

} // namespace boxoffice::mpegts
