#pragma once
// The purchase flow (DESIGN §5 flow 3, with the OTP variant of flow 4):
//
//   buy: event on sale, not owned -> PIN -> POST /v1/stb/orders -> order "awaiting-phone"
//   worker: SettlementRequest to a paired phone over Bluetooth
//     phone relays its signed approval  -> POST /v1/stb/approvals -> ticket
//     phone approved over its own line  -> GET /v1/stb/orders/{id} until the ticket
//   ticket -> wallet (verified) -> billing history record -> "approved"
//
// Without a line (flow 5): a dormant ticket delivered ahead -> PIN -> deferred billing
// record under the credit limit -> the ticket activated -> "approved" (method credit).
//
// Every state change is stored (ppv_order) before it is announced. Refusals are
// Refusal errors carrying the contract's reason keyword. Thread-safe.

#include "Pin.h"
#include "TicketWallet.h"

#include <boxoffice/billing/History.h>
#include <boxoffice/bluetooth/PhoneChannel.h>
#include <boxoffice/sync/ServerLink.h>

#include <Poco/JSON/Object.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>

namespace boxoffice::plugins::ppv {

struct OrderInfo {
    std::string orderId;
    std::string eventId;
    wire::Amount amount = 0;
    std::string currency;
    std::string payee;
    std::string transactionNumber;
    std::string method;       // phone | otp | credit (flow 5, bought offline)
    std::string state;        // ordering | awaiting-phone | awaiting-otp | approved | declined | not-me | expired | failed | cancelled
    std::string reason;       // why it ended other than approved (a reason keyword or the phone's/server's text)
    std::string ticketId;
    wire::UnixTime createdAt = 0;

    bool final() const;
};

Poco::JSON::Object::Ptr toJson(const OrderInfo& order);

class Purchases {
public:
    struct Options {
        std::chrono::milliseconds phoneTimeout{90'000};   // waiting for the phone's answer
        std::chrono::milliseconds pollInterval{500};      // asking the server for the ticket
        std::chrono::milliseconds pollTimeout{180'000};
    };
    template <class T> using Finder = std::function<std::shared_ptr<T>()>;

    Purchases(std::shared_ptr<storage::Database> db, TicketWallet& wallet, PinGuard& pin,
              Finder<sync::ServerLink> link, Finder<bluetooth::PhoneChannel> phones, Finder<billing::History> history,
              Options options);
    ~Purchases();

    void onOrderChanged(std::function<void(const OrderInfo&)> handler);

    OrderInfo buy(const std::string& eventId, const std::string& pin, const std::string& method);
    OrderInfo order(const std::string& orderId) const;
    OrderInfo enterOtp(const std::string& orderId, const std::string& otp);
    OrderInfo cancel(const std::string& orderId);
    // Picks up orders still waiting after a restart.
    void resume();
    // Ends the workers (they stop waiting; their orders stay as they are).
    void stop();

    // One request to the server; Refusal no-line / not-registered / no-credit / ... on failure.
    // requestId (the order id) goes out as X-Request-Id, so the server's log lines of a
    // purchase carry the id the STB logs it under.
    Poco::JSON::Object::Ptr callServer(const std::string& method, const std::string& path,
                                       const Poco::Dynamic::Var& body = {}, const std::string& requestId = {});

private:
    void save(const OrderInfo& order);
    void start(std::function<void()> work);
    bool pause(std::chrono::milliseconds duration);   // false when stopping
    // Flow 5: a dormant ticket for the event bought on credit (deferred billing record,
    // then the ticket activated); nothing when the wallet holds no dormant ticket for it.
    std::optional<OrderInfo> buyOnCredit(const CatalogEvent& event);
    // Activates dormant tickets whose purchase record exists (a crash between the two).
    void reconcileCredit();
    void askPhone(OrderInfo order, std::string phoneId, Poco::JSON::Object::Ptr serverOrder);
    void awaitTicket(OrderInfo order);
    // Takes the server's view of the order; true when the order is final now.
    bool apply(OrderInfo& order, const Poco::JSON::Object::Ptr& serverOrder);
    void complete(OrderInfo& order, const std::string& ticket);
    // Appends an order's purchase record (unless a marked earlier attempt put it there) and
    // clears its mark; false (logged, marked) when the history is missing or refuses it.
    // recordUnrecorded() does this for every marked approved order (at start, after a success).
    void markUnrecorded(const std::string& orderId, bool unrecorded);
    bool recordPurchase(const OrderInfo& order);
    void recordUnrecorded();
    void end(OrderInfo& order, const std::string& state, const std::string& reason);

    std::shared_ptr<storage::Database> db_;
    TicketWallet& wallet_;
    PinGuard& pin_;
    Finder<sync::ServerLink> link_;
    Finder<bluetooth::PhoneChannel> phones_;
    Finder<billing::History> history_;
    Options options_;
    std::function<void(const OrderInfo&)> changed_;

    std::mutex completing_;   // one ticket per order: the OTP answer and the poller may race
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

} // namespace boxoffice::plugins::ppv
