// The ticket wallet against real keys (boxoffice-keytool dev), a real SQLite file
// and real ECM sections: verification before storage, nothing stored on refusal,
// the event key never on disk, control words only while a ticket is valid.

#include "Keys.h"

#include "HistoryStore.h"
#include "PpvDatabase.h"
#include "TicketWallet.h"

#include <boxoffice/crypto/Random.h>
#include <boxoffice/mpegts/Ecm.h>
#include <boxoffice/testing/ErrorCodeOf.h>

#include <gmock/gmock.h>

#include <fstream>
#include <iterator>

using ::testing::HasSubstr;

namespace boxoffice::ppv::test {
namespace {

using boxoffice::testing::codeOf;

using plugins::ppv::TicketWallet;

class WalletTest : public ::testing::Test {
protected:
    void SetUp() override { open(); }

    void open()
    {
        wallet.reset();
        history.reset();
        auto& k = DevKeys::get();
        clock = std::make_shared<trust::TrustedClock>(dir / "clock.state", [this] { return systemNow; });
        revocations = std::make_shared<trust::RevocationState>();
        billing::HistoryOptions options;
        options.clock = [this] { return systemNow; };
        history = std::make_shared<billing::HistoryStore>(dir / "billing.db", *k.stb1, options);
        wallet = std::make_shared<TicketWallet>(
            plugins::ppv::openPpvDatabase(dir / "ppv.db"), *k.anchor, *k.stb1, clock, revocations,
            [this]() -> std::shared_ptr<billing::History> { return historyGone ? nullptr : history; }, viewGap);
    }

    // The plays the billing history holds for the ticket.
    std::vector<wire::UnixTime> plays(const std::string& ticketId) const
    {
        std::vector<wire::UnixTime> times;
        for (const auto& r : history->ofTicket(ticketId, wire::HistoryKind::Play)) times.push_back(r.record.recordedAt);
        return times;
    }

    Bytes ticket(const std::string& id, wire::UnixTime from, wire::UnixTime until,
                 const trust::DeviceIdentity* holder = nullptr, const trust::Credentials* issuer = nullptr)
    {
        auto& k = DevKeys::get();
        return issue({id, "ev-1", from, until}, eventKey, holder ? *holder : *k.stb1, issuer ? *issuer : *k.issuer);
    }

    Bytes ecm(std::uint16_t dvbEvent = 7, std::uint32_t period = 4)
    {
        mpegts::EcmHeader h;
        h.algorithm = mpegts::Algorithm::DvbCissa;
        h.serviceId = 1;
        h.eventId = dvbEvent;
        h.cryptoPeriod = period;
        return mpegts::sealEcm(h, cwCurrent, cwNext, eventKey);
    }

