#include <boxoffice/headend/Headend.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/mpegts/Descrambler.h>
#include <boxoffice/mpegts/DvbTime.h>
#include <boxoffice/mpegts/DvbpsiCallback.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/PayloadCipher.h>
#include <boxoffice/mpegts/Section.h>

#include <stdbool.h>
#include <stdint.h>
extern "C" {
#include <dvbpsi/dvbpsi.h>
#include <dvbpsi/psi.h>
#include <dvbpsi/descriptor.h>
#include <dvbpsi/pat.h>
#include <dvbpsi/pmt.h>
#include <dvbpsi/eit.h>
#include <dvbpsi/dr_4d.h>
}

#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace boxoffice::headend {

using namespace boxoffice::mpegts;

namespace {

constexpr std::uint64_t pcrHz = 27'000'000;
constexpr std::uint64_t maxPcrStep = pcrHz;  // see advanceClock
constexpr std::uint64_t pcrModulus = (std::uint64_t{1} << 33) * 300;
constexpr std::uint16_t eitPidValue = 0x0012;

Scrambling parityOf(std::uint32_t period) { return (period & 1) ? Scrambling::Odd : Scrambling::Even; }

struct DvbpsiHandle {
    DvbpsiHandle() : h(dvbpsi_new(nullptr, DVBPSI_MSG_NONE)) {
        if (!h)
            throw Error(ErrorCode::Internal, "libdvbpsi: out of memory");
    }
    ~DvbpsiHandle() { dvbpsi_delete(h); }
    DvbpsiHandle(const DvbpsiHandle&) = delete;
    DvbpsiHandle& operator=(const DvbpsiHandle&) = delete;
    dvbpsi_t* h;
};

} // namespace

struct Headend::State {
    HeadendConfig config;
    HeadendStatistics stats;
    Scrambler scrambler;

    DvbpsiHandle pat;
    std::unique_ptr<DvbpsiHandle> pmt;
    std::optional<std::uint16_t> pmtPid;
    std::uint16_t programNumber = 0;
    std::uint16_t tsId = 0;
    std::uint16_t pcrPid = nullPid;
    std::set<std::uint16_t> esPids;
    std::vector<Bytes> pmtSections;
    bool pmtReady = false;
    bool emitPmtNow = false;
    std::string tableError;  // what a PAT/PMT handler threw (it runs under libdvbpsi)
    std::uint8_t pmtCc = 0, ecmCc = 0, eitCc = 0;

    // Clock: PCR ticks elapsed since the first PCR (see advanceClock), or packets since the start.
    std::optional<std::uint64_t> lastPcr;
    std::uint64_t clock = 0;
    std::uint64_t periodLength = 0, ecmEvery = 0, eitEvery = 0, ecmDelay = 0;

    std::uint32_t currentPeriod = 0;
    std::map<std::uint32_t, crypto::SecretBytes> controlWords;
    std::array<std::optional<std::uint32_t>, 2> installed;  // period of the even/odd scrambler key
    struct PidState {
        std::uint32_t period = 0;    // the crypto-period whose word scrambles it
        std::uint64_t lastSeen = 0;  // clock at its last packet
    };
    std::map<std::uint16_t, PidState> pidPeriod;  // the PMT's elementary streams seen so far
    std::optional<std::uint32_t> ecmPeriod;
    Bytes ecmSection;
    std::optional<std::uint64_t> lastEcm, lastEit;
    std::vector<Bytes> eitSections;

    explicit State(HeadendConfig c) : config(std::move(c)), scrambler(config.algorithm) {}

    const crypto::SecretBytes& controlWord(std::uint32_t period) {
        auto it = controlWords.find(period);
        if (it == controlWords.end()) {
            crypto::SecretBytes cw(controlWordSize(config.algorithm));
            crypto::randomFill(cw.mutableView());
            // 48-bit CSA2 words are what many receivers expect; reduction is idempotent.
            if (config.algorithm == Algorithm::DvbCsa2)
                reduceCsa2Entropy(cw.mutableView());
            it = controlWords.emplace(period, std::move(cw)).first;
            // Keep the last few only: a headend never needs old words.
            while (controlWords.size() > 4)
                controlWords.erase(controlWords.begin());
        }
        return it->second;
    }

