#include <boxoffice/serverapi/Server.h>

#include "HttpStatus.h"
#include "NonceStore.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/base/OwnerGates.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/rpc/RateLimiter.h>
#include <boxoffice/rpc/TokenStore.h>
#include <boxoffice/serverapi/PhoneSignature.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/RevocationList.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/URI.h>
#include <Poco/Net/X509Certificate.h>

#include <array>
#include <atomic>
#include <chrono>
#include <istream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>

namespace boxoffice::serverapi {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

std::int64_t systemSeconds()
{
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

bool validRequestId(const std::string& id)
{
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

bool validNonce(const std::string& nonce)
{
    if (nonce.size() < 16 || nonce.size() > 64) return false;
    for (char c : nonce)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    return true;
}

// Latency histogram buckets (seconds), Prometheus style.
constexpr std::array<double, 10> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};

} // namespace

std::string rateLimitKey(const Poco::Net::IPAddress& client)
{
    if (client.family() != Poco::Net::IPAddress::IPv6 || client.isIPv4Mapped() || client.isLoopback())
        return client.toString();
    return (client & Poco::Net::IPAddress(64, Poco::Net::IPAddress::IPv6)).toString() + "/64";
}

struct Server::Impl {
    ServerOptions options;
    storage::Database& db;
    Poco::Logger& logger;
    NonceStore nonces;

    mutable std::shared_mutex routesMutex;
    OwnerGates gates;  // requests in flight per route owner
    std::vector<Route> routes;
    std::vector<std::pair<std::string, Router::MetricsSource>> metricsSources;  // under routesMutex
    PhoneKeyLookup phoneKeys;
    DeviceCheck deviceCheck;
    rpc::TokenStore operators;
    std::unique_ptr<trust::RevocationState> revocations;
    std::optional<Bytes> rootRevocationList;   // the file's bytes, once verified

    rpc::ClientRateLimits limits{options.requestsPerSecond, options.requestBurst, 10000};

    // Metrics.
    std::mutex metricsMutex;
    std::map<std::pair<std::string, int>, std::uint64_t> requestCounts; // (route, status)
    std::array<std::uint64_t, kBuckets.size() + 1> latency{};
    double latencySum = 0;
    std::uint64_t latencyCount = 0;

    std::unique_ptr<Poco::Net::HTTPServer> http;
    std::uint16_t boundPort = 0;

    Impl(ServerOptions o, storage::Database& d, Poco::Logger& l)
        : options(std::move(o)), db(d), logger(l), nonces(d)
    {
        if (!options.clock) options.clock = &systemSeconds;
    }

    std::int64_t now() const { return options.clock(); }

    bool allow(const Poco::Net::IPAddress& client) { return limits.tryAcquire(rateLimitKey(client)); }

    void record(const std::string& route, int status, double seconds)
    {
        std::lock_guard lock(metricsMutex);
        ++requestCounts[{route, status}];
        std::size_t i = 0;
        while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
        ++latency[i];
        latencySum += seconds;
        ++latencyCount;
    }