    boxoffice::testing::TempDir dir{"ppv-wallet"};
    wire::UnixTime base = trust::TrustedClock::systemNow();
    wire::UnixTime systemNow = base;
    std::shared_ptr<trust::TrustedClock> clock;
    std::shared_ptr<trust::RevocationState> revocations;
    std::shared_ptr<billing::HistoryStore> history;
    wire::UnixTime viewGap = 300;
    bool historyGone = false;   // the billing plugin is not there
    std::shared_ptr<TicketWallet> wallet;
    Bytes eventKey = crypto::randomBytes(16);
    Bytes cwCurrent = crypto::randomBytes(16), cwNext = crypto::randomBytes(16);
};

TEST_F(WalletTest, StoresAVerifiedTicketAndOpensTheEventsEcms)
{
    std::string seen;
    wallet->onTicketAdded([&](const plugins::ppv::TicketInfo& t) { seen = t.ticketId + "/" + t.state; });
    EXPECT_EQ(wallet->addTicket(ticket("t-1", base - 60, base + 3600)), "t-1");
    EXPECT_EQ(seen, "t-1/valid");
    ASSERT_EQ(wallet->tickets().size(), 1u);
    EXPECT_EQ(wallet->tickets()[0].state, "valid");

    std::string reason;
    auto words = wallet->onEcm(ecm(), reason);
    ASSERT_TRUE(words) << reason;
    EXPECT_EQ(words->cryptoPeriod, 4u);
    EXPECT_EQ(Bytes(words->even.view().begin(), words->even.view().end()), cwCurrent);   // period 4 is even
    EXPECT_EQ(Bytes(words->odd.view().begin(), words->odd.view().end()), cwNext);

    // Idempotent by ticket id (the same ticket issued again: another sealing), but a
    // forgery under a stored id is still refused.
    EXPECT_EQ(wallet->addTicket(ticket("t-1", base - 60, base + 3600)), "t-1");
    EXPECT_EQ(wallet->tickets().size(), 1u);
    EXPECT_EQ(codeOf([&] { wallet->addTicket(ticket("t-1", base - 60, base + 3600, nullptr, &*DevKeys::get().foreignIssuer)); }),
              ErrorCode::PermissionDenied);

    // After a restart the key is unwrapped again from the stored ticket.
    open();
    words = wallet->onEcm(ecm(7, 5), reason);
    ASSERT_TRUE(words) << reason;
    EXPECT_EQ(Bytes(words->odd.view().begin(), words->odd.view().end()), cwCurrent);   // period 5 is odd

    // The unwrapped event key is nowhere in the database files.
    for (const auto* name : {"ppv.db", "ppv.db-wal"}) {
        std::ifstream in(dir / name, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find(std::string(eventKey.begin(), eventKey.end())), std::string::npos) << name;
    }
}

TEST_F(WalletTest, RefusesBadTicketsAndStoresNothing)
{
    auto& k = DevKeys::get();
    // Another device's ticket.
    EXPECT_EQ(codeOf([&] { wallet->addTicket(ticket("t-other", base - 60, base + 3600, &*k.stb2)); }),
              ErrorCode::WrongAudience);
    // Signed by an issuer of another root (forged).
    EXPECT_EQ(codeOf([&] { wallet->addTicket(ticket("t-forged", base - 60, base + 3600, nullptr, &*k.foreignIssuer)); }),
              ErrorCode::PermissionDenied);
    // Expired, and not yet valid.
    EXPECT_EQ(codeOf([&] { wallet->addTicket(ticket("t-old", base - 7200, base - 3600)); }), ErrorCode::Expired);
    EXPECT_EQ(codeOf([&] { wallet->addTicket(ticket("t-later", base + 3600, base + 7200)); }), ErrorCode::NotYetValid);
    // Altered after signing (the last byte is in the signature), and garbage.
    auto altered = ticket("t-altered", base - 60, base + 3600);
    altered.back() ^= 0x01;
    EXPECT_EQ(codeOf([&] { wallet->addTicket(altered); }), ErrorCode::BadSignature);
    EXPECT_EQ(codeOf([&] { wallet->addTicket(Bytes{1, 2, 3}); }), ErrorCode::Malformed);
    EXPECT_TRUE(wallet->tickets().empty());

    std::string reason;
    EXPECT_FALSE(wallet->onEcm(ecm(), reason));
    EXPECT_THAT(reason, HasSubstr("no ticket covers event 7"));
}

TEST_F(WalletTest, AnExpiredTicketStopsGivingControlWords)
{
    wallet->addTicket(ticket("t-short", base - 60, base + 100));
    std::string reason;
    EXPECT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    systemNow = base + 200;
    EXPECT_FALSE(wallet->onEcm(ecm(7, 6), reason));
    EXPECT_THAT(reason, HasSubstr("expired"));
    EXPECT_EQ(wallet->tickets().at(0).state, "expired");
    EXPECT_EQ(wallet->ticketFor("ev-1")->state, "expired");
}

// A rental: the ticket's playback window starts with its first control word and ends the
// ticket then (never later than notAfter), across a restart of the wallet.
TEST_F(WalletTest, ARentalExpiresItsPlaybackWindowAfterTheFirstPlay)
{
    auto& k = DevKeys::get();
    wallet->addTicket(issue({"t-rental", "ev-1", base - 60, base + 86400, 3600}, eventKey, *k.stb1, *k.issuer));
    auto info = wallet->ticket("t-rental");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->firstPlayedAt, 0);
    EXPECT_EQ(info->playableUntil, base + 86400);   // not played yet: the whole validity

    systemNow = base + 600;   // watched ten minutes after it was bought
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    info = wallet->ticket("t-rental");
    EXPECT_EQ(info->firstPlayedAt, base + 600);
    EXPECT_EQ(info->playableUntil, base + 600 + 3600);
    EXPECT_EQ(plays("t-rental"), std::vector<wire::UnixTime>{base + 600});   // the signed history has the play
    systemNow = base + 600 + 1800;   // later views do not move the start
    ASSERT_TRUE(wallet->onEcm(ecm(7, 6), reason)) << reason;
    EXPECT_EQ(wallet->ticket("t-rental")->firstPlayedAt, base + 600);
    EXPECT_EQ(plays("t-rental"), (std::vector<wire::UnixTime>{base + 600, base + 600 + 1800}));

