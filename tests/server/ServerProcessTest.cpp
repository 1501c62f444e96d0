// boxoffice-server as a real process: a complete purchase over HTTPS (operator
// setup, STB order with mTLS, phone approval and acknowledgement with signed
// requests), hostile requests, SIGKILL and restart.

#include "ServerBackend.h"
#include "ServerProcess.h"

#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/wire/RevocationList.h>
#include <boxoffice/wire/Voucher.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Receipt.h>
#include <boxoffice/wire/Ticket.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <ctime>

using namespace boxoffice;
using namespace boxoffice::server::test;
using serverapi::Client;
using serverapi::ClientResponse;
using Poco::JSON::Object;

namespace {

Object::Ptr obj(const ClientResponse& r) { return r.body.extract<Object::Ptr>(); }

Object::Ptr json(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields)
{
    Object::Ptr o = new Object;
    for (const auto& [k, v] : fields) o->set(k, v);
    return o;
}

// Operator setup: alice's wallet with 5000, the studio, stb-1 + phone-1 for alice, event ev-1 at 1200.
void setUpWorld(ServerProcess& server)
{
    const auto& keys = DevKeys::get().dir;
    auto ops = server.operatorClient();
    auto expect = [](const ClientResponse& r) { ASSERT_LT(r.status, 300) << r.raw; };
    expect(ops.post("/v1/operator/accounts", json({{"accountId", "acct-alice"}, {"kind", "wallet"}, {"currency", "EUR"}})));
    expect(ops.post("/v1/operator/accounts", json({{"accountId", "studio"}, {"kind", "merchant"}, {"currency", "EUR"}})));
    expect(ops.post("/v1/operator/deposits",
                    json({{"transferId", "dep-1"}, {"accountId", "acct-alice"}, {"amount", 5000}, {"currency", "EUR"}})));
    expect(ops.post("/v1/operator/devices",
                    json({{"certificate", certificateField(keys / "devices/stb-1/device.cert")}, {"accountId", "acct-alice"}})));
    expect(ops.post("/v1/operator/phones",
                    json({{"certificate", certificateField(keys / "phones/phone-1/phone.cert")}, {"accountId", "acct-alice"}})));
    const std::int64_t now = ::time(nullptr);
    expect(ops.call("PUT", "/v1/operator/events/ev-1",
                    R"({"title":"The Final","payee":"studio","price":1200,"currency":"EUR","saleFrom":)" +
                        std::to_string(now - 3600) + R"(,"saleUntil":)" + std::to_string(now + 86400) +
                        R"(,"startsAt":)" + std::to_string(now + 600) + R"(,"endsAt":)" + std::to_string(now + 9000) +
                        R"(,"previewSeconds":60,"eventKeyId":"ev-demo/1","views":3,"playbackWindowSeconds":7200})"));
}

std::string signedApproval(const Object& order, wire::Decision decision = wire::Decision::Approve,
                           const std::string& acknowledgeCode = {})
{
    const auto phone = trust::loadPhone(DevKeys::get().dir / "phones/phone-1");
    wire::Approval a;
    a.transactionNumber = order.getValue<std::string>("transactionNumber");
    a.orderId = order.getValue<std::string>("orderId");
    a.accountId = order.getValue<std::string>("accountId");
    a.phoneId = phone.certificate.subject;
    a.payee = order.getValue<std::string>("payee");
    a.amount = order.getValue<std::int64_t>("amount");
    a.currency = order.getValue<std::string>("currency");
    a.decision = decision;
    a.oneTimePassword = acknowledgeCode;
    a.decidedAt = ::time(nullptr);
    trust::sign(a, phone.key);
    return wire::toBase64Url(a.encode());
}

std::string signedAcknowledgement(const Object& order)
{
    const auto phone = trust::loadPhone(DevKeys::get().dir / "phones/phone-1");
    const auto receipt = wire::Receipt::decode(wire::fromBase64Url(order.getValue<std::string>("receipt")));
    wire::Acknowledgement k;
    k.receiptId = receipt.receiptId;
    k.orderId = receipt.orderId;
    k.phoneId = phone.certificate.subject;
    k.acknowledgedAt = ::time(nullptr);
    trust::sign(k, phone.key);
    return wire::toBase64Url(k.encode());
}

void expectInvariants(ServerProcess& server)
{
    auto r = server.operatorClient().get("/v1/operator/invariants");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getArray("violations")->size(), 0u) << r.raw;
}

