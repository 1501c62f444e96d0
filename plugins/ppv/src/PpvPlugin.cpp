// The ppv plugin: ticket wallet, catalog, purchase flow (DESIGN §5 flows 3, 6, 7, 8).
// Contract: plugins/ppv/README.md.

#include <boxoffice/host/Plugin.h>
#include <boxoffice/ppv/Wallet.h>

namespace boxoffice::plugins::ppv {

class PpvPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        context_ = &context;
        return {};
    }
    void deinitialize() override {}

private:
    host::PluginContext* context_ = nullptr;
};

} // namespace boxoffice::plugins::ppv

namespace {
const char* const kNeeds[] = {"billing", nullptr};
const char* const kProvides[] = {"wallet", "key-service", nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::ppv::PpvPlugin,
                 (BoxOfficePluginManifest{"ppv", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides, "PPV catalog, purchase flow and ticket wallet"}))
