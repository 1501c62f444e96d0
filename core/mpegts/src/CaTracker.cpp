#include <boxoffice/mpegts/CaTracker.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/mpegts/Packet.h>

#include "Dvbpsi.h"

#include <array>
#include <cstring>
#include <set>
#include <string>

namespace boxoffice::mpegts {

// libdvbpsi releases after 1.3.3 keep the previous packet in the decoder to tell
// duplicates apart (see Handle::consumeRepeat).
template <typename Decoder>
constexpr bool keepsPreviousPacket = requires(Decoder& d) { d.prevpacket; };

// Owns one dvbpsi handle with one decoder attached ("one handle per decoder").
struct CaTracker::Handle {
    enum class Kind { Pat, Pmt, Ecm };
    Handle(CaTracker& t, Kind k, std::uint16_t program);
    ~Handle() {
        switch (kind) {
        case Kind::Pat: if (dvbpsi_decoder_present(dvbpsi)) dvbpsi_pat_detach(dvbpsi); break;
        case Kind::Pmt: if (dvbpsi_decoder_present(dvbpsi)) dvbpsi_pmt_detach(dvbpsi); break;
        case Kind::Ecm:
            if (dvbpsi->p_decoder) {
                dvbpsi_decoder_delete(dvbpsi->p_decoder);
                dvbpsi->p_decoder = nullptr;
            }
            break;
        }
        dvbpsi_delete(dvbpsi);
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    // A table's packet repeated unchanged (the next continuity counter, the same
    // bytes otherwise) after the previous one completed its sections: libdvbpsi would
    // reassemble, CRC-check and drop it as a known version, at ≈3,000 instructions a
    // packet. It is consumed here instead: the decoder's counter advanced as if pushed.
    // Only after a push libdvbpsi took without complaint (a broken table is reported at
    // each repeat, as before). On the ECM PID only while the listener holds that packet's
    // one ECM section as applied: a repeat of an ECM no key opened yet, or one the
    // listener has forgotten since, is offered again.
    bool consumeRepeat(const std::uint8_t* packet) {
        // A skip would leave that previous packet stale: such a build pushes every packet.
        if constexpr (keepsPreviousPacket<dvbpsi_decoder_t>)
            return false;
        dvbpsi_decoder_t* decoder = dvbpsi->p_decoder;
        if (!haveLast || !decoder || decoder->p_current_section || decoder->b_discontinuity)
            return false;
        const std::uint8_t counter = packet[3] & 0x0F;
        // A duplicate (same counter) or a gap goes to libdvbpsi, which reports it.
        if (counter != ((decoder->i_continuity_counter + 1) & 0x0F))
            return false;
        if (std::memcmp(packet, last.data(), 3) != 0 || (packet[3] & 0xF0) != (last[3] & 0xF0) ||
            std::memcmp(packet + 4, last.data() + 4, packetSize - 4) != 0)
            return false;
        if (kind == Kind::Ecm && !tracker.listener_.holdsEcm(lastEcm))
            return false;
        decoder->i_continuity_counter = counter;
        ++tracker.repeatsSkipped_;
        return true;
    }

    void pushTable(std::uint8_t* packet) {
        if (consumeRepeat(packet))
            return;
        complained = false;
        ecmSections = 0;
        dvbpsi_packet_push(dvbpsi, packet);
        if (kind == Kind::Ecm) {
            // Table decoders clear the discontinuity flag in their gather callback; the
            // private ECM decoder has no table state to rebuild, so it is cleared here.
            dvbpsi->p_decoder->b_discontinuity = false;
            // A repeat can stand for one whole section only (see consumeRepeat).
            haveLast = !complained && ecmSections == 1 && !dvbpsi->p_decoder->p_current_section;
        } else {
            haveLast = !complained;
        }
        if (haveLast)
            std::memcpy(last.data(), packet, packetSize);
    }

    void reportError(const std::string& message) {
        complained = true;
        tracker.listener_.onPsiError(message);
    }

    CaTracker& tracker;
    Kind kind;
    std::uint16_t programNumber;
    dvbpsi_t* dvbpsi = nullptr;
    std::array<std::uint8_t, packetSize> last{};  // the last packet a table decoder took without error
    bool haveLast = false;
    bool complained = false;  // an error was reported during the current push
    int ecmSections = 0;      // ECM sections completed during the current push
    Bytes lastEcm;            // the last one completed
};

struct CaTracker::Callbacks {
    static void message(dvbpsi_t* d, const dvbpsi_msg_level_t level, const char* msg) {
        if (level > DVBPSI_MSG_WARN || !d->p_sys)
            return;
        static_cast<Handle*>(d->p_sys)->reportError(msg ? msg : "libdvbpsi error");
    }

