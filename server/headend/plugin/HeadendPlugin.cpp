// Server plugin "headend": scrambles clear transport streams of the operator's
// media directory for broadcast, through the headend library.
//
// Configuration (plugins.headend.*): mediaDirectory (default: the plugin's data
// directory). JSON-RPC (scope "operator"):
//   headend.1.scrambleFile {input, output, eventKey (hex), eventId,
//       [algorithm], [cryptoPeriod] (s), [ppvEvents: [{eventId, start, duration, name}]]}
//     -> {packetsIn, packetsOut, scrambled, ecmPackets, cryptoPeriods}
//   headend.1.info -> {caSystemId, algorithms, mediaDirectory}
// File names are plain names inside the media directory (no '/', no '..').

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>
#include <boxoffice/host/Plugin.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <filesystem>

namespace boxoffice::server::headend {

using Poco::Dynamic::Var;

class HeadendPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override {
        try {
            media_ = context.config().getString("mediaDirectory", context.dataDirectory().string());
            if (!std::filesystem::is_directory(media_))
                return "mediaDirectory " + media_.string() + " is not a directory";
            logger_ = &context.logger();
            context.addMethod("headend.1.scrambleFile", "operator",
                              [this](const rpc::Request& r) { return scrambleFile(r); });
            context.addMethod("headend.1.info", "operator", [this](const rpc::Request&) -> Var {
                Poco::JSON::Object::Ptr info = new Poco::JSON::Object;
                info->set("caSystemId", static_cast<int>(mpegts::boxofficeCaSystemId));
                Poco::JSON::Array::Ptr algorithms = new Poco::JSON::Array;
                for (auto a : {mpegts::Algorithm::DvbCissa, mpegts::Algorithm::DvbCsa2, mpegts::Algorithm::AtisIdsa})
                    algorithms->add(std::string(mpegts::toString(a)));
                info->set("algorithms", algorithms);
                info->set("mediaDirectory", media_.string());
                return info;
            });
            return {};
        } catch (const std::exception& e) {
            return e.what();
        }
    }

    void deinitialize() override {}

private:
    std::filesystem::path mediaFile(const std::string& name) const {
        if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
            name.find('\0') != std::string::npos)
            throw Error(ErrorCode::InvalidArgument, "file names are plain names inside the media directory");
        return media_ / name;
    }

    Var scrambleFile(const rpc::Request& r) {
        boxoffice::headend::HeadendConfig config;
        const auto input = mediaFile(r.string("input"));
        const auto output = mediaFile(r.string("output"));
        if (input == output)
            throw Error(ErrorCode::InvalidArgument, "input and output must differ");
        config.eventKey = crypto::SecretBytes(fromHex(r.string("eventKey"), "eventKey"));
        const auto eventId = r.integer("eventId");
        if (eventId < 0 || eventId > 0xFFFF)
            throw Error(ErrorCode::InvalidArgument, "eventId is a 16-bit EIT event_id");
        config.eventId = static_cast<std::uint16_t>(eventId);
        if (auto a = r.optionalString("algorithm"))
            config.algorithm = mpegts::algorithmFromString(*a);
        if (auto cp = r.optionalInteger("cryptoPeriod"))
            config.cryptoPeriodSeconds = static_cast<double>(*cp);
        const bool hasEvents = r.params().type() == typeid(Poco::JSON::Object::Ptr) &&
                               r.params().extract<Poco::JSON::Object::Ptr>()->has("ppvEvents");
        if (hasEvents) {
            const auto events = r.array("ppvEvents");
            for (std::size_t i = 0; i < events->size(); ++i) {
                const auto e = events->getObject(static_cast<unsigned>(i));
                if (!e)
                    throw Error(ErrorCode::InvalidArgument, "ppvEvents holds objects");
                boxoffice::headend::PpvEvent event;
                event.eventId = static_cast<std::uint16_t>(e->getValue<int>("eventId"));
                event.start = e->getValue<std::int64_t>("start");
                event.duration = e->getValue<std::uint32_t>("duration");
                event.name = e->optValue<std::string>("name", "");
                config.events.push_back(event);
            }
        }
        const auto stats = boxoffice::headend::scrambleFile(input.string(), output.string(), config);
        logger_->information("scrambled %s -> %s (%s, event %d)", input.filename().string(),
                             output.filename().string(), std::string(mpegts::toString(config.algorithm)),
                             static_cast<int>(config.eventId));
        Poco::JSON::Object::Ptr result = new Poco::JSON::Object;
        result->set("packetsIn", stats.packetsIn);
        result->set("packetsOut", stats.packetsOut);
        result->set("scrambled", stats.scrambled);
        result->set("ecmPackets", stats.ecmPackets);
        result->set("cryptoPeriods", stats.cryptoPeriods);
        return result;
    }

    std::filesystem::path media_;
    Poco::Logger* logger_ = nullptr;
};

} // namespace boxoffice::server::headend

namespace {
const char* const kNeeds[] = {nullptr};
const char* const kProvides[] = {"scrambling", nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::server::headend::HeadendPlugin,
                 (BoxOfficePluginManifest{"headend", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN,
                                          BOXOFFICE_HOST_API_RANGE_MAX, kNeeds, kProvides,
                                          "Scrambles transport streams, inserts ECMs and PPV signalling"}))