    // Feeds a PAT/PMT packet to libdvbpsi; what its handler threw is thrown here.
    void pushTable(dvbpsi_t* decoder, std::uint8_t* packet) {
        dvbpsi_packet_push(decoder, packet);
        if (!tableError.empty())
            throw Error(ErrorCode::Internal, "headend: " + std::exchange(tableError, {}));
    }

    void installKey(std::uint32_t period) {
        const std::size_t slot = period & 1;
        if (installed[slot] == period)
            return;
        scrambler.setKey(parityOf(period), controlWord(period));
        installed[slot] = period;
    }

    static void onPat(void* data, dvbpsi_pat_t* table) {
        fromDvbpsi([&] { patChanged(data, table); },
                   [&](const char* what) { static_cast<State*>(data)->tableError = std::string("PAT: ") + what; });
    }

    static void patChanged(void* data, dvbpsi_pat_t* table) {
        auto& s = *static_cast<State*>(data);
        std::unique_ptr<dvbpsi_pat_t, decltype(&dvbpsi_pat_delete)> owned(table, &dvbpsi_pat_delete);
        s.tsId = table->i_ts_id;
        for (auto* p = table->p_first_program; p; p = p->p_next) {
            if (p->i_number == 0 || (s.config.programNumber != 0 && p->i_number != s.config.programNumber))
                continue;
            if (s.pmtPid == p->i_pid && s.programNumber == p->i_number)
                return;
            s.pmtPid = p->i_pid;
            const bool renumbered = s.programNumber != p->i_number;
            s.programNumber = p->i_number;
            // Receivers refuse an ECM naming another service: the one on air follows the number.
            if (renumbered && s.ecmPeriod)
                s.sealEcmSection();
            if (s.pmt)
                dvbpsi_pmt_detach(s.pmt->h);  // libdvbpsi asserts on deleting a handle with a decoder
            s.pmt = std::make_unique<DvbpsiHandle>();
            if (!dvbpsi_pmt_attach(s.pmt->h, p->i_number, &State::onPmt, &s)) {
                s.pmt.reset();  // no decoder to detach later
                throw Error(ErrorCode::Internal, "libdvbpsi: cannot attach a PMT decoder");
            }
            s.pmtReady = false;
            return;
        }
    }

    static void onPmt(void* data, dvbpsi_pmt_t* table) {
        fromDvbpsi([&] { pmtChanged(data, table); },
                   [&](const char* what) { static_cast<State*>(data)->tableError = std::string("PMT: ") + what; });
    }

    static void pmtChanged(void* data, dvbpsi_pmt_t* table) {
        auto& s = *static_cast<State*>(data);
        std::unique_ptr<dvbpsi_pmt_t, decltype(&dvbpsi_pmt_delete)> owned(table, &dvbpsi_pmt_delete);
        std::unique_ptr<dvbpsi_pmt_t, decltype(&dvbpsi_pmt_delete)> ours(
            dvbpsi_pmt_new(table->i_program_number, table->i_version, true, table->i_pcr_pid), &dvbpsi_pmt_delete);
        for (auto* d = table->p_first_descriptor; d; d = d->p_next) {
            // Drop CA and scrambling descriptors of any previous scrambler.
            if (d->i_tag != 0x09 && d->i_tag != 0x65)
                dvbpsi_pmt_descriptor_add(ours.get(), d->i_tag, d->i_length, d->p_data);
        }
        std::uint8_t ca[4] = {static_cast<std::uint8_t>(s.config.caSystemId >> 8),
                              static_cast<std::uint8_t>(s.config.caSystemId),
                              static_cast<std::uint8_t>(0xE0 | (s.config.ecmPid >> 8)),
                              static_cast<std::uint8_t>(s.config.ecmPid)};
        dvbpsi_pmt_descriptor_add(ours.get(), 0x09, sizeof ca, ca);
        if (s.config.algorithm != Algorithm::DvbCsa2) {  // CSA2 is the default when absent
            std::uint8_t mode = scramblingMode(s.config.algorithm);
            dvbpsi_pmt_descriptor_add(ours.get(), 0x65, 1, &mode);
        }
        s.esPids.clear();
        for (auto* es = table->p_first_es; es; es = es->p_next) {
            auto* copy = dvbpsi_pmt_es_add(ours.get(), es->i_type, es->i_pid);
            for (auto* d = es->p_first_descriptor; d; d = d->p_next)
                if (d->i_tag != 0x09)
                    dvbpsi_pmt_es_descriptor_add(copy, d->i_tag, d->i_length, d->p_data);
            s.esPids.insert(es->i_pid);
        }
        // A stream the new PMT dropped must not hold the ECMs back (updateEcmPeriod).
        std::erase_if(s.pidPeriod, [&](const auto& entry) { return !s.esPids.count(entry.first); });
        s.pcrPid = table->i_pcr_pid;
        DvbpsiHandle gen;
        auto* sections = dvbpsi_pmt_sections_generate(gen.h, ours.get());
        s.pmtSections.clear();
        for (auto* sec = sections; sec; sec = sec->p_next)
            s.pmtSections.emplace_back(sec->p_data, sec->p_data + 3 + sec->i_length);
        dvbpsi_DeletePSISections(sections);
        s.pmtReady = true;
        s.emitPmtNow = true;
        s.buildEit();
    }

