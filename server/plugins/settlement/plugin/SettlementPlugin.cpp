// The `settlement` server plugin: ledger, accounts/devices/phones, catalog and
// the purchase flow over the REST API. Configuration (plugins.settlement.*):
//   keys             boxoffice-keytool key directory (root, issuer, server signer, events)
//   issuer           ticket issuer id (default issuer-dev)
//   pendingSeconds   how long an order waits for the phone (default 300)
//   registrationSeconds  how long a registration code shown on the TV is valid (default 600)
//   registrationAttempts wrong codes a phone may present within registrationSeconds (default 5)
//   sweepSeconds     how often overdue orders are expired (default 5)
//   otpAbove         orders above this amount need a one-time password (default 0: only when asked)
//   otpSeconds       a one-time password is valid this long (default 180)
//   otpAttempts      wrong one-time passwords before the order fails (default 3)

#include <boxoffice/settlement/Routes.h>

#include <boxoffice/host/Plugin.h>
#include <boxoffice/serverapi/DatabaseService.h>

#include <Poco/Timer.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <memory>
#include <sstream>

namespace {

using namespace boxoffice;

// Orders by state and their amounts, from the database: the same totals from every
// server process sharing it (Prometheus gauges; amounts in minor units per currency).
std::string orderMetrics(settlement::Settlement& s)
{
    const auto rows =
        s.ledger().database().query("SELECT state, currency, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount), 0)"
                                    " AS BIGINT) FROM stl_order GROUP BY state, currency ORDER BY state, currency");
    std::ostringstream count, amount;
    count << "# HELP boxoffice_settlement_orders Orders by state (pending, approved, closed, declined, not-me, expired, ...).\n"
             "# TYPE boxoffice_settlement_orders gauge\n";
    amount << "# HELP boxoffice_settlement_order_amount Sum of order amounts by state, in minor units.\n"
              "# TYPE boxoffice_settlement_order_amount gauge\n";
    for (const auto& row : rows) {
        const auto labels = "{state=\"" + row.text(0) + "\",currency=\"" + row.text(1) + "\"}";
        count << "boxoffice_settlement_orders" << labels << ' ' << row.int64(2) << '\n';
        amount << "boxoffice_settlement_order_amount" << labels << ' ' << row.int64(3) << '\n';
    }
    return count.str() + amount.str();
}

class SettlementPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            const auto& c = context.config();
            database_ = context.services().require<serverapi::DatabaseService>();
            router_ = context.services().require<serverapi::Router>();
            auto keys = settlement::Keys::load(c.getString("keys"), c.getString("issuer", "issuer-dev"));
            signer_ = std::make_unique<trust::Credentials>(keys.server);
            ledger_ = std::make_unique<ledger::Ledger>(*database_->database);
            settlement_ = std::make_unique<settlement::Settlement>(
                *ledger_, std::move(keys),
                settlement::Options{c.getInt64("pendingSeconds", 300), c.getInt64("registrationSeconds", 600), c.getInt64("otpAbove", 0),
                                    c.getInt64("otpSeconds", 180), c.getInt64("otpAttempts", 3),
                                    c.getInt64("registrationAttempts", 5)},
                router_->revocations());
            router_->setPhoneKeyLookup([s = settlement_.get()](const std::string& id) { return s->phoneKey(id); });
            router_->setDeviceCheck([s = settlement_.get()](const std::string& id) { s->checkDevice(id); });
            settlement::addRoutes(*router_, *settlement_, *signer_, context.pluginName());
            router_->addMetrics(context.pluginName(), [s = settlement_.get()] { return orderMetrics(*s); });
            logger_ = &context.logger();
            const long sweep = c.getInt("sweepSeconds", 5) * 1000L;
            timer_ = std::make_unique<Poco::Timer>(sweep, sweep);
            timer_->start(Poco::TimerCallback<SettlementPlugin>(*this, &SettlementPlugin::sweep));
            name_ = context.pluginName();
            return {};
        } catch (const std::exception& e) {
            if (router_) router_->removeOwner(context.pluginName());
            return e.what();
        }
    }

    void deinitialize() override
    {
        timer_->stop();
        router_->removeOwner(name_);
        router_->setPhoneKeyLookup({});
        router_->setDeviceCheck({});
        settlement_.reset();
        ledger_.reset();
    }

    void sweep(Poco::Timer&)
    {
        try {
            if (auto n = settlement_->expireDue()) logger_->information("expired %z overdue order(s)", n);
        } catch (const std::exception& e) {
            logger_->warning("expiring overdue orders: %s", std::string(e.what()));
        }
    }

private:
    std::string name_;
    Poco::Logger* logger_ = nullptr;
    std::shared_ptr<serverapi::DatabaseService> database_;
    std::shared_ptr<serverapi::Router> router_;
    std::unique_ptr<trust::Credentials> signer_;
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<settlement::Settlement> settlement_;
    std::unique_ptr<Poco::Timer> timer_;
};

const char* const kNeeds[] = {"https", nullptr};
const char* const kProvides[] = {"ledger", "catalog", "accounts", nullptr};

} // namespace

BOXOFFICE_PLUGIN(SettlementPlugin,
                 (BoxOfficePluginManifest{"settlement", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN,
                                          BOXOFFICE_HOST_API_RANGE_MAX, kNeeds, kProvides,
                                          "ledger, accounts, catalog and purchases settled on the phone"}))