    std::string metricsText()
    {
        std::vector<std::pair<std::string, Router::MetricsSource>> sources;
        std::vector<std::unique_ptr<OwnerGates::Entry>> inFlight;  // removeOwner() waits for the sources
        {
            std::shared_lock routesLock(routesMutex);
            sources = metricsSources;
            for (const auto& source : sources)
                inFlight.push_back(std::make_unique<OwnerGates::Entry>(gates.gateFor(source.first)));
        }
        std::ostringstream out;
        std::unique_lock lock(metricsMutex);
        out << "# HELP boxoffice_http_requests_total HTTP requests by route and status.\n"
               "# TYPE boxoffice_http_requests_total counter\n";
        for (const auto& [key, count] : requestCounts)
            out << "boxoffice_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} "
                << count << "\n";
        out << "# HELP boxoffice_http_request_seconds Request latency.\n"
               "# TYPE boxoffice_http_request_seconds histogram\n";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            cumulative += latency[i];
            out << "boxoffice_http_request_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << cumulative << "\n";
        }
        cumulative += latency[kBuckets.size()];
        out << "boxoffice_http_request_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n";
        out << "boxoffice_http_request_seconds_sum " << latencySum << "\n";
        out << "boxoffice_http_request_seconds_count " << latencyCount << "\n";
        lock.unlock();  // sources may query the database: not under the counters' lock
        if (rootRevocationList) {
            // Loaded at start only: an operator alerts on time() > next_update (a newer list
            // is due and this server still checks certificates against the old one).
            const auto rootList = revocations->rootList(now());
            out << "# HELP boxoffice_root_revocations_sequence Sequence of the operator root's revocation list in use.\n"
                   "# TYPE boxoffice_root_revocations_sequence gauge\n"
                   "boxoffice_root_revocations_sequence " << rootList.sequence << "\n"
                << "# HELP boxoffice_root_revocations_next_update_seconds When that list says a newer one is due (Unix time).\n"
                   "# TYPE boxoffice_root_revocations_next_update_seconds gauge\n"
                   "boxoffice_root_revocations_next_update_seconds " << rootList.nextUpdate << "\n";
        }
        for (const auto& [owner, source] : sources) {
            try {
                out << source();
            } catch (const std::exception& e) {
                out << "# metrics of " << owner << " unavailable: " << e.what() << "\n";
            }
        }
        return out.str();
    }

    Caller authenticate(const Route& route, HTTPServerRequest& request, const std::string& pathAndQuery,
                        const std::string& body)
    {
        switch (route.auth) {
        case Auth::None: return {};
        case Auth::Operator: {
            const auto header = request.get("Authorization", "");
            const std::string prefix = "Bearer ";
            if (header.compare(0, prefix.size(), prefix) != 0)
                throw Error(ErrorCode::PermissionDenied, "this endpoint needs an operator token");
            auto caller = operators.authenticate(std::string_view(header).substr(prefix.size()));
            if (!caller) throw Error(ErrorCode::PermissionDenied, "unknown operator token");
            return {Auth::Operator, caller->client};
        }
        case Auth::Device:
        case Auth::NewDevice: {
            auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
            Poco::Net::SecureStreamSocket socket(impl.socket());
            if (!socket.havePeerCertificate())
                throw Error(ErrorCode::PermissionDenied, "this endpoint needs a device client certificate");
            // The TLS handshake already verified the chain to the operator's TLS CA.
            const auto deviceId = socket.peerCertificate().commonName();
            if (revocations && revocations->isDeviceRevoked(deviceId))
                throw Error(ErrorCode::Revoked, "device " + deviceId + " is revoked");
            DeviceCheck check;
            {
                std::shared_lock lock(routesMutex);
                check = deviceCheck;
            }
            if (check && route.auth == Auth::Device) check(deviceId);
            return {route.auth, deviceId};
        }
        case Auth::Phone: {
            const auto phoneId = request.get("X-BoxOffice-Phone", "");
            const auto timestampText = request.get("X-BoxOffice-Timestamp", "");
            const auto nonce = request.get("X-BoxOffice-Nonce", "");
            const auto signatureText = request.get("X-BoxOffice-Signature", "");
            if (phoneId.empty() || timestampText.empty() || nonce.empty() || signatureText.empty())
                throw Error(ErrorCode::PermissionDenied, "this endpoint needs a signed phone request");
            std::int64_t timestamp = 0;
            try {
                std::size_t used = 0;
                timestamp = std::stoll(timestampText, &used);
                if (used != timestampText.size()) throw std::invalid_argument("trailing");
            } catch (const std::exception&) {
                throw Error(ErrorCode::InvalidArgument, "X-BoxOffice-Timestamp must be unix seconds");
            }
            if (!validNonce(nonce))
                throw Error(ErrorCode::InvalidArgument, "X-BoxOffice-Nonce must be 16..64 of [A-Za-z0-9_-]");
            const auto t = now();
            if (timestamp < t - kPhoneClockSkew || timestamp > t + kPhoneClockSkew)
                throw Error(ErrorCode::Expired, "phone request timestamp is outside the accepted window");
            PhoneKeyLookup lookup;
            {
                std::shared_lock lock(routesMutex);
                lookup = phoneKeys;
            }
            auto key = lookup ? lookup(phoneId) : std::nullopt;
            // Same answer for unknown phone and bad signature: no oracle for phone ids.
            const auto signature = wire::fromBase64Url(signatureText, "X-BoxOffice-Signature");
            const auto text = phoneSigningString(phoneId, request.getMethod(), pathAndQuery, body, timestamp, nonce);
            if (!key || !key->verify(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                                     signature))
                throw Error(ErrorCode::BadSignature, "phone request signature does not verify");
            nonces.use(phoneId, nonce, t);
            return {Auth::Phone, phoneId};
        }
        }
        throw Error(ErrorCode::Internal, "unknown authentication kind");
    }
};

