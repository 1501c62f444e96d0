#include "TicketWallet.h"

#include <boxoffice/mpegts/Ecm.h>

#include <Poco/Logger.h>

#include <algorithm>
#include <cstdlib>

namespace boxoffice::plugins::ppv {

using storage::Transaction;

// Replay protection over the wallet's own table: a ticket id is "seen" once it is
// stored. add() does nothing because addTicket() inserts the ticket itself.
class TicketWallet::DatabaseSeenTickets final : public trust::SeenTickets {
public:
    explicit DatabaseSeenTickets(std::shared_ptr<storage::Database> db) : db_(std::move(db)) {}
    bool contains(std::string_view ticketId) const override
    {
        return db_->query("SELECT 1 FROM ppv_ticket WHERE ticket_id = ?", {ticketId}).single().has_value();
    }
    void add(std::string_view) override {}

private:
    std::shared_ptr<storage::Database> db_;
};

namespace {

Poco::Logger& logger() { return Poco::Logger::get("ppv.wallet"); }

CatalogEvent eventFrom(const storage::Row& r)
{
    CatalogEvent e;
    e.eventId = r.text(0);
    e.title = r.text(1);
    e.payee = r.text(2);
    e.price = r.int64(3);
    e.currency = r.text(4);
    e.saleFrom = r.int64(5);
    e.saleUntil = r.int64(6);
    e.startsAt = r.int64(7);
    e.endsAt = r.int64(8);
    e.previewSeconds = r.int64(9);
    e.blackout = r.int64(10) != 0;
    e.eventKeyId = r.text(11);
    e.dvbEventId = static_cast<std::uint16_t>(r.int64(12));
    e.playUri = r.text(13);
    e.program = static_cast<std::uint16_t>(r.int64(14));
    e.views = r.int64(15);
    e.playbackWindow = r.int64(16);
    return e;
}

constexpr const char* kEventColumns =
    "event_id, title, payee, price, currency, sale_from, sale_until, starts_at, ends_at, preview_seconds, blackout, "
    "event_key_id, dvb_event_id, play_uri, program, views, playback_window";

} // namespace

TicketWallet::TicketWallet(std::shared_ptr<storage::Database> db, trust::TrustAnchor root,
                           const trust::DeviceIdentity& device, std::shared_ptr<trust::TrustedClock> clock,
                           std::shared_ptr<trust::RevocationState> revocations, HistoryFinder history,
                           wire::UnixTime viewGap)
    : db_(std::move(db)), clock_(std::move(clock)), revocations_(std::move(revocations)),
      seen_(std::make_unique<DatabaseSeenTickets>(db_)),
      verifier_(std::make_unique<trust::TicketVerifier>(std::move(root), device.deviceId, device.agreementKey, *clock_,
                                                        *revocations_, *seen_)),
      history_(std::move(history)), viewGap_(viewGap)
{
    if (!history_) throw Error(ErrorCode::InvalidArgument, "the wallet needs the billing history to record plays");
    if (viewGap_ <= 0) throw Error(ErrorCode::InvalidArgument, "the pause that ends a view must be positive");
    fillFromTicketBytes();
}

// Columns added after tickets were stored are filled in from the tickets' own bytes.
void TicketWallet::fillFromTicketBytes()
{
    db_->write([](Transaction& tx) {
        for (const auto& r : tx.query("SELECT ticket_id, encoded FROM ppv_ticket "
                                      "WHERE playback_window IS NULL OR views_allowed IS NULL")) {
            const auto ticket = wire::Ticket::decode(r.blob(1));
            tx.execute("UPDATE ppv_ticket SET playback_window = ?, views_allowed = ? WHERE ticket_id = ?",
                       {static_cast<std::int64_t>(ticket.playbackWindow), static_cast<std::int64_t>(ticket.viewsLeft),
                        r.text(0)});
        }
    });
}

TicketWallet::~TicketWallet() = default;

wire::UnixTime TicketWallet::now() const { return clock_->now(); }

std::string TicketWallet::addTicket(ByteView encodedTicket)
{
    const auto ticket = wire::Ticket::decode(encodedTicket);   // Malformed before anything else
    TicketInfo added;
    {
        std::lock_guard lock(mutex_);
        const auto existing =
            db_->query("SELECT encoded FROM ppv_ticket WHERE ticket_id = ?", {ticket.ticketId}).single();
        if (existing) {
            // Idempotent by id: the same ticket again (e.g. the phone and the server both
            // deliver it, or it was issued again with a fresh sealing) keeps the stored one,
            // but only if the new bytes are genuine too.
            if (existing->blob(0) != Bytes(encodedTicket.begin(), encodedTicket.end()))
                verifier_->verify(encodedTicket, trust::Dormant::Allow);
            return ticket.ticketId;
        }
        auto verified = verifier_->accept(encodedTicket, trust::Dormant::Allow);
        const bool dormant = trust::isDormant(ticket);
        const auto now = clock_->now();
        db_->write([&](Transaction& tx) {
            tx.execute("INSERT INTO ppv_ticket (ticket_id, event_id, not_before, not_after, encoded, added_at, dormant, "
                       "playback_window, views_allowed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {ticket.ticketId, ticket.eventId, ticket.notBefore, ticket.notAfter, encodedTicket, now,
                        dormant ? 1 : 0, static_cast<std::int64_t>(ticket.playbackWindow),
                        static_cast<std::int64_t>(ticket.viewsLeft)});
        });
        keys_[ticket.ticketId] = std::move(verified.eventKey);
        added = infoOf({ticket.ticketId, ticket.eventId, ticket.notBefore, ticket.notAfter, {}, dormant, 0,
                        ticket.playbackWindow, 0, ticket.viewsLeft, 0},
                       now);
    }
    logger().information("ticket %s for event %s added to the wallet", ticket.ticketId, ticket.eventId);
    if (ticketAdded_) ticketAdded_(added);
    return ticket.ticketId;
}

