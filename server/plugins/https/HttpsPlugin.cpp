// The `https` server plugin. Configuration (plugins.https.*):
//   database            connection string (default sqlite:<data directory>/server.db)
//   address, port       where to listen (default 0.0.0.0:8443; port 0 picks one)
//   portFile            file to write the bound port to (optional)
//   certificate, privateKey   the server's TLS certificate and key (PEM)
//   clientCa            the TLS CA of device client certificates
//   revocations, rootJson     root-signed revocation list + root trust anchor (optional); read at
//                             start: past its next update it is still used, with a warning and in /metrics
//   operatorTokens[i].client / .sha256    operator bearer tokens, digests only
//   maxBodyBytes, requestsPerSecond, requestBurst, maxThreads

#include <boxoffice/host/Plugin.h>
#include <boxoffice/serverapi/DatabaseService.h>
#include <boxoffice/serverapi/Server.h>

#include <Poco/Util/AbstractConfiguration.h>

#include <fstream>
#include <memory>

namespace {

using namespace boxoffice;

class HttpsPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            const auto& c = context.config();
            const auto connection =
                c.getString("database", "sqlite:" + (context.dataDirectory() / "server.db").string());
            auto database = std::make_shared<storage::Database>(connection);
            serverapi::ServerOptions o;
            o.address = c.getString("address", "0.0.0.0");
            o.port = static_cast<std::uint16_t>(c.getUInt("port", 8443));
            o.certificate = c.getString("certificate");
            o.privateKey = c.getString("privateKey");
            o.clientCa = c.getString("clientCa");
            o.revocations = c.getString("revocations", "");
            o.rootJson = c.getString("rootJson", "");
            o.maxBodyBytes = c.getUInt("maxBodyBytes", 64 * 1024);
            o.requestsPerSecond = c.getDouble("requestsPerSecond", 500);
            o.requestBurst = c.getDouble("requestBurst", 1000);
            o.maxThreads = c.getInt("maxThreads", 16);
            server_ = std::make_shared<serverapi::Server>(o, *database, context.logger());
            for (int i = 0; c.has("operatorTokens[" + std::to_string(i) + "].sha256"); ++i) {
                const auto prefix = "operatorTokens[" + std::to_string(i) + "].";
                server_->addOperatorToken(c.getString(prefix + "client", "operator"), c.getString(prefix + "sha256"));
            }
            server_->start();
            if (c.has("portFile")) {
                const auto file = c.getString("portFile");
                std::ofstream(file + ".tmp") << server_->port() << "\n";
                std::filesystem::rename(file + ".tmp", file);
            }
            context.logger().information("REST API on https://%s:%hu (%s)", o.address, server_->port(),
                                         database->description());
            context.services().publish<serverapi::Router>(server_, context.pluginName());
            context.services().publish<serverapi::DatabaseService>(
                std::make_shared<serverapi::DatabaseService>(serverapi::DatabaseService{database}),
                context.pluginName());
            database_ = std::move(database);
            context_ = &context;
            return {};
        } catch (const std::exception& e) {
            server_.reset();
            return e.what();
        }
    }

    void deinitialize() override
    {
        context_->services().withdraw<serverapi::Router>(context_->pluginName());
        context_->services().withdraw<serverapi::DatabaseService>(context_->pluginName());
        server_->stop();
        server_.reset();
        database_.reset();
    }

private:
    host::PluginContext* context_ = nullptr;
    std::shared_ptr<serverapi::Server> server_;
    std::shared_ptr<storage::Database> database_;
};

const char* const kNeeds[] = {nullptr};
const char* const kProvides[] = {"rest-api", nullptr};

} // namespace

BOXOFFICE_PLUGIN(HttpsPlugin, (BoxOfficePluginManifest{"https", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN,
                                                       BOXOFFICE_HOST_API_RANGE_MAX, kNeeds, kProvides,
                                                       "REST API over HTTPS: mTLS devices, signed phones, operators"}))