    open();   // the box restarts: the window is kept
    systemNow = base + 600 + 3600;
    EXPECT_FALSE(wallet->onEcm(ecm(7, 8), reason));
    EXPECT_THAT(reason, HasSubstr("expired"));
    EXPECT_EQ(wallet->ticket("t-rental")->state, "expired");
    EXPECT_EQ(wallet->ticketFor("ev-1")->state, "expired");
    EXPECT_LT(systemNow, base + 86400);   // long before the ticket's own notAfter
}

// Tickets stored before the wallet knew playback windows and views get both from their
// bytes on open.
TEST_F(WalletTest, ATicketStoredBeforePlaybackWindowsAndViewsGetsThemOnOpen)
{
    auto& k = DevKeys::get();
    wallet->addTicket(issue({"t-rental", "ev-1", base - 60, base + 86400, 3600, 1}, eventKey, *k.stb1, *k.issuer));
    wallet.reset();
    storage::Database(std::string("sqlite:") + (dir / "ppv.db").string()).write([](storage::Transaction& tx) {
        tx.execute("UPDATE ppv_ticket SET playback_window = NULL, views_allowed = NULL");
    });
    open();
    EXPECT_EQ(wallet->ticket("t-rental")->viewsLeft, 1u);
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    EXPECT_EQ(wallet->ticket("t-rental")->playableUntil, base + 3600);
    EXPECT_EQ(wallet->ticket("t-rental")->viewsLeft, 0u);
}

// A ticket with two views: control words after a pause of viewGap start a view, recorded
// in the signed history; the last view plays to its end, then the ticket is used up, also
// after a restart.
TEST_F(WalletTest, ATicketsViewsAreCountedAtEachPauseAndRunOut)
{
    auto& k = DevKeys::get();
    wallet->addTicket(issue({"t-views", "ev-1", base - 60, base + 86400, 0, 2}, eventKey, *k.stb1, *k.issuer));
    EXPECT_EQ(wallet->ticket("t-views")->viewsLeft, 2u);
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    systemNow = base + viewGap - 1;   // the same view: ECMs every crypto period, or a short zap away
    ASSERT_TRUE(wallet->onEcm(ecm(7, 6), reason)) << reason;
    EXPECT_EQ(plays("t-views"), std::vector<wire::UnixTime>{base});
    EXPECT_EQ(wallet->ticket("t-views")->viewsLeft, 1u);

    systemNow += viewGap;   // a pause as long as viewGap: the second view
    ASSERT_TRUE(wallet->onEcm(ecm(7, 8), reason)) << reason;
    EXPECT_EQ(plays("t-views"), (std::vector<wire::UnixTime>{base, base + 2 * viewGap - 1}));
    EXPECT_EQ(wallet->ticket("t-views")->viewsLeft, 0u);
    EXPECT_EQ(wallet->ticket("t-views")->state, "valid");   // the last view goes on
    systemNow += 60;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 10), reason)) << reason;

    systemNow += viewGap;
    EXPECT_EQ(wallet->ticket("t-views")->state, "used-up");
    EXPECT_FALSE(wallet->onEcm(ecm(7, 12), reason));
    EXPECT_THAT(reason, HasSubstr("t-views is used-up"));
    EXPECT_EQ(plays("t-views").size(), 2u);   // a refusal records nothing

    open();
    EXPECT_EQ(wallet->ticket("t-views")->state, "used-up");
    EXPECT_FALSE(wallet->onEcm(ecm(7, 12), reason));
}

