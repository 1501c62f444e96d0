// boxoffice-server as a real process: a complete purchase over HTTPS (operator
// setup, STB order with mTLS, phone approval and acknowledgement with signed
// requests), hostile requests, SIGKILL and restart.

#include "ServerBackend.h"
#include "ServerProcess.h"

#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Approval.h>
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
                        R"(,"previewSeconds":60,"eventKeyId":"ev-demo/1"})"));
}

std::string signedApproval(const Object& order, wire::Decision decision = wire::Decision::Approve)
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
    EXPECT_EQ(obj(catalog)->getArray("events")->size(), 1u);

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
    EXPECT_EQ(order(std::string(200000, '{')).status, 413);
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

} // namespace
