// The server's `sync` plugin: STB history upload and the settlement of history
// batches carried by the phone (serversync::HistorySync) over the REST API.
// Configuration (plugins.sync.*):
//   keys   boxoffice-keytool key directory (root, server signing + agreement keys); when
//          missing the plugin runs without routes (a warning says so)
// Needs the settlement plugin (devices, events, orders, phones on the same database).

#include <boxoffice/serversync/Routes.h>

#include <boxoffice/host/Plugin.h>
#include <boxoffice/serverapi/DatabaseService.h>

#include <Poco/Util/AbstractConfiguration.h>

#include <memory>

namespace {

using namespace boxoffice;

class ServerSyncPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            const auto& c = context.config();
            const std::string keys = c.getString("keys", "");
            name_ = context.pluginName();
            if (keys.empty()) {
                // Not configured: the server runs without history sync (its routes answer 404).
                context.logger().warning("sync: plugins.sync.keys (the boxoffice-keytool key directory) is not set: "
                                         "STB history upload and phone-carried batches are off");
                return {};
            }
            database_ = context.services().require<serverapi::DatabaseService>();
            router_ = context.services().require<serverapi::Router>();
            ledger_ = std::make_unique<ledger::Ledger>(*database_->database);
            sync_ = std::make_unique<serversync::HistorySync>(*ledger_, serversync::ServerKeys::load(keys),
                                                              &serversync::HistorySync::systemClock,
                                                              router_->revocations());
            serversync::addRoutes(*router_, *sync_, name_);
            return {};
        } catch (const std::exception& e) {
            if (router_) router_->removeOwner(context.pluginName());
            sync_.reset();
            ledger_.reset();
            return e.what();
        }
    }

    void deinitialize() override
    {
        if (router_) router_->removeOwner(name_);
        sync_.reset();
        ledger_.reset();
    }

private:
    std::string name_;
    std::shared_ptr<serverapi::DatabaseService> database_;
    std::shared_ptr<serverapi::Router> router_;
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<serversync::HistorySync> sync_;
};

const char* const kNeeds[] = {"https", "settlement", nullptr};
const char* const kProvides[] = {"history-sync", nullptr};

} // namespace

BOXOFFICE_PLUGIN(ServerSyncPlugin,
                 (BoxOfficePluginManifest{"sync", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "STB history upload and settlement of history batches carried by the phone"}))
