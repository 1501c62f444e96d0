// The control API over real loopback sockets: HTTP POST and WebSocket.

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/Client.h>
#include <boxoffice/rpc/Server.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::rpc;
using ::testing::HasSubstr;

namespace {

constexpr const char* kReaderToken = "reader-token-0123456789";
constexpr const char* kAdminToken = "admin-token-9876543210";
constexpr const char* kNoop = R"({"jsonrpc":"2.0","id":1,"method":"test.1.noop"})";

int errorCodeOf(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>()->getObject("error")->getValue<int>("code");
}

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dispatcher.addMethod("test.1.echo", "read", [](const Request& r) { return r.params(); }, "test");
        dispatcher.addMethod("test.1.noop", "read", [](const Request&) { return Poco::Dynamic::Var(); }, "test");
        dispatcher.addMethod("test.1.admin", "admin", [](const Request&) { return Poco::Dynamic::Var("ok"); }, "test");
        dispatcher.addEvent("test.1.tick", "read", "test");
        dispatcher.addEvent("test.1.audit", "admin", "test");
        tokens.add("reader", TokenStore::digest(kReaderToken), {"read"});
        tokens.add("admin", TokenStore::digest(kAdminToken), {"read", "admin"});
    }

    void TearDown() override
    {
        if (server) server->stop();
    }

    void start(ServerOptions options = {})
    {
        if (options.maxRequestBytes == ServerOptions{}.maxRequestBytes) options.maxRequestBytes = 4096;
        server = std::make_unique<Server>(dispatcher, tokens, options, Poco::Logger::get("test.server"));
        server->start();
        ASSERT_NE(server->port(), 0);
    }

    struct Reply {
        int status = 0;
        std::string body;
        std::string retryAfter;
    };
    static Reply postFrom(const std::string& source, std::uint16_t port, const std::string& token,
                          const std::string& body);

    Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    TokenStore tokens;
    std::unique_ptr<Server> server;
};

TEST_F(ServerTest, CallsOverHttpWithKeepAlive)
{
    start();
    HttpClient client("127.0.0.1", server->port(), kReaderToken);
    for (int i = 0; i < 20; ++i) {
        Poco::JSON::Array::Ptr params = new Poco::JSON::Array;
        params->add(i);
        const auto result = client.call("test.1.echo", params);
        EXPECT_EQ(result.extract<Poco::JSON::Array::Ptr>()->getElement<int>(0), i);
    }
}

TEST_F(ServerTest, EveryStandardErrorCodeOverHttp)
{
    start();
    HttpClient client("127.0.0.1", server->port(), kReaderToken);
    EXPECT_EQ(errorCodeOf(client.post("{not json").second), -32700);
    EXPECT_EQ(errorCodeOf(client.post(R"({"jsonrpc":"2.0","id":1})").second), -32600);
    EXPECT_EQ(errorCodeOf(client.post(R"({"jsonrpc":"2.0","id":1,"method":"test.1.missing"})").second), -32601);
    dispatcher.addMethod("test.1.int", "read", [](const Request& r) { return Poco::Dynamic::Var(r.integer("n")); }, "test");
    EXPECT_EQ(errorCodeOf(client.post(R"({"jsonrpc":"2.0","id":1,"method":"test.1.int","params":{"n":"x"}})").second), -32602);
    dispatcher.addMethod("test.1.crash", "read", [](const Request&) -> Poco::Dynamic::Var { throw std::logic_error("x"); }, "test");
    EXPECT_EQ(errorCodeOf(client.post(R"({"jsonrpc":"2.0","id":1,"method":"test.1.crash"})").second), -32603);
}

TEST_F(ServerTest, MissingOrUnknownTokenIsUnauthorized)
{
    start();
    for (const char* token : {"", "wrong-token", "reader-token-012345678"}) {
        HttpClient client("127.0.0.1", server->port(), token);
        const auto [status, body] = client.post(kNoop);
        EXPECT_EQ(status, 401) << token;
        EXPECT_EQ(errorCodeOf(body), -32001) << token;
    }
    EXPECT_THROW(WebSocketClient("127.0.0.1", server->port(), "wrong-token"), Error);
}

// POSTs `body` with `token` over a new connection from `source` (a loopback address).
ServerTest::Reply ServerTest::postFrom(const std::string& source, std::uint16_t port, const std::string& token,
                                     const std::string& body)
{
    Poco::Net::StreamSocket socket;
    socket.impl()->bind(Poco::Net::SocketAddress(source, 0), false);  // StreamSocket hides bind()
    socket.connect(Poco::Net::SocketAddress("127.0.0.1", port));
    Poco::Net::HTTPClientSession session(socket);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/jsonrpc", Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + token);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::string text;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
    return {static_cast<int>(response.getStatus()), text, response.get("Retry-After", "")};
}

