#include <boxoffice/mpegts/Guide.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/mpegts/DvbTime.h>
#include <boxoffice/mpegts/Packet.h>

#include "Dvbpsi.h"

extern "C" {
#include <dvbpsi/dr_4d.h>
}

namespace boxoffice::mpegts {

namespace {

// DVB strings (EN 300 468 Annex A) may start with a character-table selector.
std::string dvbText(const std::uint8_t* data, int length) {
    if (length <= 0)
        return {};
    int skip = 0;
    if (data[0] == 0x10)
        skip = 3;
    else if (data[0] < 0x20)
        skip = 1;
    if (skip >= length)
        return {};
    return std::string(reinterpret_cast<const char*>(data + skip), static_cast<std::size_t>(length - skip));
}

struct Handle {
    explicit Handle(GuideCollector& c);
    ~Handle() { dvbpsi_delete(dvbpsi); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    GuideCollector& collector;
    dvbpsi_t* dvbpsi;
};

} // namespace

struct GuideCollector::Decoders {
    static void message(dvbpsi_t* d, const dvbpsi_msg_level_t level, const char*) {
        if (level <= DVBPSI_MSG_ERROR && d->p_sys)
            ++static_cast<Handle*>(d->p_sys)->collector.errors_;
    }

    static void cat(void* data, dvbpsi_cat_t* table) {
        fromDvbpsi([&] { onCat(data, table); },
                           [&](const char*) { ++static_cast<Handle*>(data)->collector.errors_; });
    }

    static void onCat(void* data, dvbpsi_cat_t* table) {
        auto& c = static_cast<Handle*>(data)->collector;
        std::unique_ptr<dvbpsi_cat_t, decltype(&dvbpsi_cat_delete)> owned(table, &dvbpsi_cat_delete);
        for (auto* d = table->p_first_descriptor; d; d = d->p_next) {
            if (d->i_tag != 0x09)
                continue;
            if (auto* ca = dvbpsi_DecodeCADr(d)) {
                const bool fresh = c.emmPids_.emplace(ca->i_ca_system_id, ca->i_ca_pid).second;
                if (fresh && c.callbacks_.onEmmPid)
                    c.callbacks_.onEmmPid(ca->i_ca_system_id, ca->i_ca_pid);
            }
        }
    }

    static void eit(void* data, dvbpsi_eit_t* table) {
        fromDvbpsi([&] { onEit(data, table); },
                           [&](const char*) { ++static_cast<Handle*>(data)->collector.errors_; });
    }

    static void onEit(void* data, dvbpsi_eit_t* table) {
        auto& c = static_cast<Handle*>(data)->collector;
        std::unique_ptr<dvbpsi_eit_t, decltype(&dvbpsi_eit_delete)> owned(table, &dvbpsi_eit_delete);
        for (auto* e = table->p_first_event; e; e = e->p_next) {
            GuideEvent g;
            g.serviceId = table->i_extension;
            g.eventId = e->i_event_id;
            g.tableId = table->i_table_id;
            const auto start = fromDvbUtc(e->i_start_time);
            const auto duration = fromDvbDuration(e->i_duration);
            if (!start || !duration) {
                ++c.errors_;  // undefined times (all ones) or bad BCD
                continue;
            }
            g.start = *start;
            g.duration = *duration;
            g.runningStatus = e->i_running_status;
            g.scrambled = e->b_free_ca;
            for (auto* d = e->p_first_descriptor; d; d = d->p_next)
                if (d->i_tag == 0x4D)
                    if (auto* text = dvbpsi_DecodeShortEventDr(d)) {
                        g.name = dvbText(text->i_event_name, text->i_event_name_length);
                        g.text = dvbText(text->i_text, text->i_text_length);
                    }
            c.events_[{g.serviceId, g.eventId}] = g;
            if (c.callbacks_.onEvent)
                c.callbacks_.onEvent(g);
        }
    }

    static void tot(void* data, dvbpsi_tot_t* table) {
        fromDvbpsi([&] { onTot(data, table); },
                           [&](const char*) { ++static_cast<Handle*>(data)->collector.errors_; });
    }

    static void onTot(void* data, dvbpsi_tot_t* table) {
        auto& c = static_cast<Handle*>(data)->collector;
        std::unique_ptr<dvbpsi_tot_t, decltype(&dvbpsi_tot_delete)> owned(table, &dvbpsi_tot_delete);
        const auto utc = fromDvbUtc(table->i_utc_time);
        if (!utc) {
            ++c.errors_;
            return;
        }
        c.utc_ = *utc;
        if (c.callbacks_.onTime)
            c.callbacks_.onTime(*utc);
    }

    static void newSubtable(dvbpsi_t* d, uint8_t tableId, uint16_t extension, void* data) {
        if (tableId >= 0x4E && tableId <= 0x6F)
            dvbpsi_eit_attach(d, tableId, extension, &Decoders::eit, data);
        else if (tableId == 0x70 || tableId == 0x73)
            dvbpsi_tot_attach(d, tableId, extension, &Decoders::tot, data);
    }

    explicit Decoders(GuideCollector& c) : cat_(c), eit_(c), time_(c) {
        if (!dvbpsi_cat_attach(cat_.dvbpsi, &Decoders::cat, &cat_) ||
            !dvbpsi_AttachDemux(eit_.dvbpsi, &Decoders::newSubtable, &eit_) ||
            !dvbpsi_AttachDemux(time_.dvbpsi, &Decoders::newSubtable, &time_))
            throw Error(ErrorCode::Internal, "libdvbpsi: cannot attach the guide decoders");
    }
    ~Decoders() {
        dvbpsi_cat_detach(cat_.dvbpsi);
        dvbpsi_DetachDemux(eit_.dvbpsi);
        dvbpsi_DetachDemux(time_.dvbpsi);
    }
    Decoders(const Decoders&) = delete;
    Decoders& operator=(const Decoders&) = delete;

    Handle cat_, eit_, time_;
};

Handle::Handle(GuideCollector& c) : collector(c), dvbpsi(dvbpsi_new(&GuideCollector::Decoders::message, DVBPSI_MSG_ERROR)) {
    if (!dvbpsi)
        throw Error(ErrorCode::Internal, "libdvbpsi: out of memory");
    dvbpsi->p_sys = this;
}

GuideCollector::GuideCollector() : GuideCollector(Callbacks{}) {}

GuideCollector::GuideCollector(Callbacks callbacks)
    : callbacks_(std::move(callbacks)), decoders_(std::make_unique<Decoders>(*this)) {}

GuideCollector::~GuideCollector() = default;

void GuideCollector::push(const std::uint8_t* packet) {
    const PacketView view(packet);
    if (!view.hasSync())
        return;
    auto* data = const_cast<std::uint8_t*>(packet);  // libdvbpsi does not write
    switch (view.pid()) {
    case catPid: dvbpsi_packet_push(decoders_->cat_.dvbpsi, data); break;
    case eitPid: dvbpsi_packet_push(decoders_->eit_.dvbpsi, data); break;
    case tdtPid: dvbpsi_packet_push(decoders_->time_.dvbpsi, data); break;
    default: break;
    }
}

void GuideCollector::pushAll(ByteView packets) {
    for (std::size_t at = 0; at + packetSize <= packets.size(); at += packetSize)
        if (wants(PacketView(packets.data() + at).pid()))
            push(packets.data() + at);
}

} // namespace boxoffice::mpegts
