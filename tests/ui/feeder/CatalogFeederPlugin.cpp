// Test plugin `ui-catalog-feeder`: gives the REAL ppv plugin a catalog the way
// sync does (ppv::Wallet::replaceCatalog), without an operator server, so the
// TV UI tests can drive the real plugin's catalog, PIN and refusals.
//   ev-real    on sale (sales until now + 2 h), 12.50 EUR
//   ev-closed  sales closed an hour ago
// With `keys` (a `boxoffice-keytool dev` directory) configured, it also delivers
// dormant tickets for stb-1 (flow 5: issued ahead, bought on credit without a line)
// through ppv::Wallet::addTicket, as the delivery queue would:
//   ev-dormant  on sale, 19.99 EUR, dormant ticket   (fits the tests' 50.00 credit limit)
//   ev-dear     on sale, 60.00 EUR, dormant ticket   (above the credit limit)

#include <boxoffice/crypto/Random.h>
#include <boxoffice/host/Plugin.h>
#include <boxoffice/ppv/Wallet.h>
#include <boxoffice/trust/KeyFiles.h>

#include <chrono>

namespace boxoffice::tests::ui {

namespace {

// A dormant ticket (prepaid, suspended) for `event`, issued by the dev issuer to stb-1.
Bytes dormantTicket(const std::filesystem::path& keys, const ppv::CatalogEvent& event)
{
    const auto holder = trust::loadDeviceIdentity(keys / "devices" / "stb-1");
    wire::Ticket draft;
    draft.ticketId = "tk-" + event.eventId;
    draft.kind = wire::TicketKind::Prepaid;
    draft.status = wire::TicketStatus::Suspended;
    draft.eventId = event.eventId;
    draft.serviceProviderId = "sp-dev";
    draft.holderDeviceId = holder.deviceId;
    draft.issuedAt = event.saleFrom;
    draft.notBefore = event.saleFrom;
    draft.notAfter = event.endsAt;
    draft.eventKeyId = event.eventKeyId;
    return trust::issueTicket(draft, crypto::randomBytes(16), holder.agreementKey.publicKey(),
                              trust::loadCurrentIssuer(keys, "issuer-dev"))
        .encode();
}

} // namespace

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
        std::vector<ppv::CatalogEvent> events{open, closed};
        const std::string keys = context.config().getString("keys", "");
        if (!keys.empty()) {
            ppv::CatalogEvent dormant = open;
            dormant.eventId = "ev-dormant";
            dormant.title = "Delivered Derby";
            dormant.price = 1999;
            dormant.eventKeyId = "key-ev-dormant";
            ppv::CatalogEvent dear = open;
            dear.eventId = "ev-dear";
            dear.title = "Gala Night";
            dear.price = 6000;
            dear.eventKeyId = "key-ev-dear";
            events.push_back(dormant);
            events.push_back(dear);
        }
        try {
            wallet->replaceCatalog(events);
            if (!keys.empty())
                for (std::size_t i = 2; i < events.size(); ++i) wallet->addTicket(dormantTicket(keys, events[i]));
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