void TicketWallet::replaceCatalog(const std::vector<CatalogEvent>& events)
{
    for (const auto& e : events)
        if (e.eventId.empty()) throw Error(ErrorCode::InvalidArgument, "catalog event without an event id");
    db_->write([&](Transaction& tx) {
        tx.execute("DELETE FROM ppv_catalog");
        std::int64_t position = 0;
        for (const auto& e : events)
            tx.execute(std::string("INSERT INTO ppv_catalog (") + kEventColumns +
                           ", position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {e.eventId, e.title, e.payee, e.price, e.currency, e.saleFrom, e.saleUntil, e.startsAt, e.endsAt,
                        e.previewSeconds, e.blackout ? 1 : 0, e.eventKeyId, static_cast<std::int64_t>(e.dvbEventId),
                        e.playUri, static_cast<std::int64_t>(e.program), e.views, e.playbackWindow, position++});
    });
    if (catalogChanged_) catalogChanged_();
}

std::vector<CatalogEvent> TicketWallet::catalog() const
{
    std::vector<CatalogEvent> list;
    for (const auto& r : db_->query(std::string("SELECT ") + kEventColumns + " FROM ppv_catalog ORDER BY position"))
        list.push_back(eventFrom(r));
    return list;
}

std::optional<CatalogEvent> TicketWallet::event(const std::string& eventId) const
{
    const auto r =
        db_->query(std::string("SELECT ") + kEventColumns + " FROM ppv_catalog WHERE event_id = ?", {eventId}).single();
    if (!r) return std::nullopt;
    return eventFrom(*r);
}

std::size_t TicketWallet::storedCount() const
{
    const auto row = db_->query("SELECT COUNT(*) FROM ppv_ticket").single();
    return row ? static_cast<std::size_t>(row->int64(0)) : std::size_t{0};
}

namespace {
// Whether a stored ticket waits to be bought, from its signed bytes: the `dormant` column
// is only a cache, and an edited one must not make an unbought ticket playable. A ticket
// that does not decode is taken as dormant (it plays nothing; verify() names the fault).
bool dormantOf(const Bytes& encoded)
{
    try {
        return trust::isDormant(wire::Ticket::decode(encoded));
    } catch (const Error&) {
        return true;
    }
}
} // namespace