    void buildEit() {
        eitSections.clear();
        if (config.events.empty())
            return;
        const std::size_t count = std::min<std::size_t>(config.events.size(), 2);
        for (std::size_t i = 0; i < count; ++i) {
            const PpvEvent& e = config.events[i];
            std::unique_ptr<dvbpsi_eit_t, decltype(&dvbpsi_eit_delete)> eit(
                dvbpsi_eit_new(0x4E, programNumber, 0, true, tsId, config.originalNetworkId, 1, 0x4E),
                &dvbpsi_eit_delete);
            dvbpsi_short_event_dr_t text{};
            std::memcpy(text.i_iso_639_code, "eng", 3);
            const std::size_t n = std::min<std::size_t>(e.name.size(), 200);
            text.i_event_name_length = static_cast<int>(n);
            std::memcpy(text.i_event_name, e.name.data(), n);
            dvbpsi_descriptor_t* d = dvbpsi_GenShortEventDr(&text, false);
            // running_status: 4 running (present), 1 not running (following); free_CA_mode 1 = scrambled (PPV).
            auto* event = dvbpsi_eit_event_add(eit.get(), e.eventId, toDvbUtc(e.start), toDvbDuration(e.duration),
                                               i == 0 ? 4 : 1, true, static_cast<std::uint16_t>(d ? 2 + d->i_length : 0));
            if (d) {
                dvbpsi_eit_event_descriptor_add(event, d->i_tag, d->i_length, d->p_data);
                dvbpsi_DeleteDescriptors(d);
            }
            DvbpsiHandle gen;
            auto* sections = dvbpsi_eit_sections_generate(gen.h, eit.get(), 0x4E);
            if (!sections)
                continue;
            // Present/following: section 0 is the present event, section 1 the following one.
            sections->i_number = static_cast<std::uint8_t>(i);
            sections->i_last_number = static_cast<std::uint8_t>(count - 1);
            dvbpsi_BuildPSISection(gen.h, sections);
            eitSections.emplace_back(sections->p_data, sections->p_data + 3 + sections->i_length);
            dvbpsi_DeletePSISections(sections);
        }
    }

    void emitPmt(Bytes& out) {
        for (const auto& section : pmtSections) {
            Bytes packets = packetizeSection(section, *pmtPid, pmtCc);
            stats.packetsOut += packets.size() / packetSize;
            out.insert(out.end(), packets.begin(), packets.end());
        }
    }

    void emitEcm(Bytes& out) {
        Bytes packets = packetizeSection(ecmSection, config.ecmPid, ecmCc);
        stats.ecmPackets += packets.size() / packetSize;
        stats.packetsOut += packets.size() / packetSize;
        out.insert(out.end(), packets.begin(), packets.end());
        lastEcm = clock;
    }

    void emitEit(Bytes& out) {
        for (const auto& section : eitSections) {
            Bytes packets = packetizeSection(section, eitPidValue, eitCc);
            stats.packetsOut += packets.size() / packetSize;
            out.insert(out.end(), packets.begin(), packets.end());
        }
        lastEit = clock;
    }

