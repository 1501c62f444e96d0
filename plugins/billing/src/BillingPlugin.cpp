// The billing plugin: opens (and verifies) the device's billing history, publishes
// it as the billing::History service and answers billing.1.* for the TV.
//
// Configuration (plugins.billing.*):
//   database          SQLite file (default <data>/history.db)
//   keyStore          trust::KeyStore directory holding the device identity (default <data>/keys)
//   machineSecret     the KeySealer's secret file (default <data>/machine-secret)
//   deviceDirectory   a boxoffice-keytool device directory imported when the key store is empty
//   trustAnchor       the operator root (root.json): settlement results are checked under it
//                     (through the sync plugin's sync::ServerTrust when it runs: at trusted
//                     time and against the root's revocations)
//   rootRevocationsFile  the root's revocation list the sync plugin keeps, for those checks while
//                     sync is not running (default <data>/../sync/root-revocations.bin, sync's default)
//   serverCertificate the server's certificate (its agreement key seals exported history; it checks
//                     settlement results), the fallback to the one the server presented last:
//                     sync::ServerTrust::presentedServer, or while sync is not running the one sync
//                     keeps in serverCertificateFile (default <data>/../sync/server-certificate.bin)
//   creditLimit       minor units available to purchases made without a line (default 0)
//   currency          ISO 4217 (default EUR)
//   handoff.phoneTimeoutMs  how long a phone may take to upload a handed-off batch (default 60000)
//   handoff.onConnect       hand the history to a trusted phone when it connects without a line (default true)

#include "HistoryStore.h"
#include "PhoneHandoff.h"
#include "RecordJson.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/host/Plugin.h>
#include <boxoffice/sync/ServerTrust.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/KeyStore.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace boxoffice::plugins::billing {

using namespace boxoffice::billing;

namespace {

// Forwards to the store and tells the TV what changed, after the change is committed.
class PublishedHistory final : public History {
public:
    PublishedHistory(std::shared_ptr<HistoryStore> store, host::PluginContext& context)
        : store_(std::move(store)), context_(context) {}

    Record append(const Entry& entry) override
    {
        auto record = store_->append(entry);
        emit("billing.1.recordAdded", toJson(record));
        return record;
    }
    std::vector<Record> appendAll(const std::vector<Entry>& entries) override
    {
        auto records = store_->appendAll(entries);
        for (const auto& record : records) emit("billing.1.recordAdded", toJson(record));
        return records;
    }
    Credit credit() const override { return store_->credit(); }
    Status status() const override { return store_->status(); }
    std::vector<Record> records(std::uint64_t after, std::size_t limit) const override { return store_->records(after, limit); }
    std::vector<Record> recent(std::size_t limit, std::uint64_t before) const override { return store_->recent(limit, before); }
    std::vector<Record> ofTicket(const std::string& ticketId, wire::HistoryKind kind) const override
    {
        return store_->ofTicket(ticketId, kind);
    }
    Statement statement(int year, int month) const override { return store_->statement(year, month); }
    std::optional<Batch> exportUnsettled(std::size_t maxBytes) const override { return store_->exportUnsettled(maxBytes); }
    Settlement applySettlement(ByteView result, ByteView certificate) override
    {
        auto settlement = store_->applySettlement(result, certificate);
        auto params = toJson(settlement);
        params->set("credit", toJson(store_->credit(), store_->status()));
        emit("billing.1.settled", params);
        return settlement;
    }
    void acknowledge(std::uint64_t sequence) override { store_->acknowledge(sequence); }

private:
    void emit(const std::string& event, const Poco::JSON::Object::Ptr& params)
    {
        try {
            context_.emit(event, params);
        } catch (const std::exception& e) {
            context_.logger().warning("event %s not sent: %s", event, std::string(e.what()));
        }
    }

    std::shared_ptr<HistoryStore> store_;
    host::PluginContext& context_;
};

std::filesystem::path pathOf(const Poco::Util::AbstractConfiguration& config, const std::string& key,
                             const std::filesystem::path& fallback)
{
    const std::string value = config.getString(key, "");
    return value.empty() ? fallback : std::filesystem::path(value);
}

std::pair<int, int> currentMonth()
{
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return {tm.tm_year + 1900, tm.tm_mon + 1};
}

} // namespace

class BillingPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            context_ = &context;
            const auto& config = context.config();
            const auto data = context.dataDirectory();

            auto sealer = std::make_shared<trust::MachineSecretSealer>(pathOf(config, "machineSecret", data / "machine-secret"));
            trust::KeyStore keys(pathOf(config, "keyStore", data / "keys"), sealer);
            if (!keys.hasDeviceIdentity()) {
                const std::string provisioning = config.getString("deviceDirectory", "");
                if (provisioning.empty())
                    throw Error(ErrorCode::NotFound, "no device identity in the key store and no deviceDirectory to import");
                keys.putDeviceIdentity(trust::loadDeviceIdentity(provisioning));
            }

            HistoryOptions options;
            options.creditLimit = config.getInt64("creditLimit", 0);
            options.currency = config.getString("currency", "EUR");
            if (const auto root = config.getString("trustAnchor", ""); !root.empty())
                options.root = trust::loadTrustAnchor(root);
            if (const auto server = config.getString("serverCertificate", ""); !server.empty())
                options.serverCertificate = trust::loadCertificate(server);
            // sync starts after billing (it needs the history), so it is looked up per use. While
            // it is not there (not started yet, failed, or not installed) the store checks at the
            // system clock against the root's list sync kept on disk.
            options.verifyServer = [&services = context.services()](const wire::Certificate& c)
                -> std::optional<trust::VerifyingKey> {
                if (const auto trust = services.find<boxoffice::sync::ServerTrust>()) return trust->verifyServer(c);
                return std::nullopt;
            };
            options.rootRevocationsFile =
                pathOf(config, "rootRevocationsFile", data.parent_path() / "sync" / "root-revocations.bin");
            options.presentedServer = [&services = context.services()]() -> std::optional<wire::Certificate> {
                if (const auto trust = services.find<boxoffice::sync::ServerTrust>()) return trust->presentedServer();
                return std::nullopt;
            };
            options.serverCertificateFile =
                pathOf(config, "serverCertificateFile", data.parent_path() / "sync" / "server-certificate.bin");

            store_ = std::make_shared<HistoryStore>(pathOf(config, "database", data / "history.db"),
                                                    keys.deviceIdentity(), std::move(options));
            service_ = std::make_shared<PublishedHistory>(store_, context);
            PhoneHandoff::Options handoffOptions;
            handoffOptions.phoneTimeout =
                std::chrono::milliseconds(config.getInt64("handoff.phoneTimeoutMs", handoffOptions.phoneTimeout.count()));
            handoffOptions.onConnect = config.getBool("handoff.onConnect", handoffOptions.onConnect);
            handoff_ = std::make_unique<PhoneHandoff>(service_, context.services(), handoffOptions);
            addApi(context);
            context.services().publish<History>(service_, context.pluginName());
            const auto s = store_->status();
            context.logger().information("billing history of " + s.deviceId + ": " + std::to_string(s.lastSequence) +
                                         " records, settled through " + std::to_string(s.settledThrough));
            return {};
        } catch (const std::exception& e) {
            handoff_.reset();
            service_.reset();
            store_.reset();
            return std::string("billing: ") + e.what();
        }
    }

    void deinitialize() override
    {
        handoff_.reset();   // stops its worker and leaves the phone channel
        if (context_) context_->services().withdraw<History>(context_->pluginName());
        // Holders of the service keep the store alive until they let go.
        service_.reset();
        store_.reset();
    }

private:
    void addApi(host::PluginContext& context)
    {
        using Var = Poco::Dynamic::Var;
        context.addEvent("billing.1.recordAdded", "read");
        context.addEvent("billing.1.settled", "read");

        context.addMethod("billing.1.history", "read", [this](const rpc::Request& r) -> Var {
            const auto limit = r.optionalInteger("limit").value_or(50);
            if (limit < 1 || limit > 500) throw Error(ErrorCode::InvalidArgument, "limit must be in 1..500");
            const auto before = r.optionalInteger("before").value_or(0);
            if (before < 0) throw Error(ErrorCode::InvalidArgument, "before must not be negative");
            Poco::JSON::Array::Ptr records = new Poco::JSON::Array;
            for (const auto& record : store_->recent(static_cast<std::size_t>(limit), static_cast<std::uint64_t>(before)))
                records->add(toJson(record));
            Poco::JSON::Object::Ptr o = toJson(store_->credit(), store_->status());
            o->set("records", records);
            return o;
        });
        context.addMethod("billing.1.statement", "read", [this](const rpc::Request& r) -> Var {
            const auto [year, month] = currentMonth();
            const auto y = r.optionalInteger("year").value_or(year);
            const auto m = r.optionalInteger("month").value_or(month);
            if (y < 1970 || y > 9999 || m < 1 || m > 12)
                throw Error(ErrorCode::InvalidArgument, "year/month out of range");
            return toJson(store_->statement(static_cast<int>(y), static_cast<int>(m)));
        });
        context.addMethod("billing.1.credit", "read",
                          [this](const rpc::Request&) -> Var { return toJson(store_->credit(), store_->status()); });
        // Flow 5 on demand: hand the unsettled history to a connected trusted phone and
        // apply the settlement result it brings back (blocks until then).
        context.addMethod("billing.1.handoff", "control", [this](const rpc::Request& r) -> Var {
            const auto out = handoff_->handoff(r.optionalString("phoneId").value_or(""));
            Poco::JSON::Object::Ptr o = toJson(out.settlement);
            o->set("phoneId", out.phoneId);
            o->set("firstSequence", out.batch.firstSequence);
            o->set("lastSequence", out.batch.lastSequence);
            o->set("credit", toJson(store_->credit(), store_->status()));
            return o;
        });
    }

    host::PluginContext* context_ = nullptr;
    std::shared_ptr<HistoryStore> store_;
    std::shared_ptr<PublishedHistory> service_;
    std::unique_ptr<PhoneHandoff> handoff_;
};

} // namespace boxoffice::plugins::billing

namespace {
const char* const kNeeds[] = {nullptr};
const char* const kProvides[] = {nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::billing::BillingPlugin,
                 (BoxOfficePluginManifest{"billing", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "Billing history: signed, hash-chained purchase records, credit limit, "
                                          "settlement results"}))
