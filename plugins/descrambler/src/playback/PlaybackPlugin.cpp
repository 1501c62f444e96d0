// STB plugin "descrambler": plays a (scrambled) transport stream through
//   <source> ! tsdescrambler ! tsparse ! tsdemux ! decodebin ! <sinks>
// with control words from the KeyService that the ticket wallet publishes.
//
// Configuration (plugins.descrambler.*): videoSink (default "fakesink"),
// audioSink (default "fakesink"), ticketTimeoutMs (default 3000).
// JSON-RPC:
//   descrambler.1.play {uri, [program]} (scope "control") -> {state: "playing"|"waiting"}
//       uri: file:///path, udp://host:port or rtp://host:port. Zapping = play again.
//       Error PermissionDenied "no ticket covers event N" when the key service has
//       no key for the ECMs of the selected service.
//   descrambler.1.stop (scope "control"); descrambler.1.status (scope "read"):
//       state, uri, program, the element's five counters, and "timeline": milliseconds
//       from the play request to "firstEcmMs" (the first ECM the key service opened:
//       control words ready) and "firstFrameMs" (the first decoded video frame), each
//       present once it happened (end-to-end latency, tests/bench/e2e).
//   descrambler.1.snapshot {name} (scope "control") -> {path, width, height}: the
//       last decoded video frame as PNG in <dataDirectory>/snapshots/<name>.png;
//       Error Unavailable when nothing is playing or no frame was decoded yet.
//   event descrambler.1.notice {kind, text} (scope "read")

#include "../gst/TsDescrambler.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/host/Plugin.h>
#include <boxoffice/mpegts/KeyService.h>

#include <Poco/JSON/Object.h>

#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

namespace boxoffice::plugins::descrambler {

using Poco::Dynamic::Var;

namespace {

// The wallet's key service, noting when it first gave control words (status "timeline").
class TimedKeyService final : public mpegts::KeyService {
public:
    TimedKeyService(std::shared_ptr<mpegts::KeyService> inner, std::function<void()> firstKey)
        : inner_(std::move(inner)), firstKey_(std::move(firstKey)) {}
    std::optional<mpegts::ControlWords> onEcm(ByteView section, std::string& reason) noexcept override {
        auto words = inner_->onEcm(section, reason);
        if (words && !opened_.exchange(true))
            firstKey_();
        return words;
    }

private:
    std::shared_ptr<mpegts::KeyService> inner_;
    std::function<void()> firstKey_;
    std::atomic<bool> opened_{false};
};

std::string sourceFor(const std::string& uri) {
    auto quoteSafe = [](const std::string& s) {
        for (char c : s)
            if (c == '"' || c == '!' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
                throw Error(ErrorCode::InvalidArgument, "uri contains a character that is not allowed");
        return s;
    };
    auto hostPort = [&](const std::string& rest) {
        const auto colon = rest.rfind(':');
        if (colon == std::string::npos || colon == 0)
            throw Error(ErrorCode::InvalidArgument, "uri needs host:port");
        const auto text = rest.substr(colon + 1);
        int port = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
        if (ec != std::errc() || end != text.data() + text.size() || port <= 0 || port > 65535)
            throw Error(ErrorCode::InvalidArgument, "uri port '" + text + "' is not a number in 1..65535");
        return "address=\"" + quoteSafe(rest.substr(0, colon)) + "\" port=" + std::to_string(port);
    };
    if (uri.rfind("file://", 0) == 0)
        return "filesrc location=\"" + quoteSafe(uri.substr(7)) + "\"";
    if (uri.rfind("udp://", 0) == 0)
        return "udpsrc " + hostPort(uri.substr(6)) + " caps=\"video/mpegts,systemstream=(boolean)true\"";
    if (uri.rfind("rtp://", 0) == 0)
        return "udpsrc " + hostPort(uri.substr(6)) +
               " caps=\"application/x-rtp,media=(string)video,encoding-name=(string)MP2T,clock-rate=(int)90000\""
               " ! rtpmp2tdepay";
    throw Error(ErrorCode::InvalidArgument, "unsupported uri (file://, udp://, rtp://)");
}

} // namespace

class PlaybackPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override {
        try {
            context_ = &context;
            GError* error = nullptr;
            if (!gst_init_check(nullptr, nullptr, &error)) {
                std::string reason = error ? error->message : "gst_init failed";
                g_clear_error(&error);
                return reason;
            }
            // The element may come from GST_PLUGIN_PATH; otherwise register our copy.
            if (GstElementFactory* f = gst_element_factory_find("tsdescrambler"))
                gst_object_unref(f);
            else if (!GST_ELEMENT_REGISTER(tsdescrambler, nullptr))
                return "cannot register the tsdescrambler element";
            videoSink_ = context.config().getString("videoSink", "fakesink");
            audioSink_ = context.config().getString("audioSink", "fakesink");
            timeout_ = std::chrono::milliseconds(context.config().getInt("ticketTimeoutMs", 3000));
            context.addEvent("descrambler.1.notice", "read");
            context.addMethod("descrambler.1.play", "control", [this](const rpc::Request& r) { return play(r); });
            context.addMethod("descrambler.1.stop", "control", [this](const rpc::Request&) -> Var {
                stop();
                return true;
            });
            context.addMethod("descrambler.1.status", "read", [this](const rpc::Request&) { return status(); });
            context.addMethod("descrambler.1.snapshot", "control", [this](const rpc::Request& r) { return snapshot(r); });
            return {};
        } catch (const std::exception& e) {
            return e.what();
        }
    }

