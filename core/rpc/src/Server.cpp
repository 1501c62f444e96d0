#include <boxoffice/rpc/Server.h>

#include "WebSocketSession.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/ErrorMapping.h>
#include <boxoffice/rpc/RateLimiter.h>

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <set>

namespace boxoffice::rpc {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

struct Server::Shared {
    Shared(Dispatcher& d, const TokenStore& t, ServerOptions o, Poco::Logger& l)
        : dispatcher(d), tokens(t), options(std::move(o)), logger(l),
          pool("rpc", 2, options.maxThreads + options.maxWebSockets)
    {
    }

    // One bucket per TCP connection (peer address and port), so keep-alive
    // clients are limited per connection as a WebSocket is.
    bool admit(const std::string& connection) { return limits.tryAcquire(connection); }

    // A request's caller, or why it has none.
    struct Authentication {
        std::optional<Caller> caller;
        std::chrono::duration<double> lockedOut{0};  // > 0: the address is refused for this long
    };

    // Wrong or missing tokens draw on one budget for the whole server: it listens
    // on loopback only, where any local process can take any 127.0.0.0/8 source
    // address, so a per-address budget would only multiply a guesser's tries.
    // Each authentication reserves one try first (given back when the token is
    // right), so concurrent guesses cannot all slip through on the last one. With
    // the budget spent, new authentications are refused unexamined until it has
    // refilled (a lockout: valid tokens too); authenticated WebSocket sessions go on.
    Authentication authenticateLimited(const HTTPServerRequest& request, bool allowQuery)
    {
        {
            std::lock_guard lock(authMutex);
            const auto now = RateLimiter::Clock::now();
            if (!authFailures.tryAcquire(now)) return {std::nullopt, authFailures.untilAvailable(now)};
        }
        auto caller = authenticate(request, allowQuery);
        std::lock_guard lock(authMutex);
        const auto now = RateLimiter::Clock::now();
        if (caller) {
            authFailures.giveBack(now);
        } else if (const auto wait = authFailures.untilAvailable(now); wait.count() > 0) {
            logger.warning("too many failed authentications (the last from %s): new ones refused for %.0f s",
                           request.clientAddress().host().toString(), std::ceil(wait.count()));
        }
        return {std::move(caller), {}};
    }

    std::optional<Caller> authenticate(const HTTPServerRequest& request, bool allowQuery) const
    {
        const std::string authorization = request.get("Authorization", "");
        static const std::string bearer = "Bearer ";
        if (authorization.compare(0, bearer.size(), bearer) == 0)
            return tokens.authenticate(std::string_view(authorization).substr(bearer.size()));
        if (allowQuery) {
            // Browsers cannot set headers on a WebSocket handshake.
            for (const auto& [key, value] : Poco::URI(request.getURI()).getQueryParameters())
                if (key == "token") return tokens.authenticate(value);
        }
        return std::nullopt;
    }

    Dispatcher& dispatcher;
    const TokenStore& tokens;
    ServerOptions options;
    Poco::Logger& logger;
    Poco::ThreadPool pool;
    std::atomic<bool> stopping{false};
    std::atomic<int> webSockets{0};
    ClientRateLimits limits{options.requestsPerSecond, options.requestBurst, 4096};
    std::mutex authMutex;
    RateLimiter authFailures{options.failedAuthPerMinute / 60.0, options.failedAuthBurst};
    std::mutex sessionsMutex;
    std::set<std::shared_ptr<WebSocketSession>> sessions;
};

namespace {

void sendJson(HTTPServerResponse& response, HTTPResponse::HTTPStatus status, const std::string& body)
{
    response.setStatus(status);
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
}

// 401, or 429 with Retry-After while the address is locked out.
void refuseAuthentication(HTTPServerResponse& response, const Server::Shared::Authentication& refused)
{
    if (refused.lockedOut.count() > 0) {
        // Capped at a day: a tiny configured rate must not overflow the conversion.
        const double seconds = std::min(std::ceil(refused.lockedOut.count()), 86400.0);
        response.set("Retry-After", std::to_string(static_cast<long long>(seconds)));
        sendJson(response, HTTPResponse::HTTP_TOO_MANY_REQUESTS,
                 Dispatcher::errorResponse(LimitExceeded, "too many failed authentications; try again later",
                                           "limit exceeded"));
        return;
    }
    response.set("WWW-Authenticate", "Bearer");
    sendJson(response, HTTPResponse::HTTP_UNAUTHORIZED,
             Dispatcher::errorResponse(Unauthorized, "missing or unknown token", "permission denied"));
}

class PostHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit PostHandler(std::shared_ptr<Server::Shared> shared) : shared_(std::move(shared)) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override
    {
        auto& s = *shared_;
        // The body is read before any refusal so that a keep-alive connection
        // stays in step (and keeps its rate-limit bucket).
        std::string body;
        if (!readBody(request, body)) {
            response.setKeepAlive(false);  // the rest of the body is not read
            sendJson(response, HTTPResponse::HTTP_REQUESTENTITYTOOLARGE,
                     Dispatcher::errorResponse(LimitExceeded,
                                               "request exceeds " + std::to_string(s.options.maxRequestBytes) + " bytes",
                                               "limit exceeded"));
            return;
        }
        // Limited before the token is looked at: wrong tokens cost the connection's bucket too.
        if (!s.admit(request.clientAddress().toString())) {
            response.set("Retry-After", "1");
            sendJson(response, HTTPResponse::HTTP_TOO_MANY_REQUESTS,
                     Dispatcher::refuse(body, LimitExceeded, "rate limit exceeded", "limit exceeded")
                         .value_or(Dispatcher::errorResponse(LimitExceeded, "rate limit exceeded", "limit exceeded")));
            return;
        }
        const auto authentication = s.authenticateLimited(request, false);
        if (!authentication.caller) {
            refuseAuthentication(response, authentication);
            return;
        }
        const auto reply = s.dispatcher.handle(body, *authentication.caller);
        if (!reply) {
            response.setStatus(HTTPResponse::HTTP_NO_CONTENT);
            response.setContentLength(0);
            response.send();
            return;
        }
        sendJson(response, HTTPResponse::HTTP_OK, *reply);
    }

private:
    bool readBody(HTTPServerRequest& request, std::string& body) const
    {
        const std::size_t limit = shared_->options.maxRequestBytes;
        if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(limit)) return false;
        std::istream& in = request.stream();
        char chunk[8192];
        while (in) {
            in.read(chunk, sizeof chunk);
            body.append(chunk, static_cast<std::size_t>(in.gcount()));
            if (body.size() > limit) return false;
        }
        return true;
    }