namespace {

void sendJson(HTTPServerResponse& response, int status, const Poco::Dynamic::Var& body, const std::string& requestId)
{
    std::ostringstream text;
    if (body.isEmpty())
        text << "{}";
    else
        Poco::JSON::Stringifier::condense(body, text);
    const auto s = text.str();
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentType("application/json");
    response.set("X-Request-Id", requestId);
    response.set("Cache-Control", "no-store");
    response.setContentLength(static_cast<std::streamsize>(s.size()));
    response.send() << s;
}

Poco::Dynamic::Var errorBody(ErrorCode code, const std::string& message, const std::string& requestId)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("error", std::string(toString(code)));
    o->set("message", message);
    o->set("requestId", requestId);
    return o;
}

class Handler : public Poco::Net::HTTPRequestHandler {
public:
    explicit Handler(Server::Impl& impl) : impl_(impl) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override
    {
        const auto started = std::chrono::steady_clock::now();
        auto requestId = request.get("X-Request-Id", "");
        if (!validRequestId(requestId)) requestId = toHex(crypto::randomBytes(8));
        std::string routeName = "unmatched";
        int status = 500;
        try {
            status = serve(request, response, requestId, routeName);
        } catch (const Error& e) {
            status = httpStatusFor(e.code());
            if (status < 500) {
                respondError(response, status, e.code(), e.what(), requestId);
            } else {
                // The details (SQL, file paths, the database's address) stay in the operator's log.
                impl_.logger.error("request %s %s failed: %s", requestId, routeName,
                                   std::string(e.what()));
                respondError(response, status, e.code(),
                             "the server could not complete the request; its log has the details under this request id",
                             requestId);
            }
        } catch (const Poco::Exception& e) {
            impl_.logger.error("request %s %s: %s", requestId, routeName, e.displayText());
            respondError(response, 500, ErrorCode::Internal, "internal error", requestId);
        } catch (const std::exception& e) {
            impl_.logger.error("request %s %s: %s", requestId, routeName, std::string(e.what()));
            respondError(response, 500, ErrorCode::Internal, "internal error", requestId);
        }
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        impl_.record(routeName, status, took.count());
    }

private:
    void respondError(HTTPServerResponse& response, int status, ErrorCode code, const std::string& message,
                      const std::string& requestId)
    {
        if (response.sent()) return;
        sendJson(response, status, errorBody(code, message, requestId), requestId);
    }

