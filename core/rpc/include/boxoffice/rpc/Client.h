#pragma once
// A JSON-RPC client for the control API, over HTTP keep-alive or WebSocket.
// Used by boxoffice-ctl, the demo, the tests and the benchmarks. A JSON-RPC
// error comes back as boxoffice::Error, its code taken from data.error.

#include <boxoffice/base/Error.h>

#include <Poco/Dynamic/Var.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace Poco::Net {
class HTTPClientSession;
class WebSocket;
}

namespace boxoffice::rpc {

struct Notification {
    std::string method;
    Poco::Dynamic::Var params;
};

class HttpClient {
public:
    HttpClient(const std::string& host, std::uint16_t port, std::string token);
    ~HttpClient();

    Poco::Dynamic::Var call(const std::string& method, const Poco::Dynamic::Var& params = {});

    // Sends `body` as is; returns the HTTP status and the response body.
    std::pair<int, std::string> post(const std::string& body);

private:
    std::unique_ptr<Poco::Net::HTTPClientSession> session_;
    std::string token_;
    std::int64_t nextId_ = 1;
};

class WebSocketClient {
public:
    WebSocketClient(const std::string& host, std::uint16_t port, const std::string& token);
    ~WebSocketClient();

    // Sends a request and waits for its response; notifications that arrive in
    // between are kept for nextNotification().
    Poco::Dynamic::Var call(const std::string& method, const Poco::Dynamic::Var& params = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
    std::optional<Notification> nextNotification(std::chrono::milliseconds timeout);

    void sendText(const std::string& text);
    // The next text frame, or nothing on timeout. Throws Error(Io) when the
    // server closed the connection; closeStatus() then tells why.
    std::optional<std::string> receiveText(std::chrono::milliseconds timeout);
    int closeStatus() const { return closeStatus_; }

private:
    std::unique_ptr<Poco::Net::WebSocket> socket_;
    std::deque<Notification> notifications_;
    std::int64_t nextId_ = 1;
    int closeStatus_ = 0;
};

// Turns a parsed response into its result or throws its error.
Poco::Dynamic::Var resultOf(const Poco::Dynamic::Var& response);

} // namespace boxoffice::rpc