std::vector<TicketWallet::Stored> TicketWallet::storedTickets(const std::string& eventId) const
{
    static const std::string columns = "SELECT ticket_id, event_id, not_before, not_after, encoded, "
                                       "activation, playback_window, first_played_at, views_allowed, views_used "
                                       "FROM ppv_ticket ";
    const auto rows = eventId.empty() ? db_->query(columns + "ORDER BY added_at, ticket_id")
                                      : db_->query(columns + "WHERE event_id = ? ORDER BY added_at, ticket_id", {eventId});
    std::vector<Stored> list;
    for (const auto& r : rows)
        list.push_back({r.text(0), r.text(1), r.int64(2), r.int64(3), r.blob(4), dormantOf(r.blob(4)),
                        static_cast<std::uint64_t>(r.int64(5)), static_cast<std::uint32_t>(r.int64(6)), r.int64(7),
                        static_cast<std::uint16_t>(r.int64(8)), static_cast<std::uint32_t>(r.int64(9))});
    return list;
}

std::string TicketWallet::stateOf(const Stored& t, wire::UnixTime now) const
{
    if (revocations_->isTicketRevoked(t.ticketId)) return "revoked";
    if (now < t.notBefore) return "not-yet-valid";
    if (now >= playableUntil(t)) return "expired";
    if (t.dormant && (t.activation == 0 || !activationCheck_ || !activationCheck_(t.ticketId, t.activation)))
        return "dormant";
    // The last view goes on to its end; after it the ticket is used up.
    if (t.limitedViews() && t.viewsUsed >= t.viewsAllowed && !currentView(t.ticketId, now)) return "used-up";
    return "valid";
}

std::optional<wire::UnixTime> TicketWallet::currentView(const std::string& ticketId, wire::UnixTime now) const
{
    std::lock_guard lock(viewingMutex_);
    const auto view = views_.find(ticketId);
    // Either way: the trusted clock may step back a little (an NTP correction) mid-view.
    if (view == views_.end() || std::abs(now - view->second.lastWords) >= viewGap_) return std::nullopt;
    return view->second.playableUntil;
}

// While a ticket plays, the trusted clock's mark follows (at most kMarkLag behind), so a
// clock set back afterwards cannot replay a rental's window: now() refuses it as a rollback.
void TicketWallet::raiseClockMark(wire::UnixTime now) noexcept
{
    try {
        if (now - clock_->highWaterMark() >= kMarkLag) clock_->observe(now);
    } catch (const std::exception& e) {
        logger().warning("trusted clock mark not raised: %s", std::string(e.what()));
    }
}