// ppv.db only caches what the history and the ticket's signed bytes say: setting its play
// count and first play back, or its views and window to unlimited, gives nothing back.
TEST_F(WalletTest, EditingTheWalletFileGivesNoViewOrWindowBack)
{
    auto& k = DevKeys::get();
    auto tamper = [&] {
        wallet.reset();
        storage::Database(std::string("sqlite:") + (dir / "ppv.db").string()).write([](storage::Transaction& tx) {
            tx.execute("UPDATE ppv_ticket SET views_used = 0, first_played_at = 0, views_allowed = 65535, "
                       "playback_window = 0");
        });
        open();
    };
    wallet->addTicket(issue({"t-views", "ev-1", base - 60, base + 86400, 0, 1}, eventKey, *k.stb1, *k.issuer));
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    systemNow = base + viewGap;
    EXPECT_EQ(wallet->ticket("t-views")->state, "used-up");
    tamper();
    EXPECT_FALSE(wallet->onEcm(ecm(7, 6), reason));
    EXPECT_THAT(reason, HasSubstr("t-views has no views left (all 1 used)"));
    EXPECT_EQ(wallet->ticket("t-views")->state, "used-up");   // the cache is put right
    EXPECT_EQ(wallet->ticket("t-views")->viewsLeft, 0u);
    EXPECT_EQ(plays("t-views").size(), 1u);

    // A rental for the same event plays once t-views cannot.
    wallet->addTicket(issue({"t-rental", "ev-1", base - 60, base + 86400, 3600}, eventKey, *k.stb1, *k.issuer));
    ASSERT_TRUE(wallet->onEcm(ecm(7, 8), reason)) << reason;
    EXPECT_EQ(plays("t-rental"), std::vector<wire::UnixTime>{base + viewGap});
    systemNow = base + viewGap + 3600;
    tamper();
    EXPECT_FALSE(wallet->onEcm(ecm(7, 10), reason));
    EXPECT_THAT(reason, HasSubstr("t-rental is expired (its playback window has ended)"));
    EXPECT_EQ(wallet->ticket("t-rental")->state, "expired");
    EXPECT_EQ(wallet->ticket("t-rental")->firstPlayedAt, base + viewGap);
    EXPECT_EQ(plays("t-rental").size(), 1u);
}

// The cache edited while the box runs: a first play set ahead before the first view starts
// nothing, and a window removed mid-view does not extend the view going on.
TEST_F(WalletTest, EditingTheCacheMidViewDoesNotExtendTheView)
{
    auto& k = DevKeys::get();
    wallet->addTicket(issue({"t-rental", "ev-1", base - 60, base + 86400, 3600}, eventKey, *k.stb1, *k.issuer));
    auto edit = [&](const std::string& set) {
        storage::Database(std::string("sqlite:") + (dir / "ppv.db").string()).write([&](storage::Transaction& tx) {
            tx.execute("UPDATE ppv_ticket SET " + set);
        });
    };
    edit("first_played_at = " + std::to_string(base + 80000));
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    EXPECT_EQ(wallet->ticket("t-rental")->firstPlayedAt, base);
    EXPECT_EQ(wallet->ticket("t-rental")->playableUntil, base + 3600);

    edit("first_played_at = 0, playback_window = 0");   // the listing now says: until notAfter
    std::uint32_t period = 6;
    for (systemNow = base + 200; systemNow < base + 3600; systemNow += 200, period += 2)
        ASSERT_TRUE(wallet->onEcm(ecm(7, period), reason)) << reason << " at +" << systemNow - base;
    systemNow = base + 3600;
    EXPECT_FALSE(wallet->onEcm(ecm(7, period), reason));
    EXPECT_THAT(reason, HasSubstr("t-rental is expired (its playback window has ended)"));
    EXPECT_EQ(plays("t-rental").size(), 1u);
}

// While a rental plays the trusted clock's mark follows it: a clock set back to inside the
// window afterwards is a rollback, and one set back less than the clock's tolerance cannot
// start a view before the last recorded play.
TEST_F(WalletTest, ASetBackClockCannotReplayARentalsWindow)
{
    auto& k = DevKeys::get();
    wallet->addTicket(issue({"t-rental", "ev-1", base - 60, base + 86400, 3600}, eventKey, *k.stb1, *k.issuer));
    std::string reason;
    systemNow = base + 600;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    systemNow = base + 3000;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 6), reason)) << reason;
    systemNow = base + 600 + 3600;
    EXPECT_FALSE(wallet->onEcm(ecm(7, 8), reason));
    EXPECT_THAT(reason, HasSubstr("expired"));
    systemNow = base + 700;   // back inside the window
    EXPECT_FALSE(wallet->onEcm(ecm(7, 10), reason));
    EXPECT_THAT(reason, HasSubstr("behind"));
    EXPECT_EQ(plays("t-rental").size(), 2u);

    open();   // after a restart, within the clock's tolerance of its mark but before the last play
    systemNow = base + 2980;
    EXPECT_FALSE(wallet->onEcm(ecm(7, 12), reason));
    EXPECT_THAT(reason, HasSubstr("the clock is behind its last play"));
    EXPECT_EQ(plays("t-rental").size(), 2u);
}

