#pragma once
// The control API front end: JSON-RPC over HTTP POST and WebSocket at /jsonrpc,
// loopback only, with tokens, request size limits, per-connection rate limits
// and a limit on failed authentications. Other GET paths
// serve static files from `staticRoot` when set (the TV user interface).

#include <boxoffice/rpc/Dispatcher.h>
#include <boxoffice/rpc/TokenStore.h>

#include <Poco/Logger.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace Poco::Net {
class HTTPServer;
}

namespace boxoffice::rpc {

struct ServerOptions {
    std::string address = "127.0.0.1";  // must be a loopback address
    std::uint16_t port = 0;              // 0 picks a free port; see Server::port()
    std::size_t maxRequestBytes = 64 * 1024;
    double requestsPerSecond = 100.0;    // per connection, sustained
    double requestBurst = 200.0;         // per connection, at once
    // Wrong or missing tokens, all clients together (loopback only: any local
    // process can take any source address): past the burst, new authentications get
    // 429 whatever token they show until a try is earned back at this rate;
    // authenticated WebSocket sessions are not affected.
    double failedAuthPerMinute = 6.0;
    double failedAuthBurst = 10.0;
    int maxThreads = 16;                 // HTTP worker threads
    int maxWebSockets = 8;               // each holds a thread (Poco's model)
    std::filesystem::path staticRoot;    // empty: no static files
};

class Server {
public:
    Server(Dispatcher& dispatcher, const TokenStore& tokens, ServerOptions options, Poco::Logger& logger);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    // Stops accepting, closes WebSocket sessions, waits for requests in flight.
    void stop();
    std::uint16_t port() const;

    struct Shared;  // state the request handlers share with the server

private:
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<Poco::Net::HTTPServer> http_;
};

} // namespace boxoffice::rpc
