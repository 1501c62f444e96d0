#include "TsDescrambler.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/mpegts/Guide.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/StreamDescrambler.h>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace bm = boxoffice::mpegts;

GST_DEBUG_CATEGORY_STATIC(tsdescrambler_debug);
#define GST_CAT_DEFAULT tsdescrambler_debug

namespace {

enum Property {
    PropAlgorithm = 1,
    PropEvenKey,
    PropOddKey,
    PropEventKey,
    PropKeyService,
    PropCaSystemId,
    PropProgramNumber,
    PropMaxHeldPackets,
    PropCsa2EntropyReduction,
    PropStatisticsInterval,
    PropGuide,
    PropDescrambled,
    PropClear,
    PropHeld,
    PropWithoutKey,
    PropErrors,
};

GType algorithmType() {
    static GType type = 0;
    static const GEnumValue values[] = {
        {static_cast<gint>(bm::Algorithm::DvbCissa), "DVB-CISSA v1 (AES-128-CBC)", "dvb-cissa"},
        {static_cast<gint>(bm::Algorithm::DvbCsa2), "DVB-CSA2", "dvb-csa2"},
        {static_cast<gint>(bm::Algorithm::AtisIdsa), "ATIS-IDSA (AES-128, DVS-042)", "atis-idsa"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstBoxofficeScramblingAlgorithm", values));
    return type;
}

// Everything C++ behind the GObject. The object lock guards the settings and
// the statistics snapshot; the engine itself only runs on the streaming thread.
struct Impl {
    // settings
    bm::Algorithm algorithm = bm::Algorithm::DvbCissa;
    boxoffice::crypto::SecretBytes evenKey, oddKey;
    std::unique_ptr<bm::EventKeyService> eventKeys;  // when "event-key" is set
    std::vector<std::unique_ptr<bm::EventKeyService>> retiredKeys;
    bm::KeyService* keyService = nullptr;            // "key-service" (not owned) or eventKeys
    guint caSystemId = bm::boxofficeCaSystemId;
    guint programNumber = 0;
    guint maxHeld = 20000;
    bool reduceCsa2 = false;
    guint statisticsIntervalMs = 1000;
    bool guide = true;

    // streaming state
    std::unique_ptr<bm::StreamDescrambler> engine;
    std::unique_ptr<bm::GuideCollector> guideCollector;
    boxoffice::Bytes carry;          // the start of a packet split across input buffers (< 188 bytes)
    std::deque<GstBuffer*> ready;    // output of the last input buffer, handed out by generateOutput
    std::uint64_t resyncErrors = 0;
    gint64 lastStatistics = 0;
    bm::DescramblerStatistics snapshot;
    bool keysDirty = false;
    bool keyServiceDirty = false;
};

} // namespace

struct _GstTsDescrambler {
    GstBaseTransform parent;
    Impl* impl;
};

G_DEFINE_TYPE(GstTsDescrambler, gst_ts_descrambler, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(tsdescrambler, "tsdescrambler", GST_RANK_NONE, GST_TYPE_TS_DESCRAMBLER)

namespace {

GstStaticPadTemplate sinkTemplate = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/mpegts, systemstream = (boolean) true"));
GstStaticPadTemplate srcTemplate = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/mpegts, systemstream = (boolean) true"));

Impl& implOf(gpointer object) { return *GST_TS_DESCRAMBLER(object)->impl; }

// Parses a hex control word property; on error keeps nothing and warns.
std::optional<boxoffice::crypto::SecretBytes> parseKey(GstTsDescrambler* self, const gchar* text, const char* name) {
    if (!text || !*text)
        return boxoffice::crypto::SecretBytes();
    try {
        boxoffice::Bytes bytes = boxoffice::fromHex(text, name);
        boxoffice::crypto::SecretBytes key(bytes);
        std::fill(bytes.begin(), bytes.end(), 0);
        return key;
    } catch (const boxoffice::Error& e) {
        // Never log the value itself.
        GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("invalid %s", name), ("%s", e.what()));
        return std::nullopt;
    }
}

// Hands changed settings to the engine, on the streaming thread or in start().
// Takes the object lock only to copy them: posting a warning needs it too.
void applySettings(GstTsDescrambler* self, Impl& impl) {
    GST_OBJECT_LOCK(self);
    const bool keys = impl.keysDirty;
    const bool service = impl.keyServiceDirty;
    impl.keysDirty = impl.keyServiceDirty = false;
    boxoffice::crypto::SecretBytes even = impl.evenKey, odd = impl.oddKey;
    bm::KeyService* keyService = impl.keyService;
    GST_OBJECT_UNLOCK(self);
    if (!impl.engine)
        return;
    if (service)
        impl.engine->setKeyService(keyService);
    if (!keys)
        return;
    try {
        // An empty key clears its parity (its packets pass on scrambled).
        impl.engine->setFixedKey(bm::Scrambling::Even, even);
        impl.engine->setFixedKey(bm::Scrambling::Odd, odd);
    } catch (const boxoffice::Error& e) {
        GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("unusable control word"), ("%s", e.what()));
    }
}

void setProperty(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
    auto* self = GST_TS_DESCRAMBLER(object);
    Impl& impl = implOf(object);
    switch (id) {
    case PropAlgorithm: {
        GST_OBJECT_LOCK(self);
        impl.algorithm = static_cast<bm::Algorithm>(g_value_get_enum(value));
        GST_OBJECT_UNLOCK(self);
        break;
    }
    case PropEvenKey:
    case PropOddKey: {
        auto key = parseKey(self, g_value_get_string(value), id == PropEvenKey ? "even-key" : "odd-key");
        if (!key)
            break;
        GST_OBJECT_LOCK(self);
        (id == PropEvenKey ? impl.evenKey : impl.oddKey) = std::move(*key);
        impl.keysDirty = true;
        GST_OBJECT_UNLOCK(self);
        break;
    }
    case PropEventKey: {
        auto key = parseKey(self, g_value_get_string(value), "event-key");
        if (!key)
            break;
        GST_OBJECT_LOCK(self);
        if (key->empty()) {
            if (impl.keyService == impl.eventKeys.get())
                impl.keyService = nullptr;
            if (impl.eventKeys)
                impl.retiredKeys.push_back(std::move(impl.eventKeys));
        } else {
            // The engine may still use the previous service: keep it alive.
            if (impl.eventKeys)
                impl.retiredKeys.push_back(std::move(impl.eventKeys));
            impl.eventKeys = std::make_unique<bm::EventKeyService>();
            impl.eventKeys->setDefaultKey(*key);
            impl.keyService = impl.eventKeys.get();
        }
        impl.keyServiceDirty = true;
        GST_OBJECT_UNLOCK(self);
        break;
    }
    case PropKeyService:
        GST_OBJECT_LOCK(self);
        impl.keyService = static_cast<bm::KeyService*>(g_value_get_pointer(value));
        impl.keyServiceDirty = true;
        GST_OBJECT_UNLOCK(self);
        break;
    case PropCaSystemId: impl.caSystemId = g_value_get_uint(value); break;
    case PropProgramNumber: impl.programNumber = g_value_get_uint(value); break;
    case PropMaxHeldPackets: impl.maxHeld = g_value_get_uint(value); break;
    case PropCsa2EntropyReduction: impl.reduceCsa2 = g_value_get_boolean(value); break;
    case PropStatisticsInterval: impl.statisticsIntervalMs = g_value_get_uint(value); break;
    case PropGuide: impl.guide = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

void getProperty(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
    auto* self = GST_TS_DESCRAMBLER(object);
    Impl& impl = implOf(object);
    GST_OBJECT_LOCK(self);
    const auto s = impl.snapshot;
    GST_OBJECT_UNLOCK(self);
    switch (id) {
    case PropAlgorithm: g_value_set_enum(value, static_cast<gint>(impl.algorithm)); break;
    case PropCaSystemId: g_value_set_uint(value, impl.caSystemId); break;
    case PropProgramNumber: g_value_set_uint(value, impl.programNumber); break;
    case PropMaxHeldPackets: g_value_set_uint(value, impl.maxHeld); break;
    case PropCsa2EntropyReduction: g_value_set_boolean(value, impl.reduceCsa2); break;
    case PropStatisticsInterval: g_value_set_uint(value, impl.statisticsIntervalMs); break;
    case PropGuide: g_value_set_boolean(value, impl.guide); break;
    case PropDescrambled: g_value_set_uint64(value, s.descrambled); break;
    case PropClear: g_value_set_uint64(value, s.clear); break;
    case PropHeld: g_value_set_uint64(value, s.held); break;
    case PropWithoutKey: g_value_set_uint64(value, s.withoutKey); break;
    case PropErrors: g_value_set_uint64(value, s.errors); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

void postStatistics(GstTsDescrambler* self, Impl& impl, bool force) {
    const gint64 now = g_get_monotonic_time();
    if (!force && now - impl.lastStatistics < gint64{impl.statisticsIntervalMs} * 1000)
        return;
    impl.lastStatistics = now;
    GST_OBJECT_LOCK(self);
    const auto s = impl.snapshot;
    GST_OBJECT_UNLOCK(self);
    GstStructure* st = gst_structure_new("boxoffice-descrambler-statistics", "descrambled", G_TYPE_UINT64,
                                         s.descrambled, "clear", G_TYPE_UINT64, s.clear, "held", G_TYPE_UINT64,
                                         s.held, "without-key", G_TYPE_UINT64, s.withoutKey, "errors",
                                         G_TYPE_UINT64, s.errors, nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

const char* noticeName(bm::DescramblerNotice::Kind kind) {
    switch (kind) {
    case bm::DescramblerNotice::Kind::KeyLate: return "key-late";
    case bm::DescramblerNotice::Kind::KeyArrived: return "key-arrived";
    case bm::DescramblerNotice::Kind::HoldOverflow: return "hold-overflow";
    case bm::DescramblerNotice::Kind::CaChanged: return "ca-changed";
    case bm::DescramblerNotice::Kind::EcmRejected: return "ecm-rejected";
    case bm::DescramblerNotice::Kind::PsiError: return "psi-error";
    }
    return "notice";
}

void afterProcessing(GstTsDescrambler* self, Impl& impl) {
    for (auto& n : impl.engine->takeNotices()) {
        GST_INFO_OBJECT(self, "%s: %s", noticeName(n.kind), n.text.c_str());
        if (n.kind == bm::DescramblerNotice::Kind::KeyLate || n.kind == bm::DescramblerNotice::Kind::HoldOverflow)
            GST_ELEMENT_WARNING(self, STREAM, DECRYPT_NOKEY, ("%s", n.text.c_str()), (nullptr));
        GstStructure* st = gst_structure_new("boxoffice-descrambler-notice", "kind", G_TYPE_STRING,
                                             noticeName(n.kind), "text", G_TYPE_STRING, n.text.c_str(), nullptr);
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
    }
    GST_OBJECT_LOCK(self);
    impl.snapshot = impl.engine->statistics();
    impl.snapshot.errors += impl.resyncErrors;
    GST_OBJECT_UNLOCK(self);
    postStatistics(self, impl, false);
}

GstBuffer* wrapBytes(boxoffice::Bytes&& bytes) {
    auto* heap = new boxoffice::Bytes(std::move(bytes));
    return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, heap->data(), heap->size(), 0, heap->size(), heap,
                                       [](gpointer p) { delete static_cast<boxoffice::Bytes*>(p); });
}

// Guide data goes to the bus for the application (the STB's PPV catalog and
// trusted clock read it there).
std::unique_ptr<bm::GuideCollector> makeGuide(GstTsDescrambler* self) {
    bm::GuideCollector::Callbacks callbacks;
    callbacks.onEvent = [self](const bm::GuideEvent& e) {
        GstStructure* st = gst_structure_new(
            "boxoffice-guide-event", "service-id", G_TYPE_UINT, guint{e.serviceId}, "event-id", G_TYPE_UINT,
            guint{e.eventId}, "table-id", G_TYPE_UINT, guint{e.tableId}, "start", G_TYPE_INT64, gint64{e.start},
            "duration", G_TYPE_UINT, guint{e.duration}, "running-status", G_TYPE_UINT, guint{e.runningStatus},
            "scrambled", G_TYPE_BOOLEAN, gboolean{e.scrambled}, "name", G_TYPE_STRING, e.name.c_str(), "text",
            G_TYPE_STRING, e.text.c_str(), nullptr);
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
    };
    callbacks.onTime = [self](std::int64_t utc) {
        GstStructure* st = gst_structure_new("boxoffice-broadcast-time", "utc", G_TYPE_INT64, gint64{utc}, nullptr);
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
    };
    return std::make_unique<bm::GuideCollector>(std::move(callbacks));
}

gboolean start(GstBaseTransform* trans) {
    auto* self = GST_TS_DESCRAMBLER(trans);
    Impl& impl = *self->impl;
    GST_OBJECT_LOCK(self);
    bm::StreamDescramblerConfig config;
    config.algorithm = impl.algorithm;
    config.caSystemId = static_cast<std::uint16_t>(impl.caSystemId);
    config.programNumber = static_cast<std::uint16_t>(impl.programNumber);
    config.maxHeldPackets = impl.maxHeld;
    config.reduceCsa2Entropy = impl.reduceCsa2;
    impl.engine = std::make_unique<bm::StreamDescrambler>(config);
    impl.guideCollector.reset();
    if (impl.guide)
        impl.guideCollector = makeGuide(self);
    impl.engine->setGuideCollector(impl.guideCollector.get());
    impl.keysDirty = impl.keyServiceDirty = true;
    impl.snapshot = {};
    impl.resyncErrors = 0;
    GST_OBJECT_UNLOCK(self);
    applySettings(self, impl);
    return TRUE;
}

void dropPending(Impl& impl) {
    impl.carry.clear();
    for (GstBuffer* b : impl.ready)
        gst_buffer_unref(b);
    impl.ready.clear();
}

gboolean stop(GstBaseTransform* trans) {
    Impl& impl = implOf(trans);
    dropPending(impl);
    impl.engine.reset();
    impl.guideCollector.reset();
    return TRUE;
}

// Where the next packet may start in data[0..size): a sync byte followed by
// another one a packet later (or by the end of what we have).
std::size_t resyncPoint(const guint8* data, std::size_t size) {
    for (std::size_t i = 1; i < size; ++i)
        if (data[i] == bm::syncByte && (i + bm::packetSize >= size || data[i + bm::packetSize] == bm::syncByte))
            return i;
    return size;
}

// What one input buffer turns into, in stream order: ranges of the input buffer
// itself (descrambled in place, or passed on untouched to regain sync) and
// bytes made elsewhere (a packet split across buffers, packets the engine held).
struct Segment {
    std::size_t offset = 0, size = 0;  // a range of the input, when bytes is empty
    boxoffice::Bytes bytes;
};

void countResync(GstTsDescrambler* self, Impl& impl, std::size_t skipped) {
    ++impl.resyncErrors;
    GST_WARNING_OBJECT(self, "lost sync: passing %zu bytes on untouched", skipped);
}

// Splits one mapped input buffer into packets, descrambling in place. The input
// is the buffer upstream gave us, so writing it costs no copy; only a packet
// split across two buffers is assembled (and resynchronised) on a small copy.
void splitAndDescramble(GstTsDescrambler* self, Impl& impl, guint8* data, std::size_t size,
                        std::vector<Segment>& out) {
    std::size_t at = 0;
    while (!impl.carry.empty()) {
        boxoffice::Bytes joint = impl.carry;
        const std::size_t take = std::min(size - at, 2 * bm::packetSize - joint.size());
        joint.insert(joint.end(), data + at, data + at + take);
        if (joint.size() < bm::packetSize) {  // this buffer ends inside the packet too
            impl.carry = std::move(joint);
            return;
        }
        std::size_t used = bm::packetSize;
        if (joint[0] != bm::syncByte) {
            used = resyncPoint(joint.data(), joint.size());
            if (used == joint.size())
                used = joint.size() - (bm::packetSize - 1);
            countResync(self, impl, used);
            out.push_back({0, 0, boxoffice::Bytes(joint.begin(), joint.begin() + static_cast<std::ptrdiff_t>(used))});
        } else {
            joint.resize(bm::packetSize);
            auto result = impl.engine->process(joint);
            if (result.inPlace > 0)  // in place here means in `joint`, not in the input
                out.push_back({0, 0, std::move(joint)});
            if (!result.tail.empty())
                out.push_back({0, 0, std::move(result.tail)});
        }
        if (used <= impl.carry.size()) {
            impl.carry.erase(impl.carry.begin(), impl.carry.begin() + static_cast<std::ptrdiff_t>(used));
        } else {
            at += used - impl.carry.size();
            impl.carry.clear();
        }
    }
    while (at < size) {
        const std::size_t avail = size - at;
        if (avail < bm::packetSize) {
            impl.carry.assign(data + at, data + size);
            return;
        }
        if (data[at] != bm::syncByte) {
            std::size_t skip = resyncPoint(data + at, avail);
            if (skip == avail)
                skip = avail - (bm::packetSize - 1);  // keep a possible packet start for the next buffer
            countResync(self, impl, skip);
            out.push_back({at, skip, {}});
            at += skip;
            continue;
        }
        std::size_t run = 0;
        while (run + bm::packetSize <= avail && data[at + run] == bm::syncByte)
            run += bm::packetSize;
        auto result = impl.engine->process(boxoffice::MutableByteView(data + at, run));
        if (result.inPlace > 0)
            out.push_back({at, result.inPlace, {}});
        if (!result.tail.empty())
            out.push_back({0, 0, std::move(result.tail)});
        at += run;
    }
}

// `discont` is GstBaseTransform's "DISCONT not yet set on an output", which stays
// true while nothing has gone out (a first buffer shorter than a packet); a gap is
// what the input's own flag says.
GstFlowReturn submitInput(GstBaseTransform* trans, gboolean /*discont*/, GstBuffer* input) {
    auto* self = GST_TS_DESCRAMBLER(trans);
    Impl& impl = *self->impl;
    applySettings(self, impl);
    // Writable without a copy when upstream handed us its only reference.
    GstBuffer* buffer = gst_buffer_make_writable(input);
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READWRITE)) {
        gst_buffer_unref(buffer);
        GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("cannot map buffer"), (nullptr));
        return GST_FLOW_ERROR;
    }
    const std::size_t size = map.size;
    std::vector<Segment> segments;
    // After a gap (data lost upstream), the start of a packet carried from before it
    // has no continuation here: pass it on as it is rather than join it to other bytes.
    const bool carried = GST_BUFFER_IS_DISCONT(buffer) && !impl.carry.empty();
    if (carried) {
        countResync(self, impl, impl.carry.size());
        segments.push_back({0, 0, std::move(impl.carry)});
        impl.carry.clear();
    }
    try {
        splitAndDescramble(self, impl, map.data, size, segments);
    } catch (const std::exception& e) {
        gst_buffer_unmap(buffer, &map);
        gst_buffer_unref(buffer);
        GST_ELEMENT_ERROR(self, STREAM, DECRYPT, ("descrambling failed"), ("%s", e.what()));
        return GST_FLOW_ERROR;
    }
    gst_buffer_unmap(buffer, &map);
    afterProcessing(self, impl);
    // Ranges become sub-buffers sharing the input's memory (made only now: a
    // shared memory can no longer be mapped for writing).
    // The input's timestamps and flags go to the first output holding its bytes;
    // DISCONT only to the first output of all (GstBaseTransform marks that one
    // after a discontinuous input), so a demuxer resynchronises once.
    const std::size_t first = carried ? 1 : 0;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        Segment& s = segments[i];
        GstBuffer* out = nullptr;
        if (!s.bytes.empty()) {
            out = wrapBytes(std::move(s.bytes));
            if (i == first)
                gst_buffer_copy_into(out, buffer, GST_BUFFER_COPY_METADATA, 0, static_cast<gsize>(-1));
        } else if (s.offset == 0 && s.size == size) {
            out = gst_buffer_ref(buffer);
        } else {
            out = gst_buffer_copy_region(buffer, GST_BUFFER_COPY_ALL, s.offset, s.size);
        }
        if (i != 0)
            GST_BUFFER_FLAG_UNSET(out, GST_BUFFER_FLAG_DISCONT);
        impl.ready.push_back(out);
    }
    gst_buffer_unref(buffer);
    return GST_FLOW_OK;
}

// One output buffer per call, in stream order.
GstFlowReturn generateOutput(GstBaseTransform* trans, GstBuffer** out) {
    Impl& impl = implOf(trans);
    *out = nullptr;
    if (!impl.ready.empty()) {
        *out = impl.ready.front();
        impl.ready.pop_front();
    }
    return GST_FLOW_OK;
}

void pushDrained(GstTsDescrambler* self, Impl& impl) {
    GstBaseTransform* trans = GST_BASE_TRANSFORM(self);
    if (!impl.engine)  // not started
        return;
    // Held packets first, then a truncated last packet, both as they are.
    boxoffice::Bytes rest = impl.engine->drain();
    if (!impl.carry.empty()) {
        ++impl.resyncErrors;
        GST_WARNING_OBJECT(self, "stream ends with a truncated packet of %zu bytes", impl.carry.size());
        rest.insert(rest.end(), impl.carry.begin(), impl.carry.end());
        impl.carry.clear();
    }
    afterProcessing(self, impl);
    postStatistics(self, impl, true);
    // Anything an earlier failed push left queued goes first, in order.
    while (!impl.ready.empty()) {
        GstBuffer* queued = impl.ready.front();
        impl.ready.pop_front();
        gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(trans), queued);
    }
    if (!rest.empty())
        gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(trans), wrapBytes(std::move(rest)));
}

gboolean sinkEvent(GstBaseTransform* trans, GstEvent* event) {
    auto* self = GST_TS_DESCRAMBLER(trans);
    Impl& impl = *self->impl;
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
        pushDrained(self, impl);
        break;
    case GST_EVENT_FLUSH_STOP:
        dropPending(impl);
        if (impl.engine)
            impl.engine->reset();
        if (impl.guideCollector) {
            impl.guideCollector = makeGuide(self);
            impl.engine->setGuideCollector(impl.guideCollector.get());
        }
        break;
    default:
        break;
    }
    return GST_BASE_TRANSFORM_CLASS(gst_ts_descrambler_parent_class)->sink_event(trans, event);
}