std::optional<std::string> TicketWallet::startView(const Stored& t, wire::UnixTime now)
{
    const auto history = history_();
    if (!history) throw Error(ErrorCode::Unavailable, "no billing history to record the play of ticket " + t.ticketId);
    // What the ticket allows comes from its signed bytes, what is used from the history's
    // plays: ppv.db's columns are only a cache for listings.
    const auto ticket = wire::Ticket::decode(t.encoded);
    const auto plays = history->ofTicket(t.ticketId, wire::HistoryKind::Play);
    Stored known = t;
    if (known.firstPlayedAt > now) known.firstPlayedAt = 0;   // a cache set ahead starts nothing
    known.notAfter = ticket.notAfter;
    known.viewsAllowed = ticket.viewsLeft;
    known.playbackWindow = ticket.playbackWindow;
    known.viewsUsed = static_cast<std::uint32_t>(plays.size());
    // A play before this history knew plays is only in the cache: the earlier start counts.
    if (!plays.empty() && (t.firstPlayedAt == 0 || plays.front().record.recordedAt < t.firstPlayedAt))
        known.firstPlayedAt = plays.front().record.recordedAt;
    const wire::UnixTime lastPlay = plays.empty() ? 0 : plays.back().record.recordedAt;
    std::optional<std::string> refusal;
    if (known.limitedViews() && known.viewsUsed >= known.viewsAllowed) {
        refusal = "ticket " + t.ticketId + " has no views left (all " + std::to_string(known.viewsAllowed) + " used)";
    } else if (known.firstPlayedAt != 0 && now >= playableUntil(known)) {
        refusal = "ticket " + t.ticketId + " is expired (its playback window has ended)";
    } else if (now < lastPlay) {
        // A clock set back to replay a rental inside its window.
        refusal = "ticket " + t.ticketId + ": the clock is behind its last play";
    } else {
        const auto play = history->append({wire::HistoryKind::Play, t.eventId, t.ticketId, "", 0, "", now, false});
        ++known.viewsUsed;
        if (known.firstPlayedAt == 0) known.firstPlayedAt = now;
        {
            // At once: if the cache write below fails, the next ECM must not start another view.
            // The view keeps its end: editing the cache mid-view does not extend it.
            std::lock_guard lock(viewingMutex_);
            views_[t.ticketId] = {now, playableUntil(known)};
        }
        logger().information("ticket %s: view %s started (billing record %s)%s", t.ticketId,
                             std::to_string(known.viewsUsed), std::to_string(play.record.sequence),
                             known.playbackWindow > 0 && known.viewsUsed == 1
                                 ? " - playable for " + std::to_string(known.playbackWindow) + " s"
                                 : std::string());
    }
    if (known.viewsUsed != t.viewsUsed || known.firstPlayedAt != t.firstPlayedAt ||
        known.viewsAllowed != t.viewsAllowed || known.playbackWindow != t.playbackWindow || known.notAfter != t.notAfter) {
        try {
            db_->write([&](Transaction& tx) {
                tx.execute("UPDATE ppv_ticket SET views_used = ?, first_played_at = ?, views_allowed = ?, "
                           "playback_window = ?, not_after = ? WHERE ticket_id = ?",
                           {static_cast<std::int64_t>(known.viewsUsed), known.firstPlayedAt,
                            static_cast<std::int64_t>(known.viewsAllowed),
                            static_cast<std::int64_t>(known.playbackWindow), known.notAfter, t.ticketId});
            });
        } catch (const std::exception& e) {
            // The history has the play; only the listings lag until the next view.
            logger().warning("ticket %s: the wallet's cache of its plays was not updated: %s", t.ticketId,
                             std::string(e.what()));
        }
    }
    return refusal;
}

wire::UnixTime TicketWallet::playableUntil(const Stored& t)
{
    return t.firstPlayedAt == 0 ? t.notAfter : trust::playbackEnds(t.notAfter, t.playbackWindow, t.firstPlayedAt);
}

TicketInfo TicketWallet::infoOf(const Stored& t, wire::UnixTime now) const
{
    const auto e = event(t.eventId);
    std::optional<std::uint32_t> viewsLeft;
    if (t.limitedViews()) viewsLeft = t.viewsUsed >= t.viewsAllowed ? 0u : t.viewsAllowed - t.viewsUsed;
    return {t.ticketId,      t.eventId, e ? e->title : t.eventId, t.notBefore, t.notAfter, t.firstPlayedAt,
            playableUntil(t), viewsLeft, stateOf(t, now),         t.dormant};
}

std::optional<TicketInfo> TicketWallet::dormantTicketFor(const std::string& eventId) const
{
    const auto now = clock_->now();
    for (const auto& t : storedTickets(eventId))
        if (t.dormant && stateOf(t, now) == "dormant") return infoOf(t, now);
    return std::nullopt;
}

void TicketWallet::activate(const std::string& ticketId, std::uint64_t sequence)
{
    if (sequence == 0) throw Error(ErrorCode::InvalidArgument, "activation needs the purchase record's sequence");
    const auto changed = db_->write([&](Transaction& tx) -> std::uint64_t {
        // Dormant by its signed bytes, not by the cache's column (see dormantOf).
        const auto row = tx.query("SELECT encoded FROM ppv_ticket WHERE ticket_id = ? AND activation = 0", {ticketId})
                             .single();
        if (!row || !dormantOf(row->blob(0))) return 0;
        return tx.execute("UPDATE ppv_ticket SET activation = ? WHERE ticket_id = ? AND activation = 0",
                          {static_cast<std::int64_t>(sequence), ticketId});
    });
    if (changed != 1) throw Error(ErrorCode::Conflict, "ticket " + ticketId + " is not a dormant ticket waiting to be bought");
    logger().information("dormant ticket %s bought (billing record %s)", ticketId, std::to_string(sequence));
    if (ticketAdded_)
        if (auto info = ticket(ticketId)) ticketAdded_(*info);
}

