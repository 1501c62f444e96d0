// The sync plugin: the STB's line to the operator server (publishes sync::ServerLink).
// Stub for now: the service interface is fixed so dependants can build.

#include <boxoffice/host/Plugin.h>
#include <boxoffice/sync/ServerLink.h>

namespace boxoffice::plugins::sync {

class SyncPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext&) override { return {}; }
    void deinitialize() override {}
};

} // namespace boxoffice::plugins::sync

namespace {
const char* const kNeeds[] = {nullptr};
const char* const kProvides[] = {nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::sync::SyncPlugin,
                 (BoxOfficePluginManifest{"sync", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "The line to the operator server: history upload, trusted time, "
                                          "revocations, store-and-forward"}))