// Push mode only: packets must arrive in stream order (the engine keeps PSI,
// key and hold state), so a downstream demuxer may not pull at random offsets.
gboolean query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* q) {
    if (direction == GST_PAD_SRC && GST_QUERY_TYPE(q) == GST_QUERY_SCHEDULING) {
        gst_query_set_scheduling(q, GST_SCHEDULING_FLAG_SEQUENTIAL, 1, -1, 0);
        gst_query_add_scheduling_mode(q, GST_PAD_MODE_PUSH);
        return TRUE;
    }
    return GST_BASE_TRANSFORM_CLASS(gst_ts_descrambler_parent_class)->query(trans, direction, q);
}

void finalize(GObject* object) {
    delete GST_TS_DESCRAMBLER(object)->impl;
    G_OBJECT_CLASS(gst_ts_descrambler_parent_class)->finalize(object);
}

} // namespace

static void gst_ts_descrambler_class_init(GstTsDescramblerClass* klass) {
    GST_DEBUG_CATEGORY_INIT(tsdescrambler_debug, "tsdescrambler", 0, "BoxOffice TS descrambler");
    auto* gobject = G_OBJECT_CLASS(klass);
    auto* element = GST_ELEMENT_CLASS(klass);
    auto* trans = GST_BASE_TRANSFORM_CLASS(klass);
    gobject->set_property = setProperty;
    gobject->get_property = getProperty;
    gobject->finalize = finalize;

    constexpr auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
    constexpr auto wo = static_cast<GParamFlags>(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS);
    constexpr auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_property(
        gobject, PropAlgorithm,
        g_param_spec_enum("algorithm", "Algorithm",
                          "Scrambling algorithm (fixed-key mode; in ECM mode the ECM and PMT decide)",
                          algorithmType(), static_cast<gint>(bm::Algorithm::DvbCissa), rw));
    g_object_class_install_property(
        gobject, PropEvenKey,
        g_param_spec_string("even-key", "Even key", "Even control word in hex (fixed-key mode; write-only)",
                            nullptr, wo));
    g_object_class_install_property(
        gobject, PropOddKey,
        g_param_spec_string("odd-key", "Odd key", "Odd control word in hex (fixed-key mode; write-only)", nullptr,
                            wo));
    g_object_class_install_property(
        gobject, PropEventKey,
        g_param_spec_string("event-key", "Event key",
                            "PPV event key in hex: ECM mode with this key for every event (write-only)", nullptr,
                            wo));
    g_object_class_install_property(
        gobject, PropKeyService,
        g_param_spec_pointer("key-service", "Key service",
                             "boxoffice::mpegts::KeyService* (not owned, must outlive the element): ECM mode", wo));
    g_object_class_install_property(
        gobject, PropCaSystemId,
        g_param_spec_uint("ca-system-id", "CA system id", "CA_system_id whose ECMs are followed", 0, 0xFFFF,
                          bm::boxofficeCaSystemId, rw));
    g_object_class_install_property(
        gobject, PropProgramNumber,
        g_param_spec_uint("program-number", "Program number",
                          "Program to follow in ECM mode (0: first with our CA system)", 0, 0xFFFF, 0, rw));
    g_object_class_install_property(
        gobject, PropMaxHeldPackets,
        g_param_spec_uint("max-held-packets", "Max held packets",
                          "Packets held while a key is late before passing them on scrambled", 1, G_MAXUINT, 20000,
                          rw));
    g_object_class_install_property(
        gobject, PropCsa2EntropyReduction,
        g_param_spec_boolean("csa2-entropy-reduction", "CSA2 entropy reduction",
                             "Apply DVB-CSA2 entropy reduction to fixed control words", FALSE, rw));
    g_object_class_install_property(
        gobject, PropStatisticsInterval,
        g_param_spec_uint("statistics-interval", "Statistics interval",
                          "Minimum milliseconds between statistics messages", 0, G_MAXUINT, 1000, rw));
    g_object_class_install_property(
        gobject, PropGuide,
        g_param_spec_boolean("guide", "Guide",
                             "Post EIT events (boxoffice-guide-event) and TDT/TOT time (boxoffice-broadcast-time)",
                             TRUE, rw));
    g_object_class_install_property(
        gobject, PropDescrambled,
        g_param_spec_uint64("descrambled", "Descrambled", "Packets descrambled", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(
        gobject, PropClear, g_param_spec_uint64("clear", "Clear", "Packets that arrived clear", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(
        gobject, PropHeld,
        g_param_spec_uint64("held", "Held", "Packets held waiting for a key", 0, G_MAXUINT64, 0, ro));
    g_object_class_install_property(
        gobject, PropWithoutKey,
        g_param_spec_uint64("without-key", "Without key", "Packets passed on still scrambled", 0, G_MAXUINT64, 0,
                            ro));
    g_object_class_install_property(
        gobject, PropErrors,
        g_param_spec_uint64("errors", "Errors", "Invalid packets, sync losses, PSI and ECM errors", 0, G_MAXUINT64,
                            0, ro));

    gst_element_class_add_static_pad_template(element, &sinkTemplate);
    gst_element_class_add_static_pad_template(element, &srcTemplate);
    gst_element_class_set_static_metadata(
        element, "BoxOffice TS descrambler", "Filter/Decryptor/Video",
        "Descrambles MPEG-TS (DVB-CISSA, DVB-CSA2, ATIS-IDSA) with fixed control words or from ECMs",
        "BoxOffice");

    trans->start = start;
    trans->stop = stop;
    trans->submit_input_buffer = submitInput;
    trans->generate_output = generateOutput;
    trans->sink_event = sinkEvent;
    trans->query = query;
    trans->passthrough_on_same_caps = FALSE;
}

static void gst_ts_descrambler_init(GstTsDescrambler* self) {
    self->impl = new Impl();
    gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
