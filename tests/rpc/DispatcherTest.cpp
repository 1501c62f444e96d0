// The JSON-RPC 2.0 dispatcher on its own: every standard error, batches,
// notifications, scopes, parameter typing and owner withdrawal.

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/DetailedError.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace boxoffice;
using namespace boxoffice::rpc;
using ::testing::HasSubstr;

namespace {

Poco::JSON::Object::Ptr parseObject(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

int errorCode(const std::string& text)
{
    return parseObject(text)->getObject("error")->getValue<int>("code");
}

class DispatcherTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        dispatcher.addMethod("test.1.echo", "read", [](const Request& r) { return r.params(); }, "test");
        dispatcher.addMethod("test.1.add", "read", [](const Request& r) {
            return Poco::Dynamic::Var(r.integer("a") + r.integer("b"));
        }, "test");
        dispatcher.addMethod("test.1.crash", "read", [](const Request&) -> Poco::Dynamic::Var {
            throw std::runtime_error("secret detail");
        }, "test");
        dispatcher.addMethod("test.1.expired", "read", [](const Request&) -> Poco::Dynamic::Var {
            throw Error(ErrorCode::Expired, "ticket expired at 12:00");
        }, "test");
        dispatcher.addMethod("test.1.refuse", "read", [](const Request&) -> Poco::Dynamic::Var {
            throw DetailedError(ErrorCode::PermissionDenied, "pin-wrong: wrong PIN, 2 attempts left",
                                {{"reason", "pin-wrong"}, {"attemptsLeft", 2}, {"error", "overridden?"}});
        }, "test");
        dispatcher.addMethod("test.1.purchase", "purchase", [](const Request&) { return Poco::Dynamic::Var(true); },
                             "test");
    }

    std::string handle(const std::string& text) { return dispatcher.handle(text, reader).value_or("<none>"); }

    Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    Caller reader{"reader", {"read"}, nullptr};
};

TEST_F(DispatcherTest, AnswersARequestWithItsId)
{
    const auto reply = parseObject(handle(R"({"jsonrpc":"2.0","id":"abc","method":"test.1.add","params":{"a":2,"b":40}})"));
    EXPECT_EQ(reply->getValue<std::string>("jsonrpc"), "2.0");
    EXPECT_EQ(reply->getValue<std::string>("id"), "abc");
    EXPECT_EQ(reply->getValue<int>("result"), 42);
    EXPECT_FALSE(reply->has("error"));
}

TEST_F(DispatcherTest, ParseError)
{
    const auto text = handle(R"({"jsonrpc":"2.0","method":"test.1.echo",)");
    EXPECT_EQ(errorCode(text), -32700);
    EXPECT_TRUE(parseObject(text)->get("id").isEmpty());
}

TEST_F(DispatcherTest, InvalidRequests)
{
    const auto invalidBatch = Poco::JSON::Parser().parse(handle("[1]")).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(invalidBatch->size(), 1u);
    EXPECT_EQ(invalidBatch->getObject(0)->getObject("error")->getValue<int>("code"), -32600);
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"1.0","id":1,"method":"test.1.echo"})")), -32600);
    EXPECT_EQ(errorCode(handle(R"({"id":1,"method":"test.1.echo"})")), -32600);
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"2.0","id":1,"method":7})")), -32600);
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.echo","params":"x"})")), -32600);
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"2.0","id":{"a":1},"method":"test.1.echo"})")), -32600);
    EXPECT_EQ(errorCode(handle(R"([])")), -32600);
}

TEST_F(DispatcherTest, DetailedErrorsAddTheirFieldsToData)
{
    const auto reply = parseObject(handle(R"({"jsonrpc":"2.0","id":5,"method":"test.1.refuse"})"));
    const auto error = reply->getObject("error");
    EXPECT_EQ(error->getValue<int>("code"), -32002);  // PermissionDenied maps to forbidden
    EXPECT_EQ(error->getValue<std::string>("message"), "pin-wrong: wrong PIN, 2 attempts left");
    const auto data = error->getObject("data");
    EXPECT_EQ(data->getValue<std::string>("error"), "permission denied");  // the handler cannot replace it
    EXPECT_EQ(data->getValue<std::string>("reason"), "pin-wrong");
    EXPECT_EQ(data->getValue<int>("attemptsLeft"), 2);
    // A notification still gets no answer.
    EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"test.1.refuse"})"), "<none>");
}

TEST_F(DispatcherTest, MethodNotFound)
{
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.nothing"})")), -32601);
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"2.0","id":1,"method":"test.2.echo"})")), -32601);
}

TEST_F(DispatcherTest, InvalidParamsNameTheParameter)
{
    const auto wrongType = handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.add","params":{"a":"2","b":3}})");
    EXPECT_EQ(errorCode(wrongType), -32602);
    EXPECT_THAT(wrongType, HasSubstr("parameter 'a' must be an integer"));
    const auto missing = handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.add","params":{"a":2}})");
    EXPECT_EQ(errorCode(missing), -32602);
    EXPECT_THAT(missing, HasSubstr("'b'"));
    EXPECT_EQ(errorCode(handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.add","params":{"a":true,"b":1}})")), -32602);
}