// Wrong tokens draw on one budget for the whole server: neither reconnecting nor
// another loopback source address gives a guesser more tries. Past the burst new
// authentications are refused (429, Retry-After) unexamined, valid tokens too, over
// POST and WebSocket alike; a WebSocket session opened before goes on working.
TEST_F(ServerTest, FailedAuthenticationsLockNewAuthenticationsOut)
{
    ServerOptions options;
    options.failedAuthBurst = 3;
    options.failedAuthPerMinute = 0.6;  // one try back every 100 s: none during the test
    start(options);
    WebSocketClient before("127.0.0.1", server->port(), kReaderToken);
    EXPECT_EQ(postFrom("127.0.0.1", server->port(), "guess-1", kNoop).status, 401);
    EXPECT_EQ(postFrom("127.0.0.2", server->port(), "guess-2", kNoop).status, 401);
    EXPECT_EQ(postFrom("127.0.0.3", server->port(), "", kNoop).status, 401);
    const auto locked = postFrom("127.0.0.4", server->port(), "guess-4", kNoop);
    EXPECT_EQ(locked.status, 429);
    EXPECT_EQ(errorCodeOf(locked.body), -32003);
    EXPECT_THAT(locked.body, HasSubstr("too many failed authentications"));
    EXPECT_EQ(locked.retryAfter, "100");
    EXPECT_EQ(postFrom("127.0.0.1", server->port(), kReaderToken, kNoop).status, 429);
    EXPECT_EQ(postFrom("127.0.0.9", server->port(), kReaderToken, kNoop).status, 429);
    EXPECT_THROW(WebSocketClient("127.0.0.1", server->port(), kReaderToken), Error);
    EXPECT_NO_THROW(before.call("test.1.noop"));
}

// Each authentication reserves its try before the token is looked at: guesses sent
// at once cannot all be examined on the last try left.
TEST_F(ServerTest, ConcurrentGuessesGetNoMoreTriesThanTheBudget)
{
    ServerOptions options;
    options.failedAuthBurst = 2;
    options.failedAuthPerMinute = 0.6;
    start(options);
    std::atomic<int> examined{0}, refused{0};
    std::vector<std::thread> guessers;
    for (int i = 0; i < 12; ++i)
        guessers.emplace_back([&, i] {
            const int status = postFrom("127.0.0.1", server->port(), "guess-" + std::to_string(i), kNoop).status;
            if (status == 401) ++examined;
            if (status == 429) ++refused;
        });
    for (auto& t : guessers) t.join();
    EXPECT_EQ(examined.load(), 2);
    EXPECT_EQ(refused.load(), 10);
}

// Valid tokens cost nothing from the budget; after a lockout tries come back at the
// configured rate.
TEST_F(ServerTest, FailedAuthenticationBudgetRefillsAndIgnoresSuccesses)
{
    ServerOptions options;
    options.failedAuthBurst = 1;
    options.failedAuthPerMinute = 20;  // a try back every 3 s: ample time for the next request to be refused
    start(options);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(postFrom("127.0.0.1", server->port(), kReaderToken, kNoop).status, 200);
    EXPECT_EQ(postFrom("127.0.0.1", server->port(), "guess", kNoop).status, 401);
    const auto locked = postFrom("127.0.0.1", server->port(), kReaderToken, kNoop);
    EXPECT_EQ(locked.status, 429);
    EXPECT_EQ(locked.retryAfter, "3");
    std::this_thread::sleep_for(std::chrono::milliseconds(3200));
    EXPECT_EQ(postFrom("127.0.0.1", server->port(), kReaderToken, kNoop).status, 200);
    WebSocketClient ws("127.0.0.1", server->port(), kReaderToken);
    EXPECT_NO_THROW(ws.call("test.1.noop"));
}

TEST_F(ServerTest, RefusesFailedAuthenticationLimitsThatLockEveryoneOut)
{
    for (const auto& [burst, perMinute] : std::vector<std::pair<double, double>>{{0, 6}, {0.5, 6}, {10, 0}, {10, -1}}) {
        ServerOptions options;
        options.failedAuthBurst = burst;
        options.failedAuthPerMinute = perMinute;
        EXPECT_THROW(Server(dispatcher, tokens, options, Poco::Logger::get("test.server")), Error)
            << burst << " / " << perMinute;
    }
}