    void deinitialize() override { stop(); }

private:
    Var play(const rpc::Request& r) {
        const std::string uri = r.string("uri");
        const auto program = r.optionalInteger("program").value_or(0);
        if (program < 0 || program > 0xFFFF)
            throw Error(ErrorCode::InvalidArgument, "program is a 16-bit program_number");
        const auto requested = std::chrono::steady_clock::now();
        auto wallet = context_->services().find<mpegts::KeyService>();
        if (!wallet)
            throw Error(ErrorCode::Unavailable, "no key service is published (is the ticket wallet running?)");
        auto keys = std::make_shared<TimedKeyService>(std::move(wallet), [this] {
            const auto now = std::chrono::steady_clock::now();
            std::lock_guard lock(mutex_);
            firstEcm_ = now;
        });
        const std::string description = sourceFor(uri) +
                                        " ! tsdescrambler name=descrambler program-number=" + std::to_string(program) +
                                        " ! tsparse ! tsdemux name=demux"
                                        // capsfilters steer each demuxer pad to its branch
                                        " demux. ! capsfilter caps=\"video/mpeg;video/x-h264;video/x-h265\""
                                        " ! queue ! decodebin ! videoconvert ! tee name=picture-tee"
                                        " picture-tee. ! queue ! " + videoSink_ +
                                        // keeps the last frame for descrambler.1.snapshot
                                        " picture-tee. ! queue leaky=downstream max-size-buffers=2"
                                        " ! fakesink name=picture sync=false enable-last-sample=true" +
                                        " demux. ! capsfilter caps=\"audio/mpeg;audio/x-ac3;audio/x-eac3\""
                                        " ! queue ! decodebin ! audioconvert ! " + audioSink_;
        stop();  // zapping: the previous service goes first
        GError* error = nullptr;
        GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
        if (!pipeline || error) {
            std::string reason = error ? error->message : "cannot build the pipeline";
            g_clear_error(&error);
            if (pipeline)
                gst_object_unref(pipeline);
            throw Error(ErrorCode::InvalidArgument, "cannot build the playback pipeline: " + reason);
        }
        GstElement* element = gst_bin_get_by_name(GST_BIN(pipeline), "descrambler");
        // The wallet's key service outlives the pipeline: we hold a reference.
        g_object_set(element, "key-service", static_cast<mpegts::KeyService*>(keys.get()), nullptr);
        gst_object_unref(element);
        // The first buffer into the picture tee is the first decoded video frame.
        if (GstElement* tee = gst_bin_get_by_name(GST_BIN(pipeline), "picture-tee")) {
            GstPad* pad = gst_element_get_static_pad(tee, "sink");
            gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &PlaybackPlugin::onFirstFrame, this, nullptr);
            gst_object_unref(pad);
            gst_object_unref(tee);
        }
        {
            std::lock_guard lock(mutex_);
            pipeline_ = pipeline;
            requested_ = requested;
            firstEcm_.reset();
            firstFrame_.reset();
            keys_ = keys;
            uri_ = uri;
            program_ = static_cast<int>(program);
            noTicket_.reset();
            playing_ = false;
            ended_ = false;
        }
        GstBus* bus = gst_element_get_bus(pipeline);
        gst_bus_set_sync_handler(bus, &PlaybackPlugin::onMessage, this, nullptr);
        gst_object_unref(bus);
        if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
            stop();
            throw Error(ErrorCode::Unavailable, "the playback pipeline does not start");
        }
        // Wait until it plays, ends, or the key service turns the service down.
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, timeout_, [this] { return playing_ || ended_ || noTicket_.has_value(); });
        if (noTicket_) {
            const std::string reason = *noTicket_;
            lock.unlock();
            stop();
            throw Error(ErrorCode::PermissionDenied, "no ticket covers this event: " + reason);
        }
        Poco::JSON::Object::Ptr result = new Poco::JSON::Object;
        result->set("state", playing_ || ended_ ? "playing" : "waiting");
        return result;
    }

    static GstPadProbeReturn onFirstFrame(GstPad*, GstPadProbeInfo*, gpointer data) {
        auto* self = static_cast<PlaybackPlugin*>(data);
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(self->mutex_);
        self->firstFrame_ = now;
        return GST_PAD_PROBE_REMOVE;
    }

    static GstBusSyncReply onMessage(GstBus*, GstMessage* message, gpointer data) {
        auto* self = static_cast<PlaybackPlugin*>(data);
        const GstStructure* s = gst_message_get_structure(message);
        switch (GST_MESSAGE_TYPE(message)) {
        case GST_MESSAGE_ELEMENT:
            if (s && gst_structure_has_name(s, "boxoffice-descrambler-notice")) {
                const std::string kind = gst_structure_get_string(s, "kind");
                const std::string text = gst_structure_get_string(s, "text");
                if (kind == "ecm-rejected") {
                    std::lock_guard lock(self->mutex_);
                    if (!self->playing_)
                        self->noTicket_ = text;
                    self->changed_.notify_all();
                }
                Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
                params->set("kind", kind);
                params->set("text", text);
                self->context_->emit("descrambler.1.notice", params);
            } else if (s && gst_structure_has_name(s, "boxoffice-descrambler-statistics")) {
                std::lock_guard lock(self->mutex_);
                guint64 v = 0;
                if (gst_structure_get_uint64(s, "descrambled", &v) && v > 0) {
                    self->playing_ = true;
                    self->changed_.notify_all();
                }
            }
            break;
        case GST_MESSAGE_EOS:
        case GST_MESSAGE_ERROR: {
            std::lock_guard lock(self->mutex_);
            self->ended_ = true;
            if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
                GError* e = nullptr;
                gst_message_parse_error(message, &e, nullptr);
                self->lastError_ = e ? e->message : "error";
                g_clear_error(&e);
            }
            self->changed_.notify_all();
            break;
        }
        default:
            break;
        }
        return GST_BUS_DROP;
    }

    Var status() {
        Poco::JSON::Object::Ptr result = new Poco::JSON::Object;
        std::lock_guard lock(mutex_);
        result->set("state", !pipeline_ ? "stopped" : ended_ ? "ended" : playing_ ? "playing" : "waiting");
        result->set("uri", uri_);
        result->set("program", program_);
        if (!lastError_.empty())
            result->set("error", lastError_);
        if (pipeline_) {
            GstElement* element = gst_bin_get_by_name(GST_BIN(pipeline_), "descrambler");
            for (const char* name : {"descrambled", "clear", "held", "without-key", "errors"}) {
                guint64 v = 0;
                g_object_get(element, name, &v, nullptr);
                result->set(name, static_cast<Poco::UInt64>(v));
            }
            gst_object_unref(element);
            Poco::JSON::Object::Ptr timeline = new Poco::JSON::Object;
            const auto since = [this](std::chrono::steady_clock::time_point t) {
                return std::chrono::duration<double, std::milli>(t - requested_).count();
            };
            if (firstEcm_)
                timeline->set("firstEcmMs", since(*firstEcm_));
            if (firstFrame_)
                timeline->set("firstFrameMs", since(*firstFrame_));
            result->set("timeline", timeline);
        }
        return result;
    }

    Var snapshot(const rpc::Request& r) {
        const std::string name = r.string("name");
        const bool nameOk = !name.empty() && name.size() <= 64 &&
                            std::all_of(name.begin(), name.end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                            });
        if (!nameOk)
            throw Error(ErrorCode::InvalidArgument, "name must be 1-64 letters, digits, '-' or '_'");
        GstElement* pipeline = nullptr;
        {
            std::lock_guard lock(mutex_);
            if (pipeline_)
                pipeline = GST_ELEMENT(gst_object_ref(pipeline_));
        }
        if (!pipeline)
            throw Error(ErrorCode::Unavailable, "no picture: nothing is playing");
        GstSample* sample = nullptr;
        if (GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "picture")) {
            g_object_get(sink, "last-sample", &sample, nullptr);
            gst_object_unref(sink);
        }
        gst_object_unref(pipeline);
        if (!sample)
            throw Error(ErrorCode::Unavailable, "no picture: no video frame has been decoded yet");
        GstCaps* png = gst_caps_new_empty_simple("image/png");
        GError* error = nullptr;
        GstSample* converted = gst_video_convert_sample(sample, png, 5 * GST_SECOND, &error);
        gst_caps_unref(png);
        GstVideoInfo info;
        const bool haveInfo = gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
        gst_sample_unref(sample);
        if (!converted) {
            const std::string reason = error ? error->message : "conversion failed";
            g_clear_error(&error);
            throw Error(ErrorCode::Internal, "cannot encode the frame as PNG: " + reason);
        }
        const auto directory = context_->dataDirectory() / "snapshots";
        std::filesystem::create_directories(directory);
        const auto path = directory / (name + ".png");
        GstMapInfo map;
        GstBuffer* buffer = gst_sample_get_buffer(converted);
        if (!buffer || !gst_buffer_map(buffer, &map, GST_MAP_READ)) {
            gst_sample_unref(converted);
            throw Error(ErrorCode::Internal, "cannot read the encoded frame");
        }
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(map.data), static_cast<std::streamsize>(map.size));
        out.close();
        gst_buffer_unmap(buffer, &map);
        gst_sample_unref(converted);
        if (!out)
            throw Error(ErrorCode::Io, "cannot write " + path.string());
        Poco::JSON::Object::Ptr result = new Poco::JSON::Object;
        result->set("path", path.string());
        result->set("width", haveInfo ? GST_VIDEO_INFO_WIDTH(&info) : 0);
        result->set("height", haveInfo ? GST_VIDEO_INFO_HEIGHT(&info) : 0);
        return result;
    }

    void stop() {
        GstElement* pipeline = nullptr;
        {
            std::lock_guard lock(mutex_);
            pipeline = pipeline_;
            pipeline_ = nullptr;
        }
        if (pipeline) {
            gst_element_set_state(pipeline, GST_STATE_NULL);
            gst_object_unref(pipeline);
        }
        std::lock_guard lock(mutex_);
        keys_.reset();
        lastError_.clear();
    }

    host::PluginContext* context_ = nullptr;
    std::string videoSink_, audioSink_;
    std::chrono::milliseconds timeout_{3000};
    std::mutex mutex_;
    std::condition_variable changed_;
    GstElement* pipeline_ = nullptr;
    std::shared_ptr<mpegts::KeyService> keys_;
    std::chrono::steady_clock::time_point requested_;
    std::optional<std::chrono::steady_clock::time_point> firstEcm_, firstFrame_;
    std::string uri_;
    int program_ = 0;
    std::optional<std::string> noTicket_;
    std::string lastError_;
    bool playing_ = false;
    bool ended_ = false;
};

} // namespace boxoffice::plugins::descrambler

namespace {
const char* const kNeeds[] = {nullptr};
const char* const kProvides[] = {"playback", nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::descrambler::PlaybackPlugin,
                 (BoxOfficePluginManifest{"descrambler", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN,
                                          BOXOFFICE_HOST_API_RANGE_MAX, kNeeds, kProvides,
                                          "Plays scrambled MPEG-TS services with keys from the ticket wallet"}))