    void advanceClock(const PacketView& view) {
        if (config.packetsPerCryptoPeriod > 0) {
            clock = stats.packetsIn;
            return;
        }
        if (pmtReady && view.pid() != pcrPid)
            return;
        const auto pcr = view.pcr();
        if (!pcr)
            return;
        // The clock advances by the PCR's steps, modulo its wrap (2^33 × 300 ticks, ≈26.5 h).
        // A step back, or forward by more than a second, is a discontinuity (a looped file,
        // a splice), not time that passed: a forward jump would skip crypto-periods ahead of
        // the ECMs. PCRs come every 100 ms at most (ISO/IEC 13818-1 2.7.2; DVB: 40 ms).
        if (lastPcr) {
            const std::uint64_t step = (*pcr + pcrModulus - *lastPcr) % pcrModulus;
            if (step <= maxPcrStep)
                clock += step;
        }
        lastPcr = *pcr;
    }

    void updateEcmPeriod() {
        // ECM(n) carries CW(n) and CW(n+1); it may replace ECM(n-1) only once every PID
        // has left period n-1 (the receiver overwrites that slot with CW(n+1)).
        const std::uint32_t candidate = currentPeriod;
        if (ecmPeriod && *ecmPeriod >= candidate)
            return;
        if (ecmPeriod && clock < std::uint64_t{candidate} * periodLength + ecmDelay)
            return;
        // A stream silent since the boundary (sparse subtitles, one that stopped) does
        // not hold it back: when it speaks again it starts on the current word (handle).
        const std::uint64_t boundary = std::uint64_t{candidate} * periodLength;
        for (const auto& [pid, state] : pidPeriod)
            if (state.period < candidate && state.lastSeen >= boundary)
                return;
        ecmPeriod = candidate;
        sealEcmSection();
    }

    // The ECM of ecmPeriod for the program as now numbered.
    void sealEcmSection() {
        EcmHeader header;
        header.algorithm = config.algorithm;
        header.serviceId = programNumber;
        header.eventId = config.eventId;
        header.cryptoPeriod = *ecmPeriod;
        ecmSection = sealEcm(header, controlWord(*ecmPeriod), controlWord(*ecmPeriod + 1), config.eventKey);
        lastEcm.reset();
    }

    void handle(const std::uint8_t* in, Bytes& out) {
        ++stats.packetsIn;
        std::uint8_t p[packetSize];
        std::memcpy(p, in, packetSize);
        const PacketView view(p);
        if (!view.hasSync()) {
            out.insert(out.end(), p, p + packetSize);
            ++stats.packetsOut;
            return;
        }
        const std::uint16_t pid = view.pid();
        advanceClock(view);
        const auto period = static_cast<std::uint32_t>(clock / periodLength);
        if (period > currentPeriod || stats.cryptoPeriods == 0) {
            stats.cryptoPeriods += stats.cryptoPeriods == 0 ? 1 : period - currentPeriod;
            currentPeriod = period;
        }

        if (pid == patPid)
            pushTable(pat.h, p);
        if (pmtPid && pid == *pmtPid && pmt) {
            pushTable(pmt->h, p);
            if (emitPmtNow || (view.payloadUnitStart() && pmtReady)) {
                emitPmtNow = false;
                emitPmt(out);
            }
            return;  // the original PMT is replaced by ours
        }
        if (!eitSections.empty() && pid == eitPidValue)
            return;

        if (pmtReady) {
            updateEcmPeriod();
            if (!lastEcm || clock - *lastEcm >= ecmEvery)
                emitEcm(out);
            if (!eitSections.empty() && (!lastEit || clock - *lastEit >= eitEvery))
                emitEit(out);
        }

        if (pmtReady && esPids.count(pid) && view.scrambling() == Scrambling::Clear) {
            auto& state = pidPeriod.try_emplace(pid, PidState{currentPeriod, clock}).first->second;
            // Flip at the first PES start after the boundary (so PIDs flip at different
            // packets); a PID that lags a whole period is pulled along at once, and one
            // silent since the boundary starts on the current word (the ECMs may have
            // moved on without it: updateEcmPeriod).
            if (state.period < currentPeriod) {
                const bool silentSinceBoundary = state.lastSeen < std::uint64_t{currentPeriod} * periodLength;
                if (view.payloadUnitStart() || silentSinceBoundary)
                    state.period = currentPeriod;
                else if (state.period + 1 < currentPeriod)
                    state.period = currentPeriod - 1;
            }
            state.lastSeen = clock;
            installKey(state.period);
            if (scrambler.scramble(p, parityOf(state.period)))
                ++stats.scrambled;
        }
        out.insert(out.end(), p, p + packetSize);
        ++stats.packetsOut;
    }
};

