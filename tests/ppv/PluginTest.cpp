// The real ppv plugin library (with billing, which it needs) in a PluginHost, without
// a line or a phone: configuration errors fail it with a reason, the Wallet service
// takes tickets and catalog, and what it stores (catalog, tickets, PIN lock)
// survives a restart of the plugin.

#include "Keys.h"

#include <boxoffice/billing/History.h>
#include <boxoffice/host/PluginHost.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/ppv/Wallet.h>
#include <boxoffice/rpc/Dispatcher.h>
#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/trust/TrustedClock.h>
#include <boxoffice/wire/RevocationList.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Util/MapConfiguration.h>

#include <boxoffice/testing/ErrorCodeOf.h>

#include <gmock/gmock.h>

using boxoffice::testing::codeOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace boxoffice::ppv::test {
namespace {

class PpvPluginTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto& k = DevKeys::get();
        config = new Poco::Util::MapConfiguration;
        for (const auto* plugin : {"billing", "ppv"}) {
            const std::string p = std::string("plugins.") + plugin + ".";
            config->setString(p + "deviceDirectory", (k.keysDir() / "devices" / "stb-1").string());
            config->setString(p + "trustAnchor", (k.keysDir() / "root" / "root.json").string());
        }
        config->setString("plugins.ppv.pin.initial", "1357");
        config->setInt("plugins.ppv.pin.iterations", 1000);
        config->setInt("plugins.ppv.pin.maxAttempts", 2);
    }

    std::unique_ptr<host::PluginHost> start()
    {
        host::PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = dir / "data";
        options.dispatcher = &dispatcher;
        auto h = std::make_unique<host::PluginHost>(options);
        const auto plugins = std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR")) / "lib/boxoffice/plugins";
        h->load(plugins / "libboxoffice-billing.so");
        h->load(plugins / "libboxoffice-ppv.so");
        h->startAll();
        return h;
    }

    Poco::JSON::Object::Ptr call(const std::string& method, const std::string& params = "{}")
    {
        rpc::Caller caller{"tv", {"read", "control"}, nullptr};
        const auto text = dispatcher.handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}",
                                            caller);
        return Poco::JSON::Parser().parse(text.value_or("{}")).extract<Poco::JSON::Object::Ptr>();
    }
    // ev-1 at 450 EUR, on sale around `now`.
    static CatalogEvent onSale(wire::UnixTime now)
    {
        CatalogEvent e;
        e.eventId = "ev-1";
        e.title = "The Final";
        e.price = 450;
        e.currency = "EUR";
        e.saleFrom = now - 100;
        e.saleUntil = now + 1000;
        return e;
    }
    // A signed revocation list in `file`, as the sync plugin keeps them.
    static void keep(const std::filesystem::path& file, std::uint64_t sequence, std::vector<std::string> keyIds,
                     std::vector<std::string> ticketIds, const trust::SigningKey& signer)
    {
        wire::RevocationList list;
        list.sequence = sequence;
        list.revokedKeyIds = std::move(keyIds);
        list.revokedTicketIds = std::move(ticketIds);
        list.issuedAt = trust::TrustedClock::systemNow();
        list.nextUpdate = list.issuedAt + 86400;
        trust::sign(list, signer);
        const auto bytes = list.encode();
        trust::writeKeyFile(file, std::string(bytes.begin(), bytes.end()), false, true);
    }
    std::string message(const Poco::JSON::Object::Ptr& reply)
    {
        return reply->has("error") ? reply->getObject("error")->getValue<std::string>("message") : "no error";
    }

    boxoffice::testing::TempDir dir{"ppv-plugin"};
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
};