std::int64_t balance(ServerProcess& server, const std::string& account, const std::string& field = "balance")
{
    auto r = server.operatorClient().get("/v1/operator/accounts/" + account);
    return obj(r)->getValue<std::int64_t>(field);
}

class ServerProcessTest : public ::testing::Test {
protected:
    ScratchDir dir_;
};

TEST_F(ServerProcessTest, CompletePurchaseOverHttps) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    auto stb = server.stbClient("stb-1");
    auto phone = server.phoneClient();

    auto catalog = stb.get("/v1/stb/catalog");
    ASSERT_EQ(catalog.status, 200) << catalog.raw;
    ASSERT_EQ(obj(catalog)->getArray("events")->size(), 1u);
    const auto listed = obj(catalog)->getArray("events")->getObject(0);
    EXPECT_EQ(listed->getValue<std::int64_t>("views"), 3);
    EXPECT_EQ(listed->getValue<std::int64_t>("playbackWindowSeconds"), 7200);
    // Views and windows a ticket cannot carry are refused with the field named; the event stays.
    auto ops = server.operatorClient();
    for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
             {"views", R"("3")"}, {"views", "65535"}, {"views", "-1"}, {"playbackWindowSeconds", "1.5"},
             {"playbackWindowSeconds", "99999999"}}) {
        auto bad = ops.call("PUT", "/v1/operator/events/ev-1",
                            R"({"title":"The Final","payee":"studio","price":1200,"currency":"EUR","saleFrom":0,)"
                            R"("saleUntil":1,"startsAt":0,"endsAt":1,"eventKeyId":"ev-demo/1",")" +
                                field + "\":" + value + "}");
        EXPECT_EQ(bad.status, 400) << field << "=" << value << ": " << bad.raw;
        EXPECT_NE(bad.raw.find(field == "views" ? "views" : "playback"), std::string::npos) << bad.raw;
    }
    EXPECT_EQ(obj(stb.get("/v1/stb/catalog"))->getArray("events")->getObject(0)->getValue<std::int64_t>("views"), 3);

    auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    const auto order = obj(r);
    EXPECT_EQ(order->getValue<std::string>("state"), "pending");
    expectInvariants(server);

    r = phone.get("/v1/phone/transactions/" + order->getValue<std::string>("transactionNumber"));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::int64_t>("amount"), 1200);

    r = phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*order)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto approved = obj(r);
    EXPECT_EQ(approved->getValue<std::string>("state"), "approved");
    EXPECT_FALSE(approved->has("ticket")); // the ticket goes to the STB
    expectInvariants(server);

    r = stb.get("/v1/stb/orders/o-1");
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto ticket = wire::Ticket::decode(wire::fromBase64Url(obj(r)->getValue<std::string>("ticket")));
    EXPECT_EQ(ticket.holderDeviceId, "stb-1");
    EXPECT_EQ(ticket.viewsLeft, 3u);
    EXPECT_EQ(ticket.playbackWindow, 7200u);
    EXPECT_NO_THROW(trust::verifySignature(ticket, trust::VerifyingKey::fromCertificate(ticket.issuerCertificate)));

    r = phone.post("/v1/phone/acknowledgements", json({{"acknowledgement", signedAcknowledgement(*approved)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "closed");

    r = phone.get("/v1/phone/purchases");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(obj(r)->getArray("orders")->size(), 1u);
    EXPECT_EQ(balance(server, "acct-alice"), 3800);
    EXPECT_EQ(balance(server, "studio"), 1200);
    expectInvariants(server);

    // Prometheus: request counters and latency, plus the settlement plugin's order gauges.
    const auto metrics = server.operatorClient().get("/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.raw.find("boxoffice_http_requests_total{route=\"POST /v1/stb/orders\",status=\"201\"} 1"),
              std::string::npos) << metrics.raw;
    EXPECT_NE(metrics.raw.find("boxoffice_settlement_orders{state=\"closed\",currency=\"EUR\"} 1"), std::string::npos)
        << metrics.raw;
    EXPECT_NE(metrics.raw.find("boxoffice_settlement_order_amount{state=\"closed\",currency=\"EUR\"} 1200"),
              std::string::npos) << metrics.raw;

    r = Client(server.base()).get("/v1/time");
    ASSERT_EQ(r.status, 200);
    EXPECT_NEAR(static_cast<double>(obj(r)->getValue<std::int64_t>("time")), static_cast<double>(::time(nullptr)), 60);
}

TEST_F(ServerProcessTest, HostileRequestsChangeNothing) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    auto stb = server.stbClient("stb-1");
    auto phone = server.phoneClient();
    auto order = [&](const std::string& body) { return stb.call("POST", "/v1/stb/orders", body); };

    EXPECT_EQ(order("{\"orderId\": ").status, 400);
    EXPECT_EQ(order(R"({"orderId":"o-1","eventId":"ev-1","amount":"1200","currency":"EUR"})").status, 400);
    EXPECT_EQ(order(R"({"orderId":"o-1","eventId":"ev-1","amount":-1200,"currency":"EUR"})").status, 400);
    EXPECT_EQ(order(R"({"orderId":"o-1","eventId":"ev-1","amount":18446744073709551616,"currency":"EUR"})").status, 400);
    EXPECT_EQ(order(R"({"orderId":"o-1","eventId":"ev-1","amount":1200,"currency":"EUR","discount":100})").status, 400);
    EXPECT_EQ(order(R"({"orderId":"o-1","eventId":"ev-1","amount":1,"currency":"EUR"})").status, 409);
    // Too big: the server answers 413 without reading the body and closes; a client
    // still writing may see a broken pipe instead. Either way nothing is processed.
    try {
        EXPECT_EQ(server.stbClient("stb-1").call("POST", "/v1/stb/orders", std::string(200000, '{')).status, 413);
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::Io) << error.what();
    }
    // No client certificate: no ordering.
    auto anonymous = Client(server.base());
    EXPECT_EQ(anonymous.call("POST", "/v1/stb/orders", R"({"orderId":"o-1","eventId":"ev-1","amount":1200,"currency":"EUR"})").status, 403);
    // stb-2 has a valid certificate but is not registered to any account.
    auto stranger = server.stbClient("stb-2");
    EXPECT_EQ(stranger.call("POST", "/v1/stb/orders", R"({"orderId":"o-1","eventId":"ev-1","amount":1200,"currency":"EUR"})").status, 403);

    auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    ASSERT_EQ(r.status, 201);
    const auto o = obj(r);
    // Garbage approvals.
    EXPECT_EQ(phone.post("/v1/phone/approvals", json({{"approval", "AAAA"}})).status, 400);
    EXPECT_EQ(phone.post("/v1/phone/approvals", json({{"approval", 12}})).status, 400);
    auto tampered = wire::fromBase64Url(signedApproval(*o));
    tampered[tampered.size() - 1] ^= 1;
    EXPECT_EQ(phone.post("/v1/phone/approvals", json({{"approval", wire::toBase64Url(tampered)}})).status, 401);
    // The STB cannot impersonate the phone endpoint.
    EXPECT_EQ(stb.post("/v1/phone/approvals", json({{"approval", signedApproval(*o)}})).status, 403);
    EXPECT_EQ(balance(server, "acct-alice"), 5000);
    EXPECT_EQ(balance(server, "acct-alice", "available"), 3800);

    // Deposits are checked whole before anything is written: no stray funding
    // account, no credit to a merchant, nothing above the wire's largest amount.
    auto ops = server.operatorClient();
    auto deposit = [&](const std::string& body) { return ops.call("POST", "/v1/operator/deposits", body); };
    EXPECT_EQ(deposit(R"({"currency":"QQQ"})").status, 400);
    EXPECT_EQ(ops.get("/v1/operator/accounts/funding-QQQ").status, 404);
    EXPECT_EQ(deposit(R"({"transferId":"d-1","accountId":"studio","amount":10,"currency":"EUR"})").status, 400);
    EXPECT_EQ(deposit(R"({"transferId":"d-2","accountId":"acct-alice","amount":1000000000000001,"currency":"EUR"})").status, 400);
    EXPECT_EQ(deposit(R"({"transferId":"d-3","accountId":"acct-alice","amount":true,"currency":"EUR"})").status, 400);
    EXPECT_EQ(deposit(R"({"transferId":"d-4","accountId":"nobody","amount":10,"currency":"EUR"})").status, 404);
    // A currency the account is not in, or a transfer id outside the alphabet: refused before
    // the funding account of that currency is opened.
    EXPECT_EQ(deposit(R"({"transferId":"d-5","accountId":"acct-alice","amount":10,"currency":"USD"})").status, 400);
    EXPECT_EQ(ops.get("/v1/operator/accounts/funding-USD").status, 404);
    EXPECT_EQ(deposit(R"({"transferId":"bad id!","accountId":"acct-alice","amount":10,"currency":"GBP"})").status, 400);
    EXPECT_EQ(ops.get("/v1/operator/accounts/funding-GBP").status, 404);
    EXPECT_EQ(balance(server, "studio"), 0);
    EXPECT_EQ(balance(server, "acct-alice"), 5000);
    expectInvariants(server);
}

