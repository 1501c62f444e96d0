#pragma once
// The wallet: tickets verified with core/trust and kept in the ppv database, the
// cached catalog, and the descrambler's KeyService (control words from the event
// key of a valid ticket for the ECM's event). Thread-safe.
//
// Only the ticket as received is stored: its event key is sealed to this device,
// so the file gives nothing away. Unwrapped event keys live in memory only.
//
// Views: a ticket's view starts when its control words are given out after a pause
// of at least `viewGap` (a restart counts as one too; the gap must be longer than a
// crypto period, and the trusted clock may step either way within it) and is recorded
// as a Play in the signed billing history. The history decides how many of the
// ticket's views (`viewsLeft` as issued) are used and when a rental's playback window
// started (first play + window, never after notAfter); what the ticket allows is read
// from its signed bytes. ppv.db only caches both for listings, so editing it gives
// nothing back. A view that cannot be recorded gives no control words. While a ticket
// plays, the trusted clock's mark follows it, so a clock set back cannot replay a window.

#include <boxoffice/billing/History.h>
#include <boxoffice/mpegts/KeyService.h>
#include <boxoffice/ppv/Wallet.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/trust/DeviceIdentity.h>
#include <boxoffice/trust/TicketVerifier.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace boxoffice::plugins::ppv {

using boxoffice::ppv::CatalogEvent;

struct TicketInfo {
    std::string ticketId;
    std::string eventId;
    std::string title;        // from the catalog; the event id when unknown
    wire::UnixTime notBefore = 0;
    wire::UnixTime notAfter = 0;
    wire::UnixTime firstPlayedAt = 0;  // 0: never played
    wire::UnixTime playableUntil = 0;  // notAfter, or the end of the playback window once played
    std::optional<std::uint32_t> viewsLeft;  // for a ticket with a number of views; nullopt: unlimited
    std::string state;        // valid | expired | revoked | not-yet-valid | dormant | used-up (no views left)
    bool dormant = false;     // delivered ahead (flow 5): playable only once bought on credit
};

class TicketWallet final : public boxoffice::ppv::Wallet, public mpegts::KeyService {
public:
    using HistoryFinder = std::function<std::shared_ptr<billing::History>()>;
    static constexpr wire::UnixTime kDefaultViewGap = 300;

    TicketWallet(std::shared_ptr<storage::Database> db, trust::TrustAnchor root, const trust::DeviceIdentity& device,
                 std::shared_ptr<trust::TrustedClock> clock, std::shared_ptr<trust::RevocationState> revocations,
                 HistoryFinder history, wire::UnixTime viewGap = kDefaultViewGap);
    ~TicketWallet() override;

    std::string addTicket(ByteView encodedTicket) override;
    void replaceCatalog(const std::vector<CatalogEvent>& events) override;
    std::optional<mpegts::ControlWords> onEcm(ByteView section, std::string& reason) noexcept override;

    // Trusted time; Error(ClockRollback) when the clock was set back.
    wire::UnixTime now() const;
    std::vector<TicketInfo> tickets() const;
    // How many tickets are stored (needs no trusted time: works with a clock set back).
    std::size_t storedCount() const;
    std::optional<TicketInfo> ticket(const std::string& ticketId) const;
    // The best ticket for the event (valid first, then the latest to end).
    std::optional<TicketInfo> ticketFor(const std::string& eventId) const;
    std::vector<CatalogEvent> catalog() const;
    std::optional<CatalogEvent> event(const std::string& eventId) const;
    // on-sale | not-yet-on-sale | window-closed | blackout | owned
    std::string stateOf(const CatalogEvent& event, wire::UnixTime now) const;

    // Flow 5. A dormant ticket for the event that is not bought yet (state "dormant").
    std::optional<TicketInfo> dormantTicketFor(const std::string& eventId) const;
    // Unlocks a dormant ticket once the purchase is recorded as billing record `sequence`.
    // Error(Conflict) when it is not a dormant ticket still waiting to be bought.
    void activate(const std::string& ticketId, std::uint64_t sequence);
    // How an activation is confirmed: the history must hold a purchase of this ticket
    // at that sequence (the ppv database is not tamper-evident, the history is).
    // Without a check, no dormant ticket counts as bought.
    using ActivationCheck = std::function<bool(const std::string& ticketId, std::uint64_t sequence)>;
    void setActivationCheck(ActivationCheck check);

    // Called after a change is committed (never under the wallet's lock).
    void onTicketAdded(std::function<void(const TicketInfo&)> handler);
    void onCatalogChanged(std::function<void()> handler);

private:
    class DatabaseSeenTickets;
    struct Stored {
        std::string ticketId, eventId;
        wire::UnixTime notBefore = 0, notAfter = 0;
        Bytes encoded;
        bool dormant = false;
        std::uint64_t activation = 0;
        std::uint32_t playbackWindow = 0;  // seconds after the first play; 0: until notAfter
        wire::UnixTime firstPlayedAt = 0;  // cached from the history
        std::uint16_t viewsAllowed = wire::unlimitedViews;
        std::uint32_t viewsUsed = 0;       // cached from the history
        bool limitedViews() const { return viewsAllowed != wire::unlimitedViews; }
    };
    std::vector<Stored> storedTickets(const std::string& eventId) const;
    TicketInfo infoOf(const Stored& t, wire::UnixTime now) const;
    std::string stateOf(const Stored& t, wire::UnixTime now) const;
    static wire::UnixTime playableUntil(const Stored& t);
    void fillFromTicketBytes();
    // The end of the ticket's view going on at `now` (its window, or notAfter); nullopt: none.
    std::optional<wire::UnixTime> currentView(const std::string& ticketId, wire::UnixTime now) const;
    static constexpr wire::UnixTime kMarkLag = 60;
    void raiseClockMark(wire::UnixTime now) noexcept;
    // Records a new view of `t` in the history; the refusal when the history says it
    // has no views left or its playback window is over. Throws when it cannot record.
    std::optional<std::string> startView(const Stored& t, wire::UnixTime now);

    std::shared_ptr<storage::Database> db_;
    std::shared_ptr<trust::TrustedClock> clock_;
    std::shared_ptr<trust::RevocationState> revocations_;
    std::unique_ptr<DatabaseSeenTickets> seen_;
    std::unique_ptr<trust::TicketVerifier> verifier_;
    HistoryFinder history_;
    wire::UnixTime viewGap_;

    mutable std::mutex mutex_;   // serializes addTicket and the key cache
    std::map<std::string, crypto::SecretBytes> keys_;   // ticket id -> unwrapped event key
    std::function<void(const TicketInfo&)> ticketAdded_;
    std::function<void()> catalogChanged_;
    ActivationCheck activationCheck_;
    mutable std::mutex viewingMutex_;
    struct View {
        wire::UnixTime lastWords = 0;      // when its control words were last given
        wire::UnixTime playableUntil = 0;  // from the history and the signed ticket, at the view's start
    };
    std::map<std::string, View> views_;   // by ticket id
};

} // namespace boxoffice::plugins::ppv