TEST_F(PpvPluginTest, WorksOfflineAndKeepsItsStateAcrossRestarts)
{
    auto& k = DevKeys::get();
    const auto now = trust::TrustedClock::systemNow();
    {
        auto h = start();
        ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
        auto wallet = h->services().require<Wallet>();
        const auto e = onSale(now);
        wallet->replaceCatalog({e});
        const auto key = Bytes(16, 0x11);
        EXPECT_EQ(wallet->addTicket(issue({"t-1", "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer)), "t-1");
        // Another box's ticket: refused with the verifier's reason, nothing stored.
        try {
            wallet->addTicket(issue({"t-2", "ev-1", now - 60, now + 3600}, key, *k.stb2, *k.issuer));
            ADD_FAILURE() << "accepted another device's ticket";
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::WrongAudience);
        }
        EXPECT_EQ(call("ppv.1.tickets")->getObject("result")->getArray("tickets")->size(), 1u);

        // Wrong PINs lock purchases (two attempts configured).
        EXPECT_THAT(message(call("ppv.1.buy", R"({"eventId":"ev-1","pin":"0000"})")), StartsWith("already-owned"));
        wallet->replaceCatalog({e, [&] { auto f = e; f.eventId = "ev-2"; return f; }()});
        // The refusal's keyword and the attempts left are in error.data for the TV.
        const auto wrong = call("ppv.1.buy", R"({"eventId":"ev-2","pin":"0000"})");
        EXPECT_THAT(message(wrong), StartsWith("pin-wrong"));
        ASSERT_TRUE(wrong->has("error"));
        const auto wrongData = wrong->getObject("error")->getObject("data");
        EXPECT_EQ(wrongData->getValue<std::string>("reason"), "pin-wrong");
        EXPECT_EQ(wrongData->getValue<std::string>("error"), "permission denied");
        EXPECT_EQ(wrongData->getValue<int>("attemptsLeft"), 1);
        const auto locked = call("ppv.1.buy", R"({"eventId":"ev-2","pin":"0000"})");
        EXPECT_THAT(message(locked), StartsWith("pin-locked"));
        ASSERT_TRUE(locked->has("error"));
        const auto lockedData = locked->getObject("error")->getObject("data");
        EXPECT_EQ(lockedData->getValue<std::string>("reason"), "pin-locked");
        EXPECT_EQ(lockedData->getValue<int>("attemptsLeft"), 0);
        EXPECT_GT(lockedData->getValue<std::int64_t>("lockedUntil"), trust::TrustedClock::systemNow());
        // No line (no sync plugin): the right PIN after the lock would still find no line.
        EXPECT_THAT(message(call("ppv.1.buy", R"({"eventId":"ev-2","pin":"1357","method":"card"})")),
                    HasSubstr("method must be"));
    }
    auto h = start();
    ASSERT_EQ(h->state("ppv"), host::PluginState::Activated);
    const auto catalog = call("ppv.1.catalog")->getObject("result")->getArray("events");
    ASSERT_EQ(catalog->size(), 2u);
    EXPECT_EQ(catalog->getObject(0)->getValue<std::string>("state"), "owned");
    EXPECT_EQ(catalog->getObject(1)->getValue<std::string>("state"), "on-sale");
    EXPECT_GT(call("ppv.1.pinStatus")->getObject("result")->getValue<std::int64_t>("lockedUntil"), now);
    EXPECT_THAT(message(call("ppv.1.buy", R"({"eventId":"ev-2","pin":"1357"})")), StartsWith("pin-locked"));
    const auto watch = call("ppv.1.watch", R"({"eventId":"ev-2"})");
    EXPECT_THAT(message(watch), HasSubstr("no ticket for ev-2"));
}

// The two revocation lists sync keeps: the operator root's (sequence 3) revokes the issuer key,
// then the server's ticket-only list (sequence 4, as after three refunds) arrives. The key stays
// revoked: the server's list does not replace the root's, also after a restart. A server list
// that names a key is not applied at all.
// Without revocationsFile ppv reads the server's list where the sync plugin keeps it with
// its own defaults: a box configured with defaults refuses refunded tickets.
TEST_F(PpvPluginTest, ByDefaultTheServersListIsReadWhereSyncKeepsIt)
{
    auto& k = DevKeys::get();
    const auto now = trust::TrustedClock::systemNow();
    config->setString("plugins.ppv.serverCertificate", (k.keysDir() / "server" / "server.cert").string());
    wire::RevocationList list;
    list.sequence = 1;
    list.revokedTicketIds = {"t-refunded"};
    list.issuedAt = now;
    list.nextUpdate = now + 86400;
    trust::sign(list, trust::loadServerSigner(k.keysDir() / "server").key);
    const auto bytes = list.encode();
    trust::writeKeyFile(dir / "data" / "sync" / "revocations.bin", std::string(bytes.begin(), bytes.end()), false, true);

    auto h = start();
    ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
    auto wallet = h->services().require<Wallet>();
    const auto key = Bytes(16, 0x22);
    EXPECT_EQ(codeOf([&] { wallet->addTicket(issue({"t-refunded", "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer)); }),
              ErrorCode::Revoked);
    EXPECT_NO_THROW(wallet->addTicket(issue({"t-kept", "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer)));
}

TEST_F(PpvPluginTest, RootRevokedKeyStaysRevokedAfterTheServersListAndARestart)
{
    auto& k = DevKeys::get();
    const auto now = trust::TrustedClock::systemNow();
    const auto lists = dir / "lists";
    config->setString("plugins.ppv.revocationsFile", (lists / "revocations.bin").string());
    config->setString("plugins.ppv.serverCertificate", (k.keysDir() / "server" / "server.cert").string());
    const auto root = trust::loadRootKey(k.keysDir() / "root");
    const auto server = trust::loadServerSigner(k.keysDir() / "server");
    keep(lists / "root-revocations.bin", 3, {k.issuer->certificate.keyId}, {}, root);
    const auto key = Bytes(16, 0x11);
    const auto refused = [&](Wallet& wallet, const std::string& ticketId) {
        try {
            wallet.addTicket(issue({ticketId, "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer));
            return std::string("accepted");
        } catch (const Error& e) {
            return std::string(toString(e.code()));
        }
    };
    {
        auto h = start();
        ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
        auto wallet = h->services().require<Wallet>();
        EXPECT_EQ(refused(*wallet, "t-1"), toString(ErrorCode::Revoked));

        keep(lists / "revocations.bin", 4, {}, {"t-a", "t-b", "t-c"}, server.key);
        call("ppv.1.refresh");   // (applies changed lists; the rest of it has no line here)
        EXPECT_EQ(refused(*wallet, "t-2"), toString(ErrorCode::Revoked));

        // The server may not revoke keys: its list naming one (sequence 5) is not applied.
        keep(lists / "revocations.bin", 5, {"root-issued-other"}, {"t-d"}, server.key);
        call("ppv.1.refresh");
        EXPECT_EQ(refused(*wallet, "t-3"), toString(ErrorCode::Revoked));
        // (the server's good list back in its file for the restart)
        keep(lists / "revocations.bin", 4, {}, {"t-a", "t-b", "t-c"}, server.key);
    }
    auto h = start();
    ASSERT_EQ(h->state("ppv"), host::PluginState::Activated);
    EXPECT_EQ(refused(*h->services().require<Wallet>(), "t-4"), toString(ErrorCode::Revoked));
}

// The root revokes the server's own key (say it leaked): nothing that key signs is acted on any
// more, neither its revocation list (its refunds wait for a server with a new key) nor its time.
TEST_F(PpvPluginTest, WhatARootRevokedServerKeySignsIsNotUsed)
{
    auto& k = DevKeys::get();
    const auto now = trust::TrustedClock::systemNow();
    const auto lists = dir / "lists";
    const auto serverCertificate = k.keysDir() / "server" / "server.cert";
    config->setString("plugins.ppv.revocationsFile", (lists / "revocations.bin").string());
    config->setString("plugins.ppv.serverCertificate", serverCertificate.string());
    keep(lists / "revocations.bin", 1, {}, {"t-refunded"}, trust::loadServerSigner(k.keysDir() / "server").key);
    const auto key = Bytes(16, 0x33);
    {
        // Before the root's list: the server's list applies.
        auto h = start();
        ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
        EXPECT_EQ(codeOf([&] {
                      h->services().require<Wallet>()->addTicket(
                          issue({"t-refunded", "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer));
                  }),
                  ErrorCode::Revoked);
    }
    keep(lists / "root-revocations.bin", 7, {trust::loadCertificate(serverCertificate).keyId}, {},
         trust::loadRootKey(k.keysDir() / "root"));
    auto h = start();
    ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
    EXPECT_NO_THROW(h->services().require<Wallet>()->addTicket(
        issue({"t-refunded", "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer)))
        << "the revoked key's list must not be applied";
    const auto refresh = call("ppv.1.refresh");
    ASSERT_TRUE(refresh->has("result")) << message(refresh);
    EXPECT_THAT(refresh->getObject("result")->getValue<std::string>("timeError"), HasSubstr("revoked"));
}

// The server's key is rotated (the old one revoked by the root, say it leaked): ppv keeps its
// configured certificate of the old key, and follows the new one through the certificate sync
// keeps from the server's answers. Until that file holds a certificate under the operator's
// root (here first another root's), the new key's list is not applied.
TEST_F(PpvPluginTest, AServerKeyRotationIsFollowedThroughTheCertificateSyncKeeps)
{
    auto& k = DevKeys::get();
    const auto now = trust::TrustedClock::systemNow();
    const auto lists = dir / "lists";
    const auto old = trust::loadCertificate(k.keysDir() / "server" / "server.cert");
    config->setString("plugins.ppv.revocationsFile", (lists / "revocations.bin").string());
    config->setString("plugins.ppv.serverCertificate", (k.keysDir() / "server" / "server.cert").string());
    keep(lists / "root-revocations.bin", 7, {old.keyId}, {}, trust::loadRootKey(k.keysDir() / "root"));

    wire::Certificate draft = old;
    draft.keyId = "server/2";
    auto signing = crypto::Ed25519PrivateKey::generate();
    const auto publicKey = signing.publicKey().raw();
    draft.publicKey.assign(publicKey.begin(), publicKey.end());
    draft.notBefore = now - 60;
    const auto rotated = trust::issueCertificate(draft, trust::loadRootKey(k.keysDir() / "root"));
    const trust::SigningKey newKey(rotated.keyId, std::move(signing));
    const std::vector<std::string> refunded{"t-1", "t-2", "t-3"};
    keep(lists / "revocations.bin", 1, {}, refunded, newKey);

    const auto key = Bytes(16, 0x44);
    const auto addRefunded = [&](host::PluginHost& h, const std::string& ticketId) {
        h.services().require<Wallet>()->addTicket(issue({ticketId, "ev-1", now - 60, now + 3600}, key, *k.stb1, *k.issuer));
    };
    const auto keptCertificate = [&](const wire::Certificate& c) {
        const auto bytes = c.encode();
        trust::writeKeyFile(lists / "server-certificate.bin", std::string(bytes.begin(), bytes.end()), false, true);
    };
    // Another root's server certificate in the file: neither it nor the revoked configured one
    // checks the new key's list.
    keptCertificate(trust::loadCertificate(k.dir.path() / "foreign" / "server" / "server.cert"));
    {
        auto h = start();
        ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
        EXPECT_NO_THROW(addRefunded(*h, "t-1")) << "a list no known good certificate checks is not applied";
        const auto refresh = call("ppv.1.refresh");
        ASSERT_TRUE(refresh->has("result")) << message(refresh);
        EXPECT_THAT(refresh->getObject("result")->getValue<std::string>("timeError"), HasSubstr("operator root"));

        // sync keeps the rotated certificate: the next refresh reads it and applies the list.
        keptCertificate(rotated);
        call("ppv.1.refresh");
        EXPECT_EQ(codeOf([&] { addRefunded(*h, "t-2"); }), ErrorCode::Revoked);
    }
    auto h = start();
    ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
    EXPECT_EQ(codeOf([&] { addRefunded(*h, "t-3"); }), ErrorCode::Revoked) << "after a restart too";
}

// A one-view rental through the plugin: the TV sees its terms before buying and its views
// left; the view is a play record in the billing history; once that view has ended (a
// pause of viewGapSeconds) watch refuses with no-views-left and the event is on sale again.
TEST_F(PpvPluginTest, AUsedUpTicketIsRefusedAndItsEventIsOnSaleAgain)
{
    using namespace std::chrono_literals;
    auto& k = DevKeys::get();
    config->setInt("plugins.ppv.viewGapSeconds", 1);
    auto h = start();
    ASSERT_EQ(h->state("ppv"), host::PluginState::Activated) << h->plugins().at(1).reason;
    const auto now = trust::TrustedClock::systemNow();
    auto e = onSale(now);
    e.views = 1;
    e.playbackWindow = 3600;
    e.dvbEventId = 7;
    auto wallet = h->services().require<Wallet>();
    wallet->replaceCatalog({e});
    const auto key = Bytes(16, 0x11);
    wallet->addTicket(issue({"t-1", "ev-1", now - 60, now + 86400, 3600, 1}, key, *k.stb1, *k.issuer));

    auto event = [&] { return call("ppv.1.event", R"({"eventId":"ev-1"})")->getObject("result"); };
    auto ticket = [&] { return call("ppv.1.tickets")->getObject("result")->getArray("tickets")->getObject(0); };
    EXPECT_EQ(event()->getValue<int>("views"), 1);
    EXPECT_EQ(event()->getValue<int>("playbackWindowSeconds"), 3600);
    EXPECT_EQ(event()->getValue<std::string>("state"), "owned");
    EXPECT_EQ(ticket()->getValue<int>("viewsLeft"), 1);

    mpegts::EcmHeader header;
    header.algorithm = mpegts::Algorithm::DvbCissa;
    header.serviceId = 1;
    header.eventId = 7;
    header.cryptoPeriod = 4;
    std::string reason;
    ASSERT_TRUE(h->services().require<mpegts::KeyService>()->onEcm(
        mpegts::sealEcm(header, Bytes(16, 1), Bytes(16, 2), key), reason)) << reason;
    const auto plays = h->services().require<billing::History>()->ofTicket("t-1", wire::HistoryKind::Play);
    ASSERT_EQ(plays.size(), 1u);
    EXPECT_EQ(plays[0].record.eventId, "ev-1");
    EXPECT_EQ(ticket()->getValue<int>("viewsLeft"), 0);
    EXPECT_GE(ticket()->getValue<std::int64_t>("playableUntil"), now + 3600);   // the window from the first play
    EXPECT_LE(ticket()->getValue<std::int64_t>("playableUntil"), now + 3600 + 60);

    ASSERT_TRUE(boxoffice::testing::eventually([&] { return ticket()->getValue<std::string>("state") == "used-up"; }, 10s))
        << ticket()->getValue<std::string>("state");
    const auto refused = call("ppv.1.watch", R"({"eventId":"ev-1"})");
    EXPECT_THAT(message(refused), StartsWith("no-views-left"));
    ASSERT_TRUE(refused->has("error"));
    EXPECT_EQ(refused->getObject("error")->getObject("data")->getValue<std::string>("reason"), "no-views-left");
    EXPECT_EQ(refused->getObject("error")->getObject("data")->getValue<std::string>("error"), "limit exceeded");
    EXPECT_EQ(event()->getValue<std::string>("state"), "on-sale");
}

TEST_F(PpvPluginTest, AViewGapThatIsNotPositiveFailsThePlugin)
{
    config->setInt("plugins.ppv.viewGapSeconds", 0);
    auto h = start();
    EXPECT_EQ(h->state("ppv"), host::PluginState::Failed);
    std::string reason = "ppv not loaded";
    for (const auto& p : h->plugins())
        if (p.name == "ppv") reason = p.reason;
    EXPECT_THAT(reason, HasSubstr("pause that ends a view"));
}

TEST_F(PpvPluginTest, FailsWithAReasonWhenMisconfigured)
{
    config->setString("plugins.ppv.trustAnchor", "");
    auto h = start();
    EXPECT_EQ(h->state("billing"), host::PluginState::Activated);
    EXPECT_EQ(h->state("ppv"), host::PluginState::Failed);
    for (const auto& p : h->plugins()) {
        if (p.name == "ppv") {
            EXPECT_THAT(p.reason, HasSubstr("trustAnchor"));
        }
    }
    EXPECT_FALSE(h->services().find<Wallet>());
}

} // namespace
} // namespace boxoffice::ppv::test