TEST_F(ServerProcessTest, NotMeEndToEnd) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    auto stb = server.stbClient("stb-1");
    auto phone = server.phoneClient();
    auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    ASSERT_EQ(r.status, 201);
    r = phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*obj(r), wire::Decision::NotMe)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "not-me");
    // The STB session is blocked and the account inhibited.
    EXPECT_EQ(stb.get("/v1/stb/catalog").status, 403);
    EXPECT_EQ(stb.post("/v1/stb/orders", json({{"orderId", "o-3"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}))
                  .status,
              403);
    // Blocked, it still learns how its own order ended (so the TV can say "not me")...
    r = stb.get("/v1/stb/orders/o-1");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "not-me");
    EXPECT_FALSE(obj(r)->has("ticket"));
    // ... and nothing of another box's.
    EXPECT_EQ(server.stbClient("stb-2").get("/v1/stb/orders/o-1").status, 404);
    auto ops = server.operatorClient();
    EXPECT_EQ(ops.post("/v1/operator/devices/stb-1/unblock", json({})).status, 200);
    r = stb.post("/v1/stb/orders", json({{"orderId", "o-2"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    EXPECT_EQ(r.status, 403) << r.raw;
    EXPECT_EQ(ops.post("/v1/operator/accounts/acct-alice/clear", json({})).status, 200);
    r = stb.post("/v1/stb/orders", json({{"orderId", "o-2"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(balance(server, "acct-alice"), 5000);
    expectInvariants(server);
}

TEST_F(ServerProcessTest, KilledAndRestartedServerKeepsEveryAnswer) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    std::string txn;
    {
        auto stb = server.stbClient("stb-1");
        auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
        ASSERT_EQ(r.status, 201);
        txn = obj(r)->getValue<std::string>("transactionNumber");
        auto phone = server.phoneClient();
        ASSERT_EQ(phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*obj(r))}})).status, 200);
    }
    server.kill();
    server.start();
    auto stb = server.stbClient("stb-1");
    // The retried order answers the same transaction, now approved, with its ticket.
    auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("transactionNumber"), txn);
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "approved");
    EXPECT_EQ(balance(server, "acct-alice"), 3800);
    expectInvariants(server);
}