// The history is the authority: when the wallet's cache cannot be written (here a trigger
// refuses it, as a full disk would), the view still plays and the next ECMs are the same view.
TEST_F(WalletTest, AFailedCacheWriteNeitherStopsTheViewNorStartsAnother)
{
    auto& k = DevKeys::get();
    wallet->addTicket(issue({"t-views", "ev-1", base - 60, base + 86400, 0, 3}, eventKey, *k.stb1, *k.issuer));
    storage::Database(std::string("sqlite:") + (dir / "ppv.db").string()).write([](storage::Transaction& tx) {
        tx.execute("CREATE TRIGGER no_cache BEFORE UPDATE OF views_used ON ppv_ticket "
                   "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    });
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    for (int period = 6; period <= 12; period += 2) {
        systemNow += 10;
        ASSERT_TRUE(wallet->onEcm(ecm(7, static_cast<std::uint32_t>(period)), reason)) << reason;
    }
    EXPECT_EQ(plays("t-views").size(), 1u);
    EXPECT_EQ(wallet->ticket("t-views")->viewsLeft, 3u);   // the listing lags, the history does not
}

// A view that cannot be recorded in the history gives no control words.
TEST_F(WalletTest, AViewThatCannotBeRecordedGivesNoControlWords)
{
    wallet->addTicket(ticket("t-1", base - 60, base + 3600));
    historyGone = true;
    std::string reason;
    EXPECT_FALSE(wallet->onEcm(ecm(7, 4), reason));
    EXPECT_THAT(reason, HasSubstr("no billing history"));
    EXPECT_TRUE(plays("t-1").empty());
    historyGone = false;
    EXPECT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    EXPECT_EQ(plays("t-1").size(), 1u);
}

// A ticket without a playback window is playable until notAfter, however early it was played.
TEST_F(WalletTest, ATicketWithoutAPlaybackWindowPlaysUntilItsEnd)
{
    wallet->addTicket(ticket("t-1", base - 60, base + 86400));
    std::string reason;
    ASSERT_TRUE(wallet->onEcm(ecm(7, 4), reason)) << reason;
    systemNow = base + 86400 - 10;
    EXPECT_TRUE(wallet->onEcm(ecm(7, 6), reason)) << reason;
    EXPECT_EQ(wallet->ticket("t-1")->playableUntil, base + 86400);
}

TEST_F(WalletTest, AClockSetBackGivesNothingAndAcceptsNothing)
{
    wallet->addTicket(ticket("t-1", base - 60, base + 3600));
    systemNow = base - 86400;   // someone set the clock back a day
    std::string reason;
    EXPECT_FALSE(wallet->onEcm(ecm(), reason));
    EXPECT_THAT(reason, HasSubstr("behind"));
    EXPECT_EQ(codeOf([&] { wallet->addTicket(ticket("t-2", base - 86400 - 60, base - 86400 + 3600)); }),
              ErrorCode::ClockRollback);
    systemNow = base + 10;
    EXPECT_TRUE(wallet->onEcm(ecm(), reason)) << reason;
}

TEST_F(WalletTest, TheCatalogSelectsTheTicketAndGivesEventStates)
{
    std::vector<CatalogEvent> events(5);
    const char* ids[] = {"ev-1", "ev-soon", "ev-past", "ev-dark", "ev-open"};
    for (std::size_t i = 0; i < events.size(); ++i) {
        events[i].eventId = ids[i];
        events[i].title = std::string("Title ") + ids[i];
        events[i].price = 450;
        events[i].currency = "EUR";
        events[i].saleFrom = base - 100;
        events[i].saleUntil = base + 100;
    }
    events[0].dvbEventId = 7;
    events[1].saleFrom = base + 50;
    events[2].saleUntil = base - 1;
    events[3].blackout = true;
    int changed = 0;
    wallet->onCatalogChanged([&] { ++changed; });
    wallet->replaceCatalog(events);
    EXPECT_EQ(changed, 1);
    wallet->addTicket(ticket("t-1", base - 60, base + 3600));

    open();   // the catalog is cached across restarts
    const auto catalog = wallet->catalog();
    ASSERT_EQ(catalog.size(), 5u);
    EXPECT_EQ(wallet->stateOf(catalog[0], base), "owned");
    EXPECT_EQ(wallet->stateOf(catalog[1], base), "not-yet-on-sale");
    EXPECT_EQ(wallet->stateOf(catalog[2], base), "window-closed");
    EXPECT_EQ(wallet->stateOf(catalog[3], base), "blackout");
    EXPECT_EQ(wallet->stateOf(catalog[4], base), "on-sale");
    EXPECT_EQ(wallet->tickets().at(0).title, "Title ev-1");

    // The ECM's EIT event is mapped to ev-1: an ECM of another EIT event finds no ticket
    // of its own event and falls back to none.
    std::string reason;
    EXPECT_TRUE(wallet->onEcm(ecm(7), reason)) << reason;
    events[0].dvbEventId = 8;
    events[4].dvbEventId = 7;
    wallet->replaceCatalog(events);
    EXPECT_FALSE(wallet->onEcm(ecm(7), reason));
}

TEST_F(WalletTest, ARevokedTicketGivesNoControlWords)
{
    wallet->addTicket(ticket("t-1", base - 60, base + 3600));
    wire::RevocationList list;
    list.sequence = 1;
    list.revokedTicketIds = {"t-1"};
    list.issuedAt = base;
    list.nextUpdate = base + 3600;
    auto& k = DevKeys::get();
    trust::sign(list, trust::loadRootKey(k.keysDir() / "root"));
    revocations->apply(list, *k.anchor);
    std::string reason;
    EXPECT_FALSE(wallet->onEcm(ecm(), reason));
    EXPECT_THAT(reason, HasSubstr("revoked"));
    EXPECT_EQ(wallet->tickets().at(0).state, "revoked");
}

// A prepaid ticket delivered ahead (dormant: suspended until bought) stays unplayable when
// ppv.db's `dormant` column is edited: whether a ticket is dormant comes from its signed
// bytes. No purchase, no control words.
TEST_F(WalletTest, EditingTheDormantColumnDoesNotMakeAnUnboughtTicketPlayable)
{
    auto& k = DevKeys::get();
    wire::Ticket draft;
    draft.ticketId = "t-dormant";
    draft.eventId = "ev-1";
    draft.kind = wire::TicketKind::Prepaid;
    draft.status = wire::TicketStatus::Suspended;
    draft.serviceProviderId = "sp-dev";
    draft.holderDeviceId = k.stb1->deviceId;
    draft.orderId = "o-dormant";
    draft.issuedAt = base - 60;
    draft.notBefore = base - 60;
    draft.notAfter = base + 86400;
    draft.eventKeyId = "key-ev-1";
    wallet->addTicket(trust::issueTicket(draft, eventKey, k.stb1->agreementKey.publicKey(), *k.issuer).encode());
    std::string reason;
    EXPECT_FALSE(wallet->onEcm(ecm(), reason));
    EXPECT_THAT(reason, HasSubstr("dormant"));

    wallet.reset();
    storage::Database(std::string("sqlite:") + (dir / "ppv.db").string()).write([](storage::Transaction& tx) {
        tx.execute("UPDATE ppv_ticket SET dormant = 0");
    });
    open();
    EXPECT_FALSE(wallet->onEcm(ecm(7, 6), reason)) << "a never-bought dormant ticket gave control words";
    EXPECT_THAT(reason, HasSubstr("dormant"));
    EXPECT_EQ(wallet->tickets().at(0).state, "dormant");
    EXPECT_TRUE(history->ofTicket("t-dormant", wire::HistoryKind::Play).empty());
    // Buying it still works (its signed bytes say dormant); a ticket that is not dormant
    // cannot be "bought" that way whatever its column says.
    EXPECT_NO_THROW(wallet->activate("t-dormant", 1));
    wallet->addTicket(ticket("t-active", base - 60, base + 3600));
    storage::Database(std::string("sqlite:") + (dir / "ppv.db").string()).write([](storage::Transaction& tx) {
        tx.execute("UPDATE ppv_ticket SET dormant = 1 WHERE ticket_id = 't-active'");
    });
    EXPECT_THROW(wallet->activate("t-active", 2), Error);
}

} // namespace
} // namespace boxoffice::ppv::test