TEST_F(ServerTest, InsufficientScopeIsForbidden)
{
    start();
    HttpClient reader("127.0.0.1", server->port(), kReaderToken);
    const auto [status, body] = reader.post(R"({"jsonrpc":"2.0","id":1,"method":"test.1.admin"})");
    EXPECT_EQ(status, 200);
    EXPECT_EQ(errorCodeOf(body), -32002);
    HttpClient admin("127.0.0.1", server->port(), kAdminToken);
    EXPECT_EQ(admin.call("test.1.admin").convert<std::string>(), "ok");
}

TEST_F(ServerTest, OversizedRequestIsRefused)
{
    start();
    const std::string big = R"({"jsonrpc":"2.0","id":1,"method":"test.1.echo","params":[")" + std::string(5000, 'a') + R"("]})";
    {
        HttpClient client("127.0.0.1", server->port(), kReaderToken);
        const auto [status, body] = client.post(big);
        EXPECT_EQ(status, 413);
        EXPECT_EQ(errorCodeOf(body), -32003);
    }
    {
        // Chunked, so the server cannot judge by Content-Length.
        Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/jsonrpc", Poco::Net::HTTPMessage::HTTP_1_1);
        request.setChunkedTransferEncoding(true);
        request.set("Authorization", std::string("Bearer ") + kReaderToken);
        session.sendRequest(request) << big;
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        EXPECT_EQ(response.getStatus(), 413);
    }
    {
        WebSocketClient ws("127.0.0.1", server->port(), kReaderToken);
        ws.sendText(big);
        EXPECT_THROW(while (ws.receiveText(std::chrono::seconds(5))) {}, Error);
        EXPECT_EQ(ws.closeStatus(), 1009);
    }
    // The server still serves after refusing.
    HttpClient client("127.0.0.1", server->port(), kReaderToken);
    EXPECT_NO_THROW(client.call("test.1.noop"));
}

TEST_F(ServerTest, BatchOverHttpAndNotificationOnlyBatchGetsNoContent)
{
    start();
    HttpClient client("127.0.0.1", server->port(), kReaderToken);
    const auto [status, body] = client.post(
        R"([{"jsonrpc":"2.0","id":1,"method":"test.1.echo","params":[1]},{"jsonrpc":"2.0","method":"test.1.noop"},)"
        R"({"jsonrpc":"2.0","id":2,"method":"test.1.admin"}])");
    EXPECT_EQ(status, 200);
    const auto replies = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(replies->size(), 2u);
    EXPECT_EQ(replies->getObject(0)->getValue<int>("id"), 1);
    EXPECT_EQ(replies->getObject(1)->getObject("error")->getValue<int>("code"), -32002);
    const auto [noContent, empty] = client.post(R"([{"jsonrpc":"2.0","method":"test.1.noop"}])");
    EXPECT_EQ(noContent, 204);
    EXPECT_TRUE(empty.empty());
}

TEST_F(ServerTest, WebSocketSubscriptionReceivesEvents)
{
    start();
    WebSocketClient ws("127.0.0.1", server->port(), kReaderToken);
    Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr events = new Poco::JSON::Array;
    events->add("test.1.tick");
    params->set("events", events);
    const auto subscribed = ws.call("host.1.subscribe", params);
    EXPECT_EQ(subscribed.extract<Poco::JSON::Array::Ptr>()->size(), 1u);

    Poco::JSON::Object::Ptr payload = new Poco::JSON::Object;
    payload->set("n", 7);
    dispatcher.emit("test.1.tick", payload);
    dispatcher.emit("test.1.audit", payload);  // not subscribed: must not arrive
    const auto note = ws.nextNotification(std::chrono::seconds(5));
    ASSERT_TRUE(note);
    EXPECT_EQ(note->method, "test.1.tick");
    EXPECT_EQ(note->params.extract<Poco::JSON::Object::Ptr>()->getValue<int>("n"), 7);
    EXPECT_FALSE(ws.nextNotification(std::chrono::milliseconds(200)));

    // Calls still work on the same session, and the admin-only event is refused.
    EXPECT_EQ(ws.call("test.1.echo", events).extract<Poco::JSON::Array::Ptr>()->size(), 1u);
    Poco::JSON::Object::Ptr audit = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr auditEvents = new Poco::JSON::Array;
    auditEvents->add("test.1.audit");
    audit->set("events", auditEvents);
    try {
        ws.call("host.1.subscribe", audit);
        FAIL() << "subscription without scope accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::PermissionDenied);
    }

    ws.call("host.1.unsubscribe", params);
    dispatcher.emit("test.1.tick", payload);
    EXPECT_FALSE(ws.nextNotification(std::chrono::milliseconds(200)));
}