void TicketWallet::setActivationCheck(ActivationCheck check) { activationCheck_ = std::move(check); }

std::vector<TicketInfo> TicketWallet::tickets() const
{
    const auto now = clock_->now();
    std::vector<TicketInfo> list;
    for (const auto& t : storedTickets({})) list.push_back(infoOf(t, now));
    return list;
}

std::optional<TicketInfo> TicketWallet::ticket(const std::string& ticketId) const
{
    for (const auto& t : tickets())
        if (t.ticketId == ticketId) return t;
    return std::nullopt;
}

std::optional<TicketInfo> TicketWallet::ticketFor(const std::string& eventId) const
{
    const auto now = clock_->now();
    std::optional<TicketInfo> best;
    for (const auto& t : storedTickets(eventId)) {
        auto info = infoOf(t, now);
        if (!best || (info.state == "valid" && best->state != "valid") ||
            (info.state == best->state && info.notAfter > best->notAfter))
            best = std::move(info);
    }
    return best;
}

std::string TicketWallet::stateOf(const CatalogEvent& event, wire::UnixTime now) const
{
    for (const auto& t : storedTickets(event.eventId))
        if (stateOf(t, now) == "valid") return "owned";
    if (event.blackout) return "blackout";
    if (now < event.saleFrom) return "not-yet-on-sale";
    if (now >= event.saleUntil) return "window-closed";
    return "on-sale";
}

std::optional<mpegts::ControlWords> TicketWallet::onEcm(ByteView section, std::string& reason) noexcept
{
    try {
        const auto header = mpegts::peekEcm(section);
        const auto now = clock_->now();   // ClockRollback: no control words for a clock set back
        // The catalog may say which event the ECM's EIT event_id is; otherwise every
        // ticket is a candidate and AES-GCM's tag tells which key fits.
        std::string eventId;
        for (const auto& e : catalog())
            if (e.dvbEventId != 0 && e.dvbEventId == header.eventId) eventId = e.eventId;
        const auto candidates = storedTickets(eventId);
        std::string why;
        std::lock_guard lock(mutex_);
        for (const auto& t : candidates) {
            const auto state = stateOf(t, now);
            if (state != "valid") {
                why = "ticket " + t.ticketId + " is " + state;
                continue;
            }
            auto key = keys_.find(t.ticketId);
            if (key == keys_.end())
                key = keys_.emplace(t.ticketId, verifier_->verify(t.encoded, trust::Dormant::Allow).eventKey).first;
            std::optional<mpegts::ControlWords> words;
            try {
                words = mpegts::openEcm(section, key->second);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::BadSignature) throw;
                continue;
            }
            // Words after a pause start a view; if it cannot be recorded, nothing is given
            // out (the throw ends up in `reason`).
            if (const auto viewEnds = currentView(t.ticketId, now)) {
                if (now >= *viewEnds) {
                    why = "ticket " + t.ticketId + " is expired (its playback window has ended)";
                    continue;
                }
            } else if (auto refused = startView(t, now)) {
                why = *refused;
                continue;
            }
            {
                std::lock_guard viewingLock(viewingMutex_);
                views_[t.ticketId].lastWords = now;
            }
            raiseClockMark(now);
            return words;
        }
        reason = why.empty() ? "no ticket covers event " + std::to_string(header.eventId) : why;
    } catch (const std::exception& e) {
        reason = e.what();
    }
    return std::nullopt;
}

void TicketWallet::onTicketAdded(std::function<void(const TicketInfo&)> handler) { ticketAdded_ = std::move(handler); }
void TicketWallet::onCatalogChanged(std::function<void()> handler) { catalogChanged_ = std::move(handler); }

} // namespace boxoffice::plugins::ppv