Headend::Headend(HeadendConfig config) {
    if (config.eventKey.size() != 16 && config.eventKey.size() != 32)
        throw Error(ErrorCode::InvalidArgument, "the event key must have 16 or 32 bytes");
    if (config.ecmPid < 0x20 || config.ecmPid >= nullPid)
        throw Error(ErrorCode::InvalidArgument, "the ECM PID must be in 0x0020..0x1FFE");
    if (config.packetsPerCryptoPeriod == 0 && !(config.cryptoPeriodSeconds >= 0.1))
        throw Error(ErrorCode::InvalidArgument, "the crypto-period must be at least 0.1 s");
    state_ = std::make_unique<State>(std::move(config));
    auto& s = *state_;
    if (s.config.packetsPerCryptoPeriod > 0) {
        s.periodLength = s.config.packetsPerCryptoPeriod;
        s.ecmEvery = std::max<std::uint64_t>(1, s.config.ecmIntervalPackets);
        s.eitEvery = s.ecmEvery * 20;
    } else {
        s.periodLength = static_cast<std::uint64_t>(s.config.cryptoPeriodSeconds * pcrHz);
        s.ecmEvery = static_cast<std::uint64_t>(s.config.ecmIntervalSeconds * pcrHz);
        s.eitEvery = static_cast<std::uint64_t>(s.config.eitIntervalSeconds * pcrHz);
    }
    s.ecmDelay = s.periodLength / 4;
    if (!dvbpsi_pat_attach(s.pat.h, &State::onPat, &s))
        throw Error(ErrorCode::Internal, "libdvbpsi: cannot attach the PAT decoder");
}

Headend::~Headend() {
    if (state_) {
        if (state_->pmt)
            dvbpsi_pmt_detach(state_->pmt->h);
        dvbpsi_pat_detach(state_->pat.h);
    }
}

Bytes Headend::process(ByteView packets) {
    if (packets.size() % packetSize != 0)
        throw Error(ErrorCode::InvalidArgument, "the headend takes whole 188-byte packets");
    Bytes out;
    out.reserve(packets.size() + packets.size() / 8);
    for (std::size_t at = 0; at < packets.size(); at += packetSize)
        state_->handle(packets.data() + at, out);
    return out;
}

const HeadendStatistics& Headend::statistics() const noexcept { return state_->stats; }

Bytes Headend::controlWord(std::uint32_t cryptoPeriod) const {
    auto it = state_->controlWords.find(cryptoPeriod);
    if (it == state_->controlWords.end())
        throw Error(ErrorCode::NotFound, "no control word kept for that crypto-period");
    return Bytes(it->second.view().begin(), it->second.view().end());
}

HeadendStatistics scrambleFile(const std::string& input, const std::string& output, const HeadendConfig& config) {
    std::ifstream in(input, std::ios::binary);
    if (!in)
        throw Error(ErrorCode::Io, "cannot open " + input);
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    if (!out)
        throw Error(ErrorCode::Io, "cannot create " + output);
    Headend headend(config);
    Bytes chunk(packetSize * 2048);
    while (in) {
        in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0)
            break;
        if (got % packetSize != 0)
            throw Error(ErrorCode::Malformed, input + " does not hold whole 188-byte packets");
        const Bytes sent = headend.process(ByteView(chunk.data(), got));
        out.write(reinterpret_cast<const char*>(sent.data()), static_cast<std::streamsize>(sent.size()));
    }
    if (!out)
        throw Error(ErrorCode::Io, "cannot write " + output);
    return headend.statistics();
}

} // namespace boxoffice::headend
