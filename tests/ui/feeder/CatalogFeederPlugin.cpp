// Test plugin `ui-catalog-feeder`: gives the REAL ppv plugin a catalog the way
// sync does (ppv::Wallet::replaceCatalog), without an operator server, so the
// TV UI tests can drive the real plugin's catalog, PIN and refusals.
//   ev-real    on sale (sales until now + 2 h), 12.50 EUR
//   ev-closed  sales closed an hour ago

#include <boxoffice/host/Plugin.h>
#include <boxoffice/ppv/Wallet.h>

#include <chrono>

namespace boxoffice::tests::ui {

class CatalogFeederPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        auto wallet = context.services().find<ppv::Wallet>();
        if (!wallet) return "ui-catalog-feeder: no ppv::Wallet service";
        const std::int64_t t =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        ppv::CatalogEvent open;
        open.eventId = "ev-real";
        open.title = "Real Plugin Derby";
        open.payee = "BoxOffice Sports";
        open.price = 1250;
        open.currency = "EUR";
        open.saleFrom = t - 3600;
        open.saleUntil = t + 7200;
        open.startsAt = t + 7200;
        open.endsAt = t + 14400;
        open.eventKeyId = "key-ev-real";
        ppv::CatalogEvent closed = open;
        closed.eventId = "ev-closed";
        closed.title = "Yesterday's Final";
        closed.saleUntil = t - 3600;
        closed.eventKeyId = "key-ev-closed";
        try {
            wallet->replaceCatalog({open, closed});
        } catch (const std::exception& e) {
            return std::string("ui-catalog-feeder: ") + e.what();
        }
        return {};
    }
    void deinitialize() override {}
};

} // namespace boxoffice::tests::ui

namespace {
const char* const kNeeds[] = {"ppv", nullptr};
const char* const kProvides[] = {nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::tests::ui::CatalogFeederPlugin,
                 (BoxOfficePluginManifest{"ui-catalog-feeder", "0.0.1", BOXOFFICE_HOST_API_RANGE_MIN,
                                          BOXOFFICE_HOST_API_RANGE_MAX, kNeeds, kProvides,
                                          "TEST: a canned catalog for the real ppv plugin"}))
