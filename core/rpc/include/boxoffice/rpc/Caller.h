#pragma once
// Who is calling a JSON-RPC method: the authenticated client and, on a
// WebSocket, the session that receives its events.

#include <memory>
#include <set>
#include <string>

namespace boxoffice::rpc {

class EventSink;

struct Caller {
    std::string client;                  // token name, for logs; never the token itself
    std::set<std::string> scopes;        // permission tags the token carries
    std::shared_ptr<EventSink> session;  // null for HTTP POST: no events there

    bool mayUse(const std::string& scope) const { return scopes.contains(scope); }
};

// Receives the notifications of a WebSocket session. send() must be safe to
// call from any thread.
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void send(const std::string& text) = 0;
};

} // namespace boxoffice::rpc