// Requests with a wrong token are rate-limited like any other: a connection cannot
// try tokens faster than it may call.
TEST_F(ServerTest, WrongTokensAreRateLimitedToo)
{
    ServerOptions options;
    options.requestsPerSecond = 0.5;
    options.requestBurst = 5;
    start(options);
    HttpClient guesser("127.0.0.1", server->port(), "not-a-token");
    int unauthorized = 0, limited = 0;
    for (int i = 0; i < 10; ++i) {
        const auto [status, body] = guesser.post(kNoop);
        unauthorized += status == 401;
        limited += status == 429;
    }
    EXPECT_LE(unauthorized, 6);
    EXPECT_GE(limited, 4);
}

TEST_F(ServerTest, RateLimitPerConnection)
{
    ServerOptions options;
    options.requestsPerSecond = 0.5;
    options.requestBurst = 5;
    start(options);
    HttpClient client("127.0.0.1", server->port(), kReaderToken);
    int refused = 0;
    for (int i = 0; i < 10; ++i) {
        const auto [status, body] = client.post(kNoop);
        if (status == 429) {
            EXPECT_EQ(errorCodeOf(body), -32003);
            ++refused;
        }
    }
    EXPECT_GE(refused, 4);
    // Another connection has its own bucket.
    HttpClient other("127.0.0.1", server->port(), kReaderToken);
    EXPECT_NO_THROW(other.call("test.1.noop"));

    WebSocketClient ws("127.0.0.1", server->port(), kReaderToken);
    int wsRefused = 0;
    for (int i = 0; i < 10; ++i) {
        try {
            ws.call("test.1.noop");
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ErrorCode::LimitExceeded) << error.what();
            ++wsRefused;
        }
    }
    EXPECT_GE(wsRefused, 4);
}

TEST_F(ServerTest, WebSocketSessionsAreBounded)
{
    ServerOptions options;
    options.maxWebSockets = 2;
    start(options);
    WebSocketClient first("127.0.0.1", server->port(), kReaderToken);
    WebSocketClient second("127.0.0.1", server->port(), kReaderToken);
    EXPECT_THROW(WebSocketClient("127.0.0.1", server->port(), kReaderToken), Error);
    EXPECT_NO_THROW(first.call("test.1.noop"));
}

TEST_F(ServerTest, FiftyConcurrentClients)
{
    ServerOptions options;
    options.maxThreads = 32;
    options.maxWebSockets = 32;
    start(options);
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 50; ++c) {
        clients.emplace_back([&, c] {
            try {
                if (c % 2 == 0) {
                    HttpClient client("127.0.0.1", server->port(), kReaderToken);
                    for (int i = 0; i < 20; ++i) {
                        Poco::JSON::Array::Ptr params = new Poco::JSON::Array;
                        params->add(c * 100 + i);
                        const auto r = client.call("test.1.echo", params);
                        (r.extract<Poco::JSON::Array::Ptr>()->getElement<int>(0) == c * 100 + i ? ok : failed)++;
                    }
                } else {
                    WebSocketClient client("127.0.0.1", server->port(), kReaderToken);
                    for (int i = 0; i < 20; ++i) {
                        Poco::JSON::Array::Ptr params = new Poco::JSON::Array;
                        params->add(c * 100 + i);
                        const auto r = client.call("test.1.echo", params);
                        (r.extract<Poco::JSON::Array::Ptr>()->getElement<int>(0) == c * 100 + i ? ok : failed)++;
                    }
                }
            } catch (const std::exception&) {
                failed += 1000;
            }
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(ok.load(), 50 * 20);
}

TEST_F(ServerTest, RefusesToListenBeyondLoopback)
{
    ServerOptions options;
    options.address = "0.0.0.0";
    EXPECT_THROW(Server(dispatcher, tokens, options, Poco::Logger::get("test.server")), Error);
}

TEST_F(ServerTest, OtherPathsAndMethods)
{
    start();
    Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
    Poco::Net::HTTPRequest get(Poco::Net::HTTPRequest::HTTP_GET, "/jsonrpc", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(get);
    Poco::Net::HTTPResponse response;
    session.receiveResponse(response).ignore(1 << 20);
    EXPECT_EQ(response.getStatus(), 405);
    Poco::Net::HTTPRequest other(Poco::Net::HTTPRequest::HTTP_GET, "/index.html", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(other);
    session.receiveResponse(response).ignore(1 << 20);
    EXPECT_EQ(response.getStatus(), 404);
}

} // namespace
