#pragma once
// JSON-RPC 2.0 dispatcher: method table with permission scopes, batches,
// notifications, and event subscriptions. Transport-neutral: the HTTP and
// WebSocket front ends in Server feed it text and send back what it returns.

#include <boxoffice/base/OwnerGates.h>
#include <boxoffice/rpc/Caller.h>
#include <boxoffice/rpc/Request.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/Logger.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::rpc {

using Handler = std::function<Poco::Dynamic::Var(const Request&)>;

class Dispatcher {
public:
    explicit Dispatcher(Poco::Logger& logger);

    // `method` must read plugin.version.name (e.g. "ppv.1.purchase"); a caller
    // needs `scope` among its token's scopes. `owner` lets a plugin's methods be
    // withdrawn together. Throws Error(AlreadyExists) for a taken name.
    void addMethod(const std::string& method, const std::string& scope, Handler handler,
                   const std::string& owner);

    // Declares an event ("ppv.1.purchaseStatus") and the scope needed to subscribe.
    void addEvent(const std::string& event, const std::string& scope, const std::string& owner);

    // Withdraws every method and event of `owner`; their subscriptions end.
    void removeOwner(const std::string& owner);

    bool hasMethod(const std::string& method) const;

    // Handles one request or batch. Returns the response text, or nothing when
    // the input held only notifications.
    std::optional<std::string> handle(std::string_view text, const Caller& caller);

    // Sends a notification {"method": event, "params": params} to every session
    // subscribed to `event`. Sessions that fail to take it are dropped.
    void emit(const std::string& event, const Poco::Dynamic::Var& params);

    // A WebSocket session is over: forget its subscriptions.
    void detach(const EventSink* session);

    // A response for a request that never reached dispatch (e.g. unauthenticated).
    static std::string errorResponse(int code, const std::string& message, const std::string& keyword);

    // Refuses every request in `text` (one or a batch) with the same error,
    // keeping their ids so that clients can match the refusal; nothing for
    // notifications. Used when a connection is over its rate limit.
    static std::optional<std::string> refuse(std::string_view text, int code, const std::string& message,
                                             const std::string& keyword);

private:
    struct Method {
        std::string scope;
        Handler handler;
        std::string owner;
        std::shared_ptr<OwnerGates::Gate> gate;
    };
    struct Event {
        std::string scope;
        std::string owner;
    };
    struct Subscription {
        std::weak_ptr<EventSink> session;
        std::vector<std::string> events;
    };

    Poco::Dynamic::Var handleOne(const Poco::Dynamic::Var& message, const Caller& caller);
    Poco::Dynamic::Var subscribe(const Request& request, bool on);
    void addBuiltins();

    Poco::Logger& logger_;
    mutable std::shared_mutex methodsMutex_;
    std::map<std::string, std::shared_ptr<const Method>, std::less<>> methods_;
    std::map<std::string, Event, std::less<>> events_;
    std::mutex subscriptionsMutex_;
    std::map<const EventSink*, Subscription> subscriptions_;
    OwnerGates gates_;  // so that removeOwner() waits for the owner's calls in flight
};

} // namespace boxoffice::rpc
