#include <boxoffice/mpegts/Section.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/mpegts/Packet.h>

#include "Dvbpsi.h"

#include <cstring>
#include <memory>

namespace boxoffice::mpegts {

Bytes buildSection(const SectionHeader& header, ByteView payload) {
    constexpr std::size_t maxSection = 4096;
    if (payload.size() > maxSection - 12)
        throw Error(ErrorCode::InvalidArgument, "section payload too large");
    std::unique_ptr<dvbpsi_t, decltype(&dvbpsi_delete)> handle(dvbpsi_new(nullptr, DVBPSI_MSG_NONE), &dvbpsi_delete);
    std::unique_ptr<dvbpsi_psi_section_t, decltype(&dvbpsi_DeletePSISections)> s(
        dvbpsi_NewPSISection(static_cast<int>(maxSection)), &dvbpsi_DeletePSISections);
    if (!handle || !s)
        throw Error(ErrorCode::Internal, "libdvbpsi could not allocate a section");
    s->i_table_id = header.tableId;
    s->b_syntax_indicator = true;
    s->b_private_indicator = header.privateIndicator;
    s->i_length = static_cast<std::uint16_t>(5 + payload.size() + 4);
    s->i_extension = header.extension;
    s->i_version = header.version & 0x1F;
    s->b_current_next = true;
    s->i_number = 0;
    s->i_last_number = 0;
    s->p_payload_start = s->p_data + 8;
    if (!payload.empty())
        std::memcpy(s->p_payload_start, payload.data(), payload.size());
    s->p_payload_end = s->p_payload_start + payload.size();
    dvbpsi_BuildPSISection(handle.get(), s.get());
    return Bytes(s->p_data, s->p_data + 3 + s->i_length);
}

Bytes packetizeSection(ByteView section, std::uint16_t pid, std::uint8_t& cc) {
    Bytes out;
    std::size_t at = 0;
    bool first = true;
    while (at < section.size() || first) {
        std::uint8_t p[packetSize];
        std::memset(p, 0xFF, sizeof p);
        p[0] = syncByte;
        p[1] = static_cast<std::uint8_t>((first ? 0x40 : 0x00) | ((pid >> 8) & 0x1F));
        p[2] = static_cast<std::uint8_t>(pid);
        p[3] = static_cast<std::uint8_t>(0x10 | (cc & 0x0F));
        cc = static_cast<std::uint8_t>((cc + 1) & 0x0F);
        std::size_t pos = headerSize;
        if (first)
            p[pos++] = 0;  // pointer_field
        const std::size_t n = std::min(packetSize - pos, section.size() - at);
        std::memcpy(p + pos, section.data() + at, n);
        at += n;
        first = false;
        out.insert(out.end(), p, p + packetSize);
    }
    return out;
}

} // namespace boxoffice::mpegts
