// The sync plugin: the STB's line to the operator server. Publishes sync::ServerLink
// (HTTPS, mutual TLS with the device certificate) for ppv and others, and runs the
// sync worker (SyncEngine.h): history upload + acknowledgements + settlement results,
// trusted time, revocations, store-and-forward with backoff. Publishes sync::ServerTrust
// (server certificates checked at trusted time against the root's revocations, and the
// certificate the server presented last) for billing's settlement results and sealing.
// JSON-RPC: sync.1.status,
// sync.1.syncNow; registration (Registration.h): sync.1.register, sync.1.registration,
// event sync.1.registrationChanged.
//
// Configuration (plugins.sync.*):
//   host, port          the operator server (port 0 or missing: no line, ServerLink answers Unavailable)
//   deviceDirectory     a boxoffice-keytool device directory: tls.crt, tls.key.pem, tls-ca.crt
//   clientCertificate, clientKey, serverCa   override the files of deviceDirectory
//   trustAnchor         the operator root (root.json): server certificate, revocation lists
//   serverCertificate   the server's wire certificate (verifies trusted time and the server's list
//                       until the server presents one in an answer, and whenever that one fails)
//   serverCertificateFile  where the certificate the server presented is kept (default
//                       <data>/server-certificate.bin; ppv and billing read it there)
//   database            the outbox (default <data>/outbox.db)
//   clockState          the trusted clock's state file (default <data>/clock.state), sealed with
//   machineSecret       (default <data>/machine-secret)
//   revocationsFile     the server's verified revocation list kept for the wallet (default <data>/revocations.bin)
//   rootRevocationsFile the operator root's verified list kept for the wallet (default root-revocations.bin
//                       beside revocationsFile; ppv uses the same default)
//   retryInitialMs (1000), retryMaxSeconds (300), pollSeconds (60), timeSeconds (3600),
//   revocationSeconds (900), batchRecords (64)
//   deviceCertificate   the device's wire certificate for registration (default <deviceDirectory>/device.cert)
//   registrationPollSeconds (3)   how often a pending registration code is checked

#include "HttpsLink.h"
#include "Registration.h"
#include "SyncEngine.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/host/Plugin.h>
#include <boxoffice/sync/ServerLink.h>
#include <boxoffice/sync/ServerTrust.h>
#include <boxoffice/trust/KeyFiles.h>

#include <Poco/JSON/Object.h>

#include <memory>

namespace boxoffice::plugins::sync {

namespace {

std::filesystem::path pathOf(const Poco::Util::AbstractConfiguration& config, const std::string& key,
                             const std::filesystem::path& fallback)
{
    const std::string value = config.getString(key, "");
    return value.empty() ? fallback : std::filesystem::path(value);
}

Poco::JSON::Object::Ptr toJson(const SyncStatus& s)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("configured", s.configured);
    o->set("online", s.online);
    o->set("lastSync", s.lastSync);
    o->set("queueLength", s.queueLength);
    o->set("unacknowledged", s.unacknowledged);
    o->set("acknowledgedThrough", s.acknowledgedThrough);
    o->set("settledThrough", s.settledThrough);
    o->set("trustedTime", s.trustedTime);
    o->set("revocationSequence", s.revocationSequence);
    o->set("rootRevocationSequence", s.rootRevocationSequence);
    o->set("rootRevocationNextUpdate", s.rootRevocationNextUpdate);
    o->set("rootRevocationsOverdue", s.rootRevocationsOverdue);
    o->set("lastError", s.lastError);
    return o;
}

} // namespace

class SyncPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            context_ = &context;
            const auto& c = context.config();
            const auto data = context.dataDirectory();
            auto history = context.services().require<billing::History>();

            LinkOptions link;
            link.host = c.getString("host", "localhost");
            const auto port = c.getInt("port", 0);
            if (port < 0 || port > 65535) throw Error(ErrorCode::InvalidArgument, "plugins.sync.port must be 0..65535");
            link.port = static_cast<std::uint16_t>(port);
            const auto device = pathOf(c, "deviceDirectory", {});
            link.clientCertificate = pathOf(c, "clientCertificate", device.empty() ? device : device / "tls.crt");
            link.clientKey = pathOf(c, "clientKey", device.empty() ? device : device / "tls.key.pem");
            link.serverCa = pathOf(c, "serverCa", device.empty() ? device : device / "tls-ca.crt");
            if (link.port != 0 && (link.clientCertificate.empty() || link.clientKey.empty() || link.serverCa.empty()))
                throw Error(ErrorCode::InvalidArgument,
                            "plugins.sync needs deviceDirectory (or clientCertificate, clientKey and serverCa)");

            EngineOptions options;
            options.backoff.initialMs = c.getInt64("retryInitialMs", 1000);
            options.backoff.maxMs = c.getInt64("retryMaxSeconds", 300) * 1000;
            options.pollMs = c.getInt64("pollSeconds", 60) * 1000;
            options.timeEveryMs = c.getInt64("timeSeconds", 3600) * 1000;
            options.revocationsEveryMs = c.getInt64("revocationSeconds", 900) * 1000;
            options.batchRecords = static_cast<std::size_t>(c.getInt("batchRecords", 64));
            if (options.batchRecords < 1 || options.batchRecords > 100)
                throw Error(ErrorCode::InvalidArgument, "plugins.sync.batchRecords must be 1..100");
            std::optional<trust::TrustAnchor> root;
            if (const auto anchor = c.getString("trustAnchor", ""); !anchor.empty()) root = trust::loadTrustAnchor(anchor);
            if (const auto server = c.getString("serverCertificate", ""); !server.empty())
                options.serverCertificate = trust::loadCertificate(server);
            options.serverCertificateFile = pathOf(c, "serverCertificateFile", data / "server-certificate.bin");
            options.revocationsFile = pathOf(c, "revocationsFile", data / "revocations.bin");
            options.rootRevocationsFile = pathOf(c, "rootRevocationsFile",
                                                 options.revocationsFile.empty()
                                                     ? options.revocationsFile
                                                     : options.revocationsFile.parent_path() / "root-revocations.bin");

            auto sealer = std::make_shared<trust::MachineSecretSealer>(pathOf(c, "machineSecret", data / "machine-secret"));
            auto clock = std::make_shared<trust::TrustedClock>(pathOf(c, "clockState", data / "clock.state"), sealer);
            trust_ = std::make_shared<ServerTrustState>(std::move(root), clock);

            const auto pollSeconds = c.getInt64("registrationPollSeconds", 3);
            if (pollSeconds < 1 || pollSeconds > 3600)
                throw Error(ErrorCode::InvalidArgument, "plugins.sync.registrationPollSeconds must be 1..3600");

            link_ = std::make_shared<HttpsLink>(std::move(link));
            const auto database = pathOf(c, "database", data / "outbox.db");
            auto outbox = std::make_shared<Outbox>(database);
            engine_ = std::make_unique<SyncEngine>(link_, history, outbox, clock, trust_, std::move(options), context.logger());
            registration_ = std::make_unique<Registration>(
                link_, pathOf(c, "deviceCertificate", device.empty() ? device : device / "device.cert"),
                "sqlite:" + database.string(), std::chrono::seconds(pollSeconds),
                [&context](const RegistrationState& s) { context.emit("sync.1.registrationChanged", toJson(s)); },
                context.logger());
            addApi(context);
            context.services().publish<boxoffice::sync::ServerLink>(link_, context.pluginName());
            // Without a root this plugin holds neither trusted time nor revocations to offer.
            if (trust_->hasRoot()) context.services().publish<boxoffice::sync::ServerTrust>(trust_, context.pluginName());
            engine_->start();
            registration_->start();
            if (!link_->configured()) context.logger().information("sync: no operator server configured: no line");
            return {};
        } catch (const std::exception& e) {
            registration_.reset();
            engine_.reset();
            link_.reset();
            trust_.reset();
            return std::string("sync: ") + e.what();
        }
    }

    void deinitialize() override
    {
        if (registration_) registration_->stop();
        if (engine_) engine_->stop();
        if (context_) {
            context_->services().withdraw<boxoffice::sync::ServerLink>(context_->pluginName());
            context_->services().withdraw<boxoffice::sync::ServerTrust>(context_->pluginName());
        }
        registration_.reset();
        engine_.reset();
        link_.reset();
        trust_.reset();
    }

private:
    void addApi(host::PluginContext& context)
    {
        using Var = Poco::Dynamic::Var;
        context.addMethod("sync.1.status", "read", [this](const rpc::Request&) -> Var { return toJson(engine_->status()); });
        context.addMethod("sync.1.syncNow", "control",
                          [this](const rpc::Request&) -> Var { return toJson(engine_->syncNow()); });
        context.addMethod("sync.1.register", "control",
                          [this](const rpc::Request&) -> Var { return toJson(registration_->begin()); });
        context.addMethod("sync.1.registration", "read",
                          [this](const rpc::Request&) -> Var { return toJson(registration_->current()); });
        context.addEvent("sync.1.registrationChanged", "read");
    }

    host::PluginContext* context_ = nullptr;
    std::shared_ptr<HttpsLink> link_;
    std::shared_ptr<ServerTrustState> trust_;
    std::unique_ptr<SyncEngine> engine_;
    std::unique_ptr<Registration> registration_;
};

} // namespace boxoffice::plugins::sync

namespace {
const char* const kNeeds[] = {"billing", nullptr};
const char* const kProvides[] = {"server-link", nullptr};   // (ServerTrust only with a trust anchor)
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::sync::SyncPlugin,
                 (BoxOfficePluginManifest{"sync", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "The line to the operator server: history upload, trusted time, "
                                          "revocations, store-and-forward"}))
