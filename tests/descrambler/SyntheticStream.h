#pragma once
// Deterministic synthetic transport streams for the descrambler and headend
// tests: a PAT, a PMT (version and PIDs chosen by the test) and elementary
// streams of random payload with PES starts at chosen intervals and a PCR.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/Section.h>

#include <cstdint>
#include <random>
#include <vector>

namespace boxoffice::testutil {

struct EsSpec {
    std::uint16_t pid;
    std::uint8_t streamType;
    std::size_t pesEvery;  // a payload_unit_start every N packets of this PID
};

struct StreamOptions {
    std::size_t packets = 2000;
    std::uint16_t program = 1;
    std::uint16_t pmtPid = 0x1000;
    std::uint8_t pmtVersion = 0;
    std::vector<EsSpec> es{{0x100, 0x02, 7}, {0x101, 0x04, 5}};
    std::size_t psiEvery = 100;           // PAT + PMT every N packets
    std::uint64_t ticksPerPacket = 27000;  // PCR advance per packet (1 ms)
    std::uint32_t seed = 1;
    std::uint64_t firstPcr = 0;
};

inline void putPacketHeader(std::uint8_t* p, std::uint16_t pid, bool pusi, std::uint8_t& cc) {
    p[0] = mpegts::syncByte;
    p[1] = static_cast<std::uint8_t>((pusi ? 0x40 : 0) | (pid >> 8));
    p[2] = static_cast<std::uint8_t>(pid);
    p[3] = static_cast<std::uint8_t>(0x10 | (cc & 0x0F));
    cc = static_cast<std::uint8_t>((cc + 1) & 0x0F);
}

inline Bytes patSection(const StreamOptions& o) {
    mpegts::SectionHeader h;
    h.tableId = 0x00;
    h.extension = 1;  // transport_stream_id
    h.privateIndicator = false;
    const Bytes payload{static_cast<std::uint8_t>(o.program >> 8), static_cast<std::uint8_t>(o.program),
                        static_cast<std::uint8_t>(0xE0 | (o.pmtPid >> 8)), static_cast<std::uint8_t>(o.pmtPid)};
    return mpegts::buildSection(h, payload);
}

inline Bytes pmtSection(const StreamOptions& o) {
    mpegts::SectionHeader h;
    h.tableId = 0x02;
    h.extension = o.program;
    h.version = o.pmtVersion;
    h.privateIndicator = false;
    const std::uint16_t pcrPid = o.es.front().pid;
    Bytes payload{static_cast<std::uint8_t>(0xE0 | (pcrPid >> 8)), static_cast<std::uint8_t>(pcrPid), 0xF0, 0x00};
    for (const auto& e : o.es) {
        payload.push_back(e.streamType);
        payload.push_back(static_cast<std::uint8_t>(0xE0 | (e.pid >> 8)));
        payload.push_back(static_cast<std::uint8_t>(e.pid));
        payload.push_back(0xF0);
        payload.push_back(0x00);
    }
    return mpegts::buildSection(h, payload);
}

inline Bytes makeStream(const StreamOptions& o) {
    std::mt19937 rng(o.seed);
    Bytes out;
    out.reserve(o.packets * mpegts::packetSize + 4096);
    std::uint8_t patCc = 0, pmtCc = 0;
    std::vector<std::uint8_t> cc(o.es.size(), 0);
    std::vector<std::size_t> count(o.es.size(), 0);
    const Bytes pat = patSection(o), pmt = pmtSection(o);
    std::size_t esTurn = 0;
    for (std::size_t i = 0; out.size() / mpegts::packetSize < o.packets; ++i) {
        if (i % o.psiEvery == 0) {
            Bytes a = mpegts::packetizeSection(pat, mpegts::patPid, patCc);
            Bytes b = mpegts::packetizeSection(pmt, o.pmtPid, pmtCc);
            out.insert(out.end(), a.begin(), a.end());
            out.insert(out.end(), b.begin(), b.end());
            continue;
        }
        const std::size_t e = esTurn++ % o.es.size();
        std::uint8_t p[mpegts::packetSize];
        const bool pusi = count[e] % o.es[e].pesEvery == 0;
        putPacketHeader(p, o.es[e].pid, pusi, cc[e]);
        std::size_t at = 4;
        if (e == 0 && pusi) {
            // Adaptation field with a PCR on the first ES at every PES start.
            p[3] |= 0x20;
            p[4] = 7;
            p[5] = 0x10;
            const std::uint64_t pcr = o.firstPcr + (out.size() / mpegts::packetSize) * o.ticksPerPacket;
            const std::uint64_t base = pcr / 300, ext = pcr % 300;
            p[6] = static_cast<std::uint8_t>(base >> 25);
            p[7] = static_cast<std::uint8_t>(base >> 17);
            p[8] = static_cast<std::uint8_t>(base >> 9);
            p[9] = static_cast<std::uint8_t>(base >> 1);
            p[10] = static_cast<std::uint8_t>(((base & 1) << 7) | 0x7E | (ext >> 8));
            p[11] = static_cast<std::uint8_t>(ext);
            at = 12;
        } else if (count[e] % 11 == 3) {
            // Some packets carry an adaptation field of varying length (stuffing).
            const auto len = static_cast<std::uint8_t>(1 + rng() % 40);
            p[3] |= 0x20;
            p[4] = len;
            p[5] = 0x00;
            for (std::size_t k = 6; k < 5u + len; ++k)
                p[k] = 0xFF;
            at = 5u + len;
        }
        for (std::size_t k = at; k < mpegts::packetSize; ++k)
            p[k] = static_cast<std::uint8_t>(rng());
        ++count[e];
        out.insert(out.end(), p, p + mpegts::packetSize);
    }
    out.resize(o.packets * mpegts::packetSize);
    return out;
}

// The packets of the given PIDs, in order (for comparing streams that differ only
// in inserted/replaced PSI and ECM packets).
inline std::vector<Bytes> packetsOf(ByteView stream, const std::vector<std::uint16_t>& pids) {
    std::vector<Bytes> out;
    for (std::size_t at = 0; at + mpegts::packetSize <= stream.size(); at += mpegts::packetSize) {
        const mpegts::PacketView v(stream.data() + at);
        for (auto pid : pids)
            if (v.pid() == pid)
                out.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(at),
                                 stream.begin() + static_cast<std::ptrdiff_t>(at + mpegts::packetSize));
    }
    return out;
}

inline std::size_t scrambledCount(ByteView stream) {
    std::size_t n = 0;
    for (std::size_t at = 0; at + mpegts::packetSize <= stream.size(); at += mpegts::packetSize)
        n += mpegts::isScrambled(mpegts::PacketView(stream.data() + at).scrambling());
    return n;
}

} // namespace boxoffice::testutil

namespace boxoffice::testutil {

// Index of the first differing packet (or of the end of the shorter list), -1 when equal.
inline long firstDifference(const std::vector<Bytes>& a, const std::vector<Bytes>& b) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] != b[i])
            return static_cast<long>(i);
    return a.size() == b.size() ? -1 : static_cast<long>(n);
}

} // namespace boxoffice::testutil