    std::shared_ptr<Server::Shared> shared_;
};

class WebSocketHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit WebSocketHandler(std::shared_ptr<Server::Shared> shared) : shared_(std::move(shared)) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override
    {
        auto& s = *shared_;
        auto authentication = s.authenticateLimited(request, true);
        if (!authentication.caller) {
            refuseAuthentication(response, authentication);
            return;
        }
        auto& caller = authentication.caller;
        if (s.webSockets.fetch_add(1) >= s.options.maxWebSockets) {
            s.webSockets.fetch_sub(1);
            sendJson(response, HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                     Dispatcher::errorResponse(LimitExceeded, "too many WebSocket sessions", "limit exceeded"));
            return;
        }
        std::shared_ptr<WebSocketSession> session;
        try {
            session = std::make_shared<WebSocketSession>(Poco::Net::WebSocket(request, response));
        } catch (const Poco::Exception& error) {
            s.webSockets.fetch_sub(1);
            s.logger.warning("WebSocket handshake failed: %s", error.displayText());
            return;
        }
        caller->session = session;
        {
            std::lock_guard lock(s.sessionsMutex);
            s.sessions.insert(session);
        }
        serve(*session, *caller);
        s.dispatcher.detach(session.get());
        {
            std::lock_guard lock(s.sessionsMutex);
            s.sessions.erase(session);
        }
        s.webSockets.fetch_sub(1);
    }

private:
    void serve(WebSocketSession& session, const Caller& caller)
    {
        auto& s = *shared_;
        auto& socket = session.socket();
        socket.setMaxPayloadSize(static_cast<int>(s.options.maxRequestBytes));
        socket.setReceiveTimeout(Poco::Timespan(0, 250000));  // to notice stop()
        RateLimiter limiter(s.options.requestsPerSecond, s.options.requestBurst);
        Poco::Buffer<char> frame(0);
        std::string message;
        while (!s.stopping) {
            int flags = 0;
            int n = 0;
            try {
                frame.resize(0);
                n = socket.receiveFrame(frame, flags);
            } catch (const Poco::TimeoutException&) {
                continue;
            } catch (const Poco::Net::WebSocketException& error) {
                if (error.code() == Poco::Net::WebSocket::WS_ERR_PAYLOAD_TOO_BIG) {
                    try {
                        session.close(Poco::Net::WebSocket::WS_PAYLOAD_TOO_BIG, "message too big");
                    } catch (const Poco::Exception&) {
                    }
                }
                return;
            } catch (const Poco::Exception&) {
                return;  // peer gone
            }
            const int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
            if (n == 0 && flags == 0) return;  // connection closed
            if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
                try {
                    session.close(Poco::Net::WebSocket::WS_NORMAL_CLOSE, "");
                } catch (const Poco::Exception&) {
                }
                return;
            }
            if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
                socket.sendFrame(frame.begin(), static_cast<int>(frame.size()),
                                 static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN) |
                                     static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PONG));
                continue;
            }
            if (opcode == Poco::Net::WebSocket::FRAME_OP_PONG) continue;
            message.append(frame.begin(), frame.size());
            if (message.size() > s.options.maxRequestBytes) {
                session.close(Poco::Net::WebSocket::WS_PAYLOAD_TOO_BIG, "message too big");
                return;
            }
            if (!(flags & Poco::Net::WebSocket::FRAME_FLAG_FIN)) continue;  // continuation follows

            std::optional<std::string> reply;
            if (!limiter.tryAcquire())
                reply = Dispatcher::refuse(message, LimitExceeded, "rate limit exceeded", "limit exceeded");
            else
                reply = s.dispatcher.handle(message, caller);
            message.clear();
            if (reply) {
                try {
                    session.send(*reply);
                } catch (const Poco::Exception&) {
                    return;
                }
            }
        }
        try {
            session.close(Poco::Net::WebSocket::WS_ENDPOINT_GOING_AWAY, "server stopping");
        } catch (const Poco::Exception&) {
        }
    }

    std::shared_ptr<Server::Shared> shared_;
};

class StaticHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit StaticHandler(std::filesystem::path root) : root_(std::move(root)) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override
    {
        std::string path = Poco::URI(request.getURI()).getPath();
        if (path.empty() || path == "/") path = "/index.html";
        std::error_code ec;
        const auto root = std::filesystem::weakly_canonical(root_, ec);
        const auto file = std::filesystem::weakly_canonical(root_ / path.substr(1), ec);
        const auto [rootEnd, fileIt] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
        if (ec || rootEnd != root.end() || !std::filesystem::is_regular_file(file)) {
            response.setStatus(HTTPResponse::HTTP_NOT_FOUND);
            response.setContentLength(0);
            response.send();
            return;
        }
        response.set("Cache-Control", "no-cache");
        response.sendFile(file.string(), mediaType(file.extension().string()));
    }

private:
    static std::string mediaType(const std::string& extension)
    {
        static const std::map<std::string, std::string> types = {
            {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
            {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
            {".png", "image/png"},                 {".svg", "image/svg+xml"},
        };
        const auto found = types.find(extension);
        return found == types.end() ? "application/octet-stream" : found->second;
    }

    std::filesystem::path root_;
};

class NotAllowedHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit NotAllowedHandler(HTTPResponse::HTTPStatus status) : status_(status) {}
    void handleRequest(HTTPServerRequest&, HTTPServerResponse& response) override
    {
        if (status_ == HTTPResponse::HTTP_METHOD_NOT_ALLOWED) response.set("Allow", "POST");
        response.setStatus(status_);
        response.setContentLength(0);
        response.send();
    }

private:
    HTTPResponse::HTTPStatus status_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit HandlerFactory(std::shared_ptr<Server::Shared> shared) : shared_(std::move(shared)) {}

    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest& request) override
    {
        // The hot path: /jsonrpc with or without a query, no full URI parse.
        const std::string& uri = request.getURI();
        const bool rpcPath = uri.compare(0, 8, "/jsonrpc") == 0 && (uri.size() == 8 || uri[8] == '?');
        if (rpcPath) {
            if (Poco::icompare(request.get("Upgrade", ""), "websocket") == 0) return new WebSocketHandler(shared_);
            if (request.getMethod() == Poco::Net::HTTPRequest::HTTP_POST) return new PostHandler(shared_);
            return new NotAllowedHandler(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
        }
        if (!shared_->options.staticRoot.empty() && request.getMethod() == Poco::Net::HTTPRequest::HTTP_GET)
            return new StaticHandler(shared_->options.staticRoot);
        return new NotAllowedHandler(HTTPResponse::HTTP_NOT_FOUND);
    }

private:
    std::shared_ptr<Server::Shared> shared_;
};

} // namespace

Server::Server(Dispatcher& dispatcher, const TokenStore& tokens, ServerOptions options, Poco::Logger& logger)
{
    const Poco::Net::IPAddress address(options.address);
    if (!address.isLoopback())
        throw Error(ErrorCode::InvalidArgument,
                    "the control API listens on loopback only, not on " + options.address);
    // A burst below one would refuse every address before its first try; a rate of
    // zero (or less) would never give a try back.
    if (!(options.failedAuthBurst >= 1) || !(options.failedAuthPerMinute > 0))
        throw Error(ErrorCode::InvalidArgument,
                    "failed authentication limits need a burst of at least 1 and a rate above 0 per minute");
    shared_ = std::make_shared<Shared>(dispatcher, tokens, std::move(options), logger);
}

Server::~Server()
{
    stop();
}

void Server::start()
{
    if (http_) return;
    auto& o = shared_->options;
    Poco::Net::ServerSocket socket;
    try {
        socket.bind(Poco::Net::SocketAddress(o.address, o.port), true);
        socket.listen(64);
    } catch (const Poco::Exception& error) {
        throw Error(ErrorCode::Io, "cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " +
                                       error.displayText());
    }
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(o.maxThreads + o.maxWebSockets);
    params->setMaxQueued(128);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited; the rate limit applies instead
    params->setKeepAliveTimeout(Poco::Timespan(10, 0));
    params->setTimeout(Poco::Timespan(10, 0));
    http_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(shared_), shared_->pool, socket, params);
    http_->start();
    shared_->logger.information("control API listening on %s:%hu", o.address, port());
}

void Server::stop()
{
    if (!http_) return;
    shared_->stopping = true;
    http_->stopAll(true);
    shared_->pool.joinAll();
    http_.reset();
}

std::uint16_t Server::port() const
{
    return http_ ? http_->port() : shared_->options.port;
}

} // namespace boxoffice::rpc