    int serve(HTTPServerRequest& request, HTTPServerResponse& response, const std::string& requestId,
              std::string& routeName)
    {
        if (!impl_.allow(request.clientAddress().host()))
            throw Error(ErrorCode::LimitExceeded, "too many requests, slow down");

        // An oversized body: 413 (not LimitExceeded's 429, which asks the client to retry
        // later), and the connection closed rather than the rest read.
        const auto tooLarge = [&] {
            response.setKeepAlive(false);
            routeName = "too-large";
            sendJson(response, 413,
                     errorBody(ErrorCode::LimitExceeded,
                               "request body exceeds " + std::to_string(impl_.options.maxBodyBytes) + " bytes",
                               requestId),
                     requestId);
            return 413;
        };
        // Refused before reading when declared; counted while reading when chunked.
        if (request.getContentLength64() > static_cast<Poco::Int64>(impl_.options.maxBodyBytes))
            return tooLarge();
        std::string body;
        {
            auto& in = request.stream();
            std::array<char, 8192> chunk{};
            while (in) {
                in.read(chunk.data(), chunk.size());
                body.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
                if (body.size() > impl_.options.maxBodyBytes)
                    return tooLarge();
            }
        }

        Poco::URI uri;
        Poco::URI::QueryParameters query;
        try {
            uri = Poco::URI(request.getURI());
            query = uri.getQueryParameters();  // decodes only now: a bad %-escape throws here
        } catch (const Poco::Exception&) {
            throw Error(ErrorCode::InvalidArgument, "malformed request URI");
        }
        const auto path = uri.getPath();

        Route route;
        Request req;
        bool pathKnown = false;
        std::optional<OwnerGates::Entry> inFlight;  // removeOwner() waits for it
        {
            std::shared_lock lock(impl_.routesMutex);
            bool found = false;
            for (const auto& r : impl_.routes) {
                std::map<std::string, std::string> params;
                if (!matchPattern(r.pattern, path, params)) continue;
                pathKnown = true;
                if (r.method != request.getMethod()) continue;
                route = r;
                req.params = std::move(params);
                found = true;
                inFlight.emplace(impl_.gates.gateFor(route.owner));  // under the lock: see OwnerGates
                break;
            }
            if (!found) {
                if (pathKnown) throw Error(ErrorCode::NotFound, "method " + request.getMethod() + " not allowed here");
                throw Error(ErrorCode::NotFound, "no such endpoint");
            }
        }
        routeName = route.method + " " + route.pattern;

        for (auto& [k, v] : query) req.query[k] = std::move(v);
        req.method = request.getMethod();
        req.path = path;
        req.body = std::move(body);
        req.requestId = requestId;
        req.caller = impl_.authenticate(route, request, uri.getPathEtc(), req.body);

        if (route.owner == "serverapi" && route.pattern == "/metrics") {
            const auto text = impl_.metricsText();
            response.setContentType("text/plain; version=0.0.4");
            response.set("X-Request-Id", requestId);
            response.setContentLength(static_cast<std::streamsize>(text.size()));
            response.send() << text;
            return 200;
        }
        Response out = route.handler(req);
        sendJson(response, out.status, out.body, requestId);
        // Poco formats the message before it checks the level: check first (this runs for every request).
        if (impl_.logger.debug())
            impl_.logger.debug("request %s %s by %s:%s -> %d", requestId, routeName,
                               std::string(toString(req.caller.auth)), req.caller.id, out.status);
        return out.status;
    }

    Server::Impl& impl_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit Factory(Server::Impl& impl) : impl_(impl) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override { return new Handler(impl_); }

private:
    Server::Impl& impl_;
};

} // namespace

const trust::RevocationState* Server::revocations() const { return impl_->revocations.get(); }
std::optional<Bytes> Server::rootRevocationList() const { return impl_->rootRevocationList; }

Server::Server(ServerOptions options, storage::Database& db, Poco::Logger& logger)
    : impl_(std::make_unique<Impl>(std::move(options), db, logger))
{
    Poco::Net::initializeSSL();
    if (!impl_->options.revocations.empty()) {
        const auto text = trust::readKeyFile(impl_->options.revocations);
        Bytes encoded(text.begin(), text.end());
        const auto list = wire::RevocationList::decode(encoded);
        impl_->revocations = std::make_unique<trust::RevocationState>();
        impl_->revocations->apply(list, trust::loadTrustAnchor(impl_->options.rootJson));
        impl_->rootRevocationList = std::move(encoded);
        // Still used (a stale list revokes less than a newer one, never more), but said loudly.
        if (const auto overdue = impl_->revocations->rootList(impl_->now()).overdueFor)
            impl_->logger.warning("the operator root's revocation list %s (sequence %s) was due to be replaced %s s"
                                  " ago: publish a newer one (boxoffice-keytool revoke) and restart",
                                  impl_->options.revocations.string(), std::to_string(list.sequence),
                                  std::to_string(*overdue));
    }
    add({"GET", "/v1/health", Auth::None,
         [](const Request&) {
             Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
             o->set("status", "ok");
             return Response{200, o};
         },
         "serverapi", "liveness"});
    add({"GET", "/metrics", Auth::Operator,
         [](const Request&) -> Response { throw Error(ErrorCode::Internal, "served by the transport"); },
         "serverapi", "Prometheus metrics (text)"});
}