TEST_F(DispatcherTest, InternalErrorHidesDetails)
{
    const auto text = handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.crash"})");
    EXPECT_EQ(errorCode(text), -32603);
    EXPECT_THAT(text, ::testing::Not(HasSubstr("secret detail")));
}

TEST_F(DispatcherTest, ApplicationErrorsCarryAKeyword)
{
    const auto error = parseObject(handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.expired"})"))->getObject("error");
    EXPECT_EQ(error->getValue<int>("code"), -32000);
    EXPECT_EQ(error->getObject("data")->getValue<std::string>("error"), "expired");
    EXPECT_THAT(error->getValue<std::string>("message"), HasSubstr("ticket expired"));
}

TEST_F(DispatcherTest, ScopeIsEnforcedPerMethod)
{
    const auto text = handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.purchase"})");
    EXPECT_EQ(errorCode(text), -32002);
    EXPECT_THAT(text, HasSubstr("lacks scope 'purchase'"));
    Caller buyer{"tv", {"read", "purchase"}, nullptr};
    EXPECT_THAT(dispatcher.handle(R"({"jsonrpc":"2.0","id":1,"method":"test.1.purchase"})", buyer).value(),
                HasSubstr(R"("result":true)"));
}

TEST_F(DispatcherTest, NotificationsGetNoResponseEvenOnError)
{
    EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"test.1.echo","params":[1]})"), "<none>");
    EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"test.1.nothing"})"), "<none>");
    EXPECT_EQ(handle(R"({"jsonrpc":"2.0","method":"test.1.crash"})"), "<none>");
}

TEST_F(DispatcherTest, BatchAnswersEachRequestButNotNotifications)
{
    const auto text = handle(R"([
        {"jsonrpc":"2.0","id":1,"method":"test.1.add","params":{"a":1,"b":2}},
        {"jsonrpc":"2.0","method":"test.1.echo","params":[1]},
        {"jsonrpc":"2.0","id":2,"method":"test.1.nothing"},
        17,
        {"jsonrpc":"2.0","id":3,"method":"test.1.echo","params":["x"]}
    ])");
    const auto replies = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(replies->size(), 4u);
    EXPECT_EQ(replies->getObject(0)->getValue<int>("result"), 3);
    EXPECT_EQ(replies->getObject(1)->getObject("error")->getValue<int>("code"), -32601);
    EXPECT_EQ(replies->getObject(2)->getObject("error")->getValue<int>("code"), -32600);
    EXPECT_EQ(replies->getObject(3)->getArray("result")->getElement<std::string>(0), "x");
    EXPECT_EQ(handle(R"([{"jsonrpc":"2.0","method":"test.1.echo"},{"jsonrpc":"2.0","method":"test.1.echo"}])"), "<none>");
}

TEST_F(DispatcherTest, OversizedBatchIsRefused)
{
    std::string batch = "[";
    for (int i = 0; i < 65; ++i) batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"test.1.echo"})";
    batch += "]";
    EXPECT_EQ(errorCode(handle(batch)), -32003);
}

TEST_F(DispatcherTest, MethodNamesMustReadPluginVersionMethod)
{
    auto noop = [](const Request&) { return Poco::Dynamic::Var(); };
    for (const char* bad : {"echo", "test.echo", "test.x.echo", "Test.1.echo", "test.1.", "test.1.echo.more", "test.12345.a"})
        EXPECT_THROW(dispatcher.addMethod(bad, "read", noop, "test"), Error) << bad;
    EXPECT_THROW(dispatcher.addMethod("test.1.echo", "read", noop, "other"), Error);
    EXPECT_NO_THROW(dispatcher.addMethod("my-plugin.10.doThing2", "read", noop, "test"));
}

TEST_F(DispatcherTest, RemoveOwnerWaitsForCallsInFlight)
{
    std::atomic<bool> entered{false};
    std::atomic<bool> release{false};
    std::atomic<bool> finished{false};
    dispatcher.addMethod("slow.1.run", "read", [&](const Request&) {
        entered = true;
        while (!release) std::this_thread::yield();
        finished = true;
        return Poco::Dynamic::Var(1);
    }, "slow");
    std::thread caller([&] { handle(R"({"jsonrpc":"2.0","id":1,"method":"slow.1.run"})"); });
    while (!entered) std::this_thread::yield();
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        release = true;
    });
    dispatcher.removeOwner("slow");
    EXPECT_TRUE(finished.load()) << "removeOwner returned while the handler still ran";
    EXPECT_FALSE(dispatcher.hasMethod("slow.1.run"));
    caller.join();
    releaser.join();
}

TEST_F(DispatcherTest, SubscribingNeedsASessionAndAKnownEvent)
{
    dispatcher.addEvent("test.1.tick", "read", "test");
    EXPECT_THAT(handle(R"({"jsonrpc":"2.0","id":1,"method":"host.1.subscribe","params":{"events":["test.1.tick"]}})"),
                HasSubstr("WebSocket only"));
    EXPECT_THROW(dispatcher.addEvent("test.1.tick", "read", "test"), Error);
}

} // namespace