    static void pat(void* data, dvbpsi_pat_t* table) {
        fromDvbpsi([&] { onPat(data, table); }, [&](const char* what) {
            static_cast<Handle*>(data)->reportError(std::string("PAT: ") + what);
        });
    }

    static void onPat(void* data, dvbpsi_pat_t* table) {
        auto& t = static_cast<Handle*>(data)->tracker;
        std::unique_ptr<dvbpsi_pat_t, decltype(&dvbpsi_pat_delete)> owned(table, &dvbpsi_pat_delete);
        if (!table->b_current_next)
            return;
        std::set<std::uint16_t> seen;
        for (auto* p = table->p_first_program; p; p = p->p_next) {
            if (p->i_number == 0)
                continue;  // network PID
            if (t.programNumber_ != 0 && p->i_number != t.programNumber_)
                continue;
            seen.insert(p->i_pid);
            auto it = t.pmts_.find(p->i_pid);
            if (it != t.pmts_.end() && it->second->programNumber == p->i_number)
                continue;
            auto h = std::make_unique<Handle>(t, Handle::Kind::Pmt, p->i_number);
            if (!dvbpsi_pmt_attach(h->dvbpsi, p->i_number, &Callbacks::pmt, h.get()))
                throw Error(ErrorCode::Internal, "libdvbpsi: cannot attach a PMT decoder");
            t.pmts_[p->i_pid] = std::move(h);
        }
        for (auto it = t.pmts_.begin(); it != t.pmts_.end();) {
            if (seen.count(it->first)) {
                ++it;
                continue;
            }
            if (t.current_ && t.current_->pmtPid == it->first) {
                t.current_.reset();
                t.setEcmPid(std::nullopt);
                t.listener_.onCaInfo(std::nullopt);
            }
            it = t.pmts_.erase(it);
        }
        t.updateWanted();
    }

    static std::optional<std::uint16_t> ecmPidIn(dvbpsi_descriptor_t* d, std::uint16_t caSystemId) {
        for (; d; d = d->p_next) {
            if (d->i_tag != 0x09)
                continue;
            // dvbpsi owns the decoded struct (cached in p_decoded).
            if (auto* ca = dvbpsi_DecodeCADr(d); ca && ca->i_ca_system_id == caSystemId)
                return ca->i_ca_pid;
        }
        return std::nullopt;
    }

    static void pmt(void* data, dvbpsi_pmt_t* table) {
        fromDvbpsi([&] { onPmt(data, table); }, [&](const char* what) {
            static_cast<Handle*>(data)->reportError(std::string("PMT: ") + what);
        });
    }

    static void onPmt(void* data, dvbpsi_pmt_t* table) {
        auto* handle = static_cast<Handle*>(data);
        auto& t = handle->tracker;
        std::unique_ptr<dvbpsi_pmt_t, decltype(&dvbpsi_pmt_delete)> owned(table, &dvbpsi_pmt_delete);
        if (!table->b_current_next)
            return;
        std::uint16_t pmtPid = 0;
        for (auto& [pid, h] : t.pmts_)
            if (h.get() == handle)
                pmtPid = pid;
        // The followed program: a fixed one, or the first that carries our CA system.
        if (t.current_ && t.current_->pmtPid != pmtPid)
            return;
        std::optional<std::uint16_t> ecmPid = ecmPidIn(table->p_first_descriptor, t.caSystemId_);
        // A CA descriptor in the program loop covers every elementary stream; one in an
        // ES loop covers that stream (ISO/IEC 13818-1 2.6.16).
        const bool wholeProgram = ecmPid.has_value();
        for (auto* es = table->p_first_es; es && !ecmPid; es = es->p_next)
            ecmPid = ecmPidIn(es->p_first_descriptor, t.caSystemId_);
        if (!ecmPid) {
            if (t.current_) {
                t.current_.reset();
                t.setEcmPid(std::nullopt);
                t.listener_.onCaInfo(std::nullopt);
            }
            return;
        }
        CaInfo info;
        info.programNumber = table->i_program_number;
        info.pmtPid = pmtPid;
        info.pmtVersion = table->i_version;
        info.ecmPid = *ecmPid;
        // A stream's own descriptor takes precedence: one naming another ECM PID of our CA
        // system is keyed by other ECMs, not by the program's.
        for (auto* es = table->p_first_es; es; es = es->p_next) {
            const auto own = ecmPidIn(es->p_first_descriptor, t.caSystemId_);
            if (own ? own == ecmPid : wholeProgram)
                info.esPids.push_back(es->i_pid);
        }
        for (auto* d = table->p_first_descriptor; d; d = d->p_next)
            if (d->i_tag == 0x65 && d->i_length >= 1)
                for (auto a : {Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa})
                    if (scramblingMode(a) == d->p_data[0])
                        info.algorithm = a;
        t.current_ = info;
        t.setEcmPid(info.ecmPid);
        t.listener_.onCaInfo(info);
    }