Server::~Server()
{
    stop();
    Poco::Net::uninitializeSSL();
}

void Server::addOperatorToken(const std::string& client, const std::string& sha256Hex)
{
    impl_->operators.add(client, sha256Hex, {"operator"});
}

void Server::start()
{
    if (impl_->http) return;
    const auto& o = impl_->options;
    Poco::Net::Context::Ptr context;
    try {
        // VERIFY_RELAXED on a server: ask for a client certificate, verify it if
        // one is sent, let phones and operators connect without one.
        context = new Poco::Net::Context(Poco::Net::Context::TLSV1_2_SERVER_USE, o.privateKey.string(),
                                         o.certificate.string(), o.clientCa.string(),
                                         Poco::Net::Context::VERIFY_RELAXED, 4, false,
                                         "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL");
        context->enableSessionCache(true, "boxoffice-server");
        context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                                  Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
    } catch (const Poco::Exception& e) {
        throw Error(ErrorCode::InvalidArgument, "cannot set up TLS: " + e.displayText());
    }
    try {
        Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress(o.address, o.port), 128, context);
        impl_->boundPort = socket.address().port();
        auto params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(o.maxThreads);
        params->setMaxQueued(o.maxQueued);
        params->setKeepAlive(true);
        params->setMaxKeepAliveRequests(1000);
        params->setTimeout(Poco::Timespan(10, 0));
        impl_->http = std::make_unique<Poco::Net::HTTPServer>(new Factory(*impl_), socket, params);
        impl_->http->start();
    } catch (const Poco::Exception& e) {
        throw Error(ErrorCode::Io, "cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " +
                                       e.displayText());
    }
}

void Server::stop()
{
    if (!impl_->http) return;
    impl_->http->stopAll(true);
    impl_->http.reset();
}

std::uint16_t Server::port() const { return impl_->boundPort; }

void Server::add(Route route)
{
    if (route.pattern.empty() || route.pattern.front() != '/')
        throw Error(ErrorCode::InvalidArgument, "route pattern must start with '/'");
    std::unique_lock lock(impl_->routesMutex);
    for (const auto& r : impl_->routes)
        if (r.method == route.method && r.pattern == route.pattern)
            throw Error(ErrorCode::AlreadyExists, "route " + route.method + " " + route.pattern + " exists");
    impl_->routes.push_back(std::move(route));
}

void Server::removeOwner(const std::string& owner)
{
    {
        std::unique_lock lock(impl_->routesMutex);
        std::erase_if(impl_->routes, [&](const Route& r) { return r.owner == owner; });
        std::erase_if(impl_->metricsSources, [&](const auto& s) { return s.first == owner; });
    }
    // The owner's requests already running finish before its plugin is torn down.
    impl_->gates.waitIdle(owner);
}

void Server::addMetrics(const std::string& owner, MetricsSource source)
{
    std::unique_lock lock(impl_->routesMutex);
    impl_->metricsSources.emplace_back(owner, std::move(source));
}

std::vector<Route> Server::routes() const
{
    std::shared_lock lock(impl_->routesMutex);
    return impl_->routes;
}

void Server::setPhoneKeyLookup(PhoneKeyLookup lookup)
{
    std::unique_lock lock(impl_->routesMutex);
    impl_->phoneKeys = std::move(lookup);
}

void Server::setDeviceCheck(DeviceCheck check)
{
    std::unique_lock lock(impl_->routesMutex);
    impl_->deviceCheck = std::move(check);
}

} // namespace boxoffice::serverapi
