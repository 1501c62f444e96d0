#pragma once
// One WebSocket connection of the control API: reads JSON-RPC messages, writes
// replies and the notifications it subscribed to.

#include <boxoffice/rpc/Caller.h>

#include <Poco/Net/WebSocket.h>

#include <mutex>
#include <string>

namespace boxoffice::rpc {

class WebSocketSession : public EventSink {
public:
    explicit WebSocketSession(Poco::Net::WebSocket socket) : socket_(std::move(socket)) {}

    void send(const std::string& text) override;
    void close(std::uint16_t status, const std::string& reason);
    Poco::Net::WebSocket& socket() { return socket_; }

private:
    std::mutex sendMutex_;  // replies and events come from different threads
    Poco::Net::WebSocket socket_;
};

} // namespace boxoffice::rpc