    static void ecmSection(dvbpsi_t* d, dvbpsi_psi_section_t* section) {
        std::unique_ptr<dvbpsi_psi_section_t, decltype(&dvbpsi_DeletePSISections)> owned(section,
                                                                                         &dvbpsi_DeletePSISections);
        auto& handle = *static_cast<Handle*>(d->p_sys);
        fromDvbpsi(
            [&] {
                const ByteView bytes(section->p_data, 3u + section->i_length);
                ++handle.ecmSections;
                handle.lastEcm.assign(bytes.begin(), bytes.end());
                handle.tracker.listener_.onEcmSection(bytes);
            },
            [&](const char* what) { handle.reportError(std::string("ECM: ") + what); });
    }
};

CaTracker::Handle::Handle(CaTracker& t, Kind k, std::uint16_t program)
    : tracker(t), kind(k), programNumber(program) {
    dvbpsi = dvbpsi_new(&CaTracker::Callbacks::message, DVBPSI_MSG_WARN);
    if (!dvbpsi)
        throw Error(ErrorCode::Internal, "libdvbpsi: out of memory");
    dvbpsi->p_sys = this;
}

CaTracker::CaTracker(std::uint16_t caSystemId, std::uint16_t programNumber, Listener& listener)
    : caSystemId_(caSystemId), programNumber_(programNumber), listener_(listener) {
    attachPat();
    updateWanted();
}

CaTracker::~CaTracker() = default;

void CaTracker::attachPat() {
    pat_ = std::make_unique<Handle>(*this, Handle::Kind::Pat, 0);
    if (!dvbpsi_pat_attach(pat_->dvbpsi, &Callbacks::pat, pat_.get()))
        throw Error(ErrorCode::Internal, "libdvbpsi: cannot attach the PAT decoder");
}

void CaTracker::setEcmPid(std::optional<std::uint16_t> pid) {
    if (pid == ecmPid_)
        return;
    ecm_.reset();
    ecmPid_ = pid;
    updateWanted();
    if (!pid)
        return;
    ecm_ = std::make_unique<Handle>(*this, Handle::Kind::Ecm, 0);
    // A private decoder: libdvbpsi reassembles the sections and checks their CRC.
    auto* decoder = static_cast<dvbpsi_decoder_t*>(
        dvbpsi_decoder_new(&Callbacks::ecmSection, 4096, true, sizeof(dvbpsi_decoder_t)));
    if (!decoder)
        throw Error(ErrorCode::Internal, "libdvbpsi: cannot create the ECM decoder");
    ecm_->dvbpsi->p_decoder = decoder;
}

void CaTracker::updateWanted() {
    wanted_.reset();
    wanted_.set(patPid);
    for (const auto& entry : pmts_)
        wanted_.set(entry.first & 0x1FFF);
    if (ecmPid_)
        wanted_.set(*ecmPid_ & 0x1FFF);
}

void CaTracker::push(const std::uint8_t* packet) {
    const std::uint16_t pid = PacketView(packet).pid();
    // dvbpsi_packet_push takes a non-const pointer but does not write.
    auto* data = const_cast<std::uint8_t*>(packet);
    if (pid == patPid) {
        pat_->pushTable(data);
        return;
    }
    if (ecmPid_ && *ecmPid_ == pid && ecm_) {
        ecm_->pushTable(data);
        return;
    }
    if (auto it = pmts_.find(pid); it != pmts_.end())
        it->second->pushTable(data);
}

void CaTracker::reset() {
    ecm_.reset();
    ecmPid_.reset();
    pmts_.clear();
    current_.reset();
    attachPat();
    updateWanted();
}

} // namespace boxoffice::mpegts