// Every refusal below is a 4xx naming the problem; `field` must appear in the message.
void expectRefused(const ClientResponse& r, int status, const std::string& field)
{
    EXPECT_EQ(r.status, status) << r.raw;
    EXPECT_NE(r.raw.find(field), std::string::npos) << "message does not name '" << field << "': " << r.raw;
}

TEST_F(ServerProcessTest, OtpPurchaseOverHttps) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    auto stb = server.stbClient("stb-1");
    auto phone = server.phoneClient();
    auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200},
                                              {"currency", "EUR"}, {"method", "otp"}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("method"), "otp");
    EXPECT_EQ(obj(r)->getObject("otp")->getValue<int>("attemptsLeft"), 3);
    EXPECT_FALSE(obj(r)->getObject("otp")->has("oneTimePassword")); // the STB never sees the codes
    expectRefused(stb.call("POST", "/v1/stb/orders", R"({"orderId":"o-2","eventId":"ev-1","amount":1200,"currency":"EUR","method":"sms"})"), 400, "method");
    expectRefused(stb.call("POST", "/v1/stb/orders", R"({"orderId":"o-2","eventId":"ev-1","amount":1200,"currency":"EUR","method":1})"), 400, "method");

    r = phone.get("/v1/phone/otps");
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(obj(r)->getArray("otps")->size(), 1u);
    const auto challenge = obj(r)->getArray("otps")->getObject(0);
    const auto otp = challenge->getValue<std::string>("oneTimePassword");
    const auto ack = challenge->getValue<std::string>("acknowledgeCode");
    EXPECT_EQ(challenge->getValue<std::string>("orderId"), "o-1");

    // Hostile entries: nothing counted, nothing changed.
    const std::string path = "/v1/stb/orders/o-1/otp";
    expectRefused(stb.call("POST", path, R"({"otp": )"), 400, "JSON");
    expectRefused(stb.call("POST", path, R"({"otp": 123456})"), 400, "otp");
    expectRefused(stb.call("POST", path, R"({"otp": "12345a"})"), 400, "6 digits");
    expectRefused(stb.call("POST", path, R"({"otp": ")" + otp + R"(", "attempts": 0})"), 400, "attempts");
    expectRefused(stb.call("POST", path, R"([")" + otp + R"("])"), 400, "object");
    expectRefused(stb.call("POST", "/v1/stb/orders/o-none/otp", R"({"otp": "123456"})"), 404, "o-none");
    EXPECT_EQ(server.stbClient("stb-2").call("POST", path, R"({"otp": ")" + otp + R"("})").status, 403); // not registered
    // A wrong one is counted, once however often the box retries it.
    const std::string typo = std::string(R"({"otp": ")") + (otp == "000000" ? "000001" : "000000") + R"(", "attemptId": "e-1"})";
    expectRefused(stb.call("POST", path, typo), 403, "2 attempt(s) left");
    expectRefused(stb.call("POST", path, typo), 403, "2 attempt(s) left");
    expectRefused(stb.call("POST", path, R"({"otp": "123456", "attemptId": 7})"), 400, "attemptId");
    EXPECT_EQ(balance(server, "acct-alice", "available"), 3800);
    // The approval without the acknowledge code is refused.
    expectRefused(phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*challenge)}})), 403,
                  "acknowledge code");

    r = stb.call("POST", path, R"({"otp": ")" + otp + R"("})");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "pending");
    EXPECT_TRUE(obj(r)->getObject("otp")->getValue<bool>("entered"));
    EXPECT_EQ(balance(server, "acct-alice"), 5000);
    r = phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*challenge, wire::Decision::Approve, ack)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "approved");
    EXPECT_EQ(balance(server, "acct-alice"), 3800);
    expectInvariants(server);

    // The ticket waits in the STB's delivery queue until acknowledged.
    r = stb.get("/v1/stb/tickets");
    ASSERT_EQ(r.status, 200) << r.raw;
    auto tickets = obj(r)->getArray("tickets");
    ASSERT_EQ(tickets->size(), 1u);
    const auto delivery = tickets->getObject(0);
    EXPECT_EQ(delivery->getValue<std::string>("kind"), "purchase");
    const auto ticket = wire::Ticket::decode(wire::fromBase64Url(delivery->getValue<std::string>("ticket")));
    EXPECT_EQ(ticket.holderDeviceId, "stb-1");
    EXPECT_EQ(ticket.orderId, "o-1");
    const auto ids = "/v1/stb/tickets/acknowledgements";
    expectRefused(stb.call("POST", ids, R"({"deliveryIds": "d-1"})"), 400, "deliveryIds");
    expectRefused(stb.call("POST", ids, R"({"deliveryIds": [1]})"), 400, "deliveryIds");
    expectRefused(stb.call("POST", ids, R"({"deliveryIds": [], "all": true})"), 400, "all");
    expectRefused(stb.call("POST", ids, R"({})"), 400, "deliveryIds");
    expectRefused(stb.call("POST", ids, R"({"deliveryIds": [)"), 400, "JSON");
    {
        std::string many = R"({"deliveryIds": [)";
        for (int i = 0; i < 1001; ++i) many += (i ? ",\"d-" : "\"d-") + std::to_string(i) + "\"";
        expectRefused(stb.call("POST", ids, many + "]}"), 400, "1000");
    }
    EXPECT_EQ(stb.get("/v1/stb/tickets").body.extract<Object::Ptr>()->getArray("tickets")->size(), 1u);
    r = stb.post(ids, json({{"deliveryIds", Poco::JSON::Array::Ptr([&] {
                                 Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
                                 a->add(delivery->getValue<std::string>("deliveryId"));
                                 return a;
                             }())}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<int>("acknowledged"), 1);
    EXPECT_EQ(stb.get("/v1/stb/tickets").body.extract<Object::Ptr>()->getArray("tickets")->size(), 0u);
    expectInvariants(server);
}

TEST_F(ServerProcessTest, NotMeOnAnOtpOrderUntilTheHolderClears) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    auto stb = server.stbClient("stb-1");
    auto phone = server.phoneClient();
    auto r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200},
                                              {"currency", "EUR"}, {"method", "otp"}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    const auto challenge = obj(phone.get("/v1/phone/otps"))->getArray("otps")->getObject(0);
    r = phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*challenge, wire::Decision::NotMe)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "not-me");
    // The STB session is blocked (even the password), the account inhibited.
    EXPECT_EQ(stb.call("POST", "/v1/stb/orders/o-1/otp",
                       R"({"otp": ")" + challenge->getValue<std::string>("oneTimePassword") + "\"}").status, 403);
    EXPECT_EQ(stb.get("/v1/stb/catalog").status, 403);
    EXPECT_TRUE(obj(server.operatorClient().get("/v1/operator/accounts/acct-alice"))->getValue<bool>("inhibited"));
    EXPECT_EQ(balance(server, "acct-alice", "available"), 5000);
    // Gifts from the inhibited account are refused too.
    expectRefused(phone.post("/v1/phone/gifts", json({{"giftId", "g-1"}, {"eventId", "ev-1"}, {"recipientDeviceId", "stb-1"},
                                                      {"amount", 1200}, {"currency", "EUR"}})),
                  403, "inhibited");
    // The holder clears it from the phone.
    expectRefused(phone.call("POST", "/v1/phone/account/clear", R"({"accountId": "acct-bob"})"), 400, "accountId");
    expectRefused(phone.call("POST", "/v1/phone/account/clear", "{"), 400, "JSON");
    EXPECT_EQ(stb.get("/v1/stb/catalog").status, 403);
    r = phone.call("POST", "/v1/phone/account/clear", "{}");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_FALSE(obj(r)->getValue<bool>("inhibited"));
    EXPECT_EQ(stb.get("/v1/stb/catalog").status, 200);
    r = stb.post("/v1/stb/orders", json({{"orderId", "o-2"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(balance(server, "acct-alice"), 5000);
    expectInvariants(server);
}

// The server's root revocation list (https.revocations) reaches the settlement plugin: a
// revoked STB's certificate cannot be registered to an account.
TEST_F(ServerProcessTest, ARevokedDeviceCannotBeRegistered) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    const auto r = server.operatorClient().post(
        "/v1/operator/devices", json({{"certificate", certificateField(DevKeys::get().dir / "devices/stb-revoked/device.cert")},
                                      {"accountId", "acct-alice"}}));
    EXPECT_EQ(r.status, 403) << r.raw;
    EXPECT_EQ(r.error(), "revoked") << r.raw;
}

TEST_F(ServerProcessTest, GiftsRefundsAndRevocationsOverHttps) {
    ServerProcess server(dir_.path(), "sqlite:" + (dir_.path() / "server.db").string());
    setUpWorld(server);
    const auto& keys = DevKeys::get().dir;
    auto ops = server.operatorClient();
    ASSERT_EQ(ops.post("/v1/operator/accounts", json({{"accountId", "acct-bob"}, {"kind", "wallet"}, {"currency", "EUR"}})).status, 201);
    ASSERT_EQ(ops.post("/v1/operator/devices", json({{"certificate", certificateField(keys / "devices/stb-2/device.cert")},
                                                     {"accountId", "acct-bob"}})).status, 201);
    auto phone = server.phoneClient();
    auto stb = server.stbClient("stb-1");
    auto bobs = server.stbClient("stb-2");

    // Hostile gifts: refused, nothing bought.
    const auto gifts = "/v1/phone/gifts";
    const std::string base = R"("giftId":"g-1","eventId":"ev-1","recipientDeviceId":"stb-2","currency":"EUR")";
    expectRefused(phone.call("POST", gifts, "{" + base), 400, "JSON");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":"1200"})"), 400, "amount");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":-1200})"), 400, "amount");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":18446744073709551616})"), 400, "amount");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":12.5})"), 400, "amount");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":1200,"discount":1})"), 400, "discount");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":1200,"deliverAt":"tomorrow"})"), 400, "deliverAt");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":1200,"deliverAt":-5})"), 400, "deliverAt");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":1200,"message":")" + std::string(501, 'x') + "\"}"), 400, "message");
    expectRefused(phone.call("POST", gifts, "{" + base + R"(,"amount":1100})"), 409, "price");
    expectRefused(phone.call("POST", gifts, R"({"giftId":"g-1","eventId":"ev-1","recipientDeviceId":"stb-9","amount":1200,"currency":"EUR"})"), 404, "stb-9");
    EXPECT_EQ(stb.post(gifts, json({{"giftId", "g-1"}})).status, 403); // an STB is not a phone
    EXPECT_EQ(balance(server, "acct-alice"), 5000);
    EXPECT_EQ(obj(phone.get("/v1/phone/vouchers"))->getArray("vouchers")->size(), 0u);

    const auto deliverAt = static_cast<std::int64_t>(::time(nullptr)) + 3600; // later than this test
    const auto giftBody = "{" + base + R"(,"amount":1200,"deliverAt":)" + std::to_string(deliverAt) +
                          R"(,"message":"Happy birthday"})";
    auto r = phone.call("POST", gifts, giftBody);
    ASSERT_EQ(r.status, 201) << r.raw;
    const auto voucher = wire::Voucher::decode(wire::fromBase64Url(obj(r)->getValue<std::string>("voucher")));
    const auto serverKey = trust::VerifyingKey::fromCertificate(trust::loadCertificate(keys / "server/server.cert"));
    EXPECT_NO_THROW(trust::verifySignature(voucher, serverKey));
    EXPECT_EQ(voucher.recipientDeviceId, "stb-2");
    EXPECT_EQ(voucher.deliverAt, deliverAt);
    EXPECT_EQ(phone.call("POST", gifts, giftBody).body.extract<Object::Ptr>()->getValue<std::string>("voucher"),
              obj(r)->getValue<std::string>("voucher")); // idempotent
    EXPECT_EQ(balance(server, "acct-alice"), 3800);
    r = phone.get("/v1/phone/vouchers");
    ASSERT_EQ(obj(r)->getArray("vouchers")->size(), 1u);
    EXPECT_EQ(obj(r)->getArray("vouchers")->getObject(0)->getValue<std::string>("message"), "Happy birthday");
    // Scheduled: nobody gets it yet (the clock-driven delivery is in AfterSaleTest).
    EXPECT_EQ(obj(bobs.get("/v1/stb/tickets"))->getArray("tickets")->size(), 0u);
    EXPECT_EQ(obj(stb.get("/v1/stb/tickets"))->getArray("tickets")->size(), 0u);
    // Now, by account: bob has one STB.
    r = phone.post(gifts, json({{"giftId", "g-2"}, {"eventId", "ev-1"}, {"recipientAccountId", "acct-bob"},
                                {"amount", 1200}, {"currency", "EUR"}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    r = bobs.get("/v1/stb/tickets");
    ASSERT_EQ(obj(r)->getArray("tickets")->size(), 1u) << r.raw;
    EXPECT_EQ(obj(r)->getArray("tickets")->getObject(0)->getValue<std::string>("kind"), "gift");
    EXPECT_EQ(obj(stb.get("/v1/stb/tickets"))->getArray("tickets")->size(), 0u);
    expectInvariants(server);

    // A purchase, then its refund by the operator.
    r = stb.post("/v1/stb/orders", json({{"orderId", "o-1"}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
    ASSERT_EQ(r.status, 201);
    ASSERT_EQ(phone.post("/v1/phone/approvals", json({{"approval", signedApproval(*obj(r))}})).status, 200);
    EXPECT_EQ(balance(server, "acct-alice"), 1400);
    const auto refunds = "/v1/operator/refunds";
    expectRefused(ops.call("POST", refunds, R"({"refundId":"rf-1",)"), 400, "JSON");
    expectRefused(ops.call("POST", refunds, R"({"refundId":1,"orderId":"o-1"})"), 400, "refundId");
    expectRefused(ops.call("POST", refunds, R"({"refundId":"rf-1"})"), 400, "orderId");
    expectRefused(ops.call("POST", refunds, R"({"refundId":"rf-1","orderId":"o-1","amount":5000})"), 400, "amount");
    expectRefused(ops.call("POST", refunds, R"({"refundId":"rf 1","orderId":"o-1"})"), 400, "refund id");
    expectRefused(ops.call("POST", refunds, R"({"refundId":"rf-1","orderId":"o-none"})"), 404, "o-none");
    EXPECT_EQ(stb.post(refunds, json({{"refundId", "rf-1"}, {"orderId", "o-1"}})).status, 403);
    EXPECT_EQ(balance(server, "acct-alice"), 1400);
    r = ops.post(refunds, json({{"refundId", "rf-1"}, {"orderId", "o-1"}, {"reason", "broadcast failed"}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("revokedTicketId"), "t-o-1");
    EXPECT_EQ(ops.post(refunds, json({{"refundId", "rf-1"}, {"orderId", "o-1"}, {"reason", "broadcast failed"}})).status, 201);
    expectRefused(ops.post(refunds, json({{"refundId", "rf-2"}, {"orderId", "o-1"}})), 409, "refunded already");
    EXPECT_EQ(balance(server, "acct-alice"), 2600);
    EXPECT_EQ(obj(stb.get("/v1/stb/orders/o-1"))->getValue<std::string>("state"), "refunded");

    // The STB's revocation feed: signed by the server, whose certificate comes from the root.
    r = stb.get("/v1/stb/revocations");
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto list = wire::RevocationList::decode(wire::fromBase64Url(obj(r)->getValue<std::string>("revocations")));
    const auto certificate = wire::Certificate::decode(wire::fromBase64Url(obj(r)->getValue<std::string>("serverCertificate")));
    EXPECT_NO_THROW(trust::verifyCertificate(certificate, trust::loadTrustAnchor(keys / "root/root.json"),
                                             wire::CertificateRole::Server, ::time(nullptr)));
    EXPECT_NO_THROW(trust::verifySignature(list, trust::VerifyingKey::fromCertificate(certificate)));
    EXPECT_EQ(list.revokedTicketIds, std::vector<std::string>{"t-o-1"});
    EXPECT_EQ(obj(r)->getValue<std::int64_t>("sequence"), static_cast<std::int64_t>(list.sequence));
    // The operator root's list the server started with rides along, as the file holds it:
    // root-signed, naming the revoked STB (the server's own list may name tickets only).
    const auto rootBytes = wire::fromBase64Url(obj(r)->getValue<std::string>("rootRevocations"));
    const auto file = trust::readKeyFile(keys / "revocations.bin");
    EXPECT_EQ(std::string(rootBytes.begin(), rootBytes.end()), file);
    trust::RevocationState state;
    EXPECT_NO_THROW(state.apply(wire::RevocationList::decode(rootBytes), trust::loadTrustAnchor(keys / "root/root.json")));
    EXPECT_NO_THROW(state.apply(list, trust::VerifyingKey::fromCertificate(certificate)));
    EXPECT_TRUE(state.isDeviceRevoked("stb-revoked"));
    EXPECT_TRUE(state.isTicketRevoked("t-o-1"));
    // The revoked ticket is not delivered.
    EXPECT_EQ(obj(stb.get("/v1/stb/tickets"))->getArray("tickets")->size(), 0u);
    expectInvariants(server);
}

} // namespace
