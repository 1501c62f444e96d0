// The reference phone's own line to the server: phone::HttpsServerLine and
// phone::Settler (what the phone does with a settlement request arriving over
// Bluetooth) against a real boxoffice-server process, and the boxoffice-phone
// commands a demo needs (register, purchases).

#include "ServerProcess.h"

#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/phone/ServerLine.h>
#include <boxoffice/phone/Settler.h>
#include <boxoffice/testing/ErrorCodeOf.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/SealedApproval.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

using namespace boxoffice;
using namespace boxoffice::server::test;
namespace bt = boxoffice::bluetooth;
using Poco::JSON::Object;

namespace {

using boxoffice::testing::codeOf;

Object::Ptr json(std::initializer_list<std::pair<std::string, Poco::Dynamic::Var>> fields)
{
    Object::Ptr o = new Object;
    for (const auto& [k, v] : fields) o->set(k, v);
    return o;
}

Object::Ptr obj(const serverapi::ClientResponse& r) { return r.body.extract<Object::Ptr>(); }

std::filesystem::path phoneDir() { return DevKeys::get().dir / "phones/phone-1"; }

class PhoneServerLine : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir_ = std::filesystem::temp_directory_path() /
               ("bo-phone-line-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        // debug: the server logs each request with its X-Request-Id.
        server_ = std::make_unique<ServerProcess>(dir_, "sqlite:" + (dir_ / "server.db").string(), "server", false,
                                                  "debug");
        // alice's wallet with 5000, the studio, stb-1 + phone-1 for alice, event ev-1 at 1200.
        const auto& keys = DevKeys::get().dir;
        auto ops = server_->operatorClient();
        auto expect = [](const serverapi::ClientResponse& r) { ASSERT_LT(r.status, 300) << r.raw; };
        expect(ops.post("/v1/operator/accounts", json({{"accountId", "acct-alice"}, {"kind", "wallet"}, {"currency", "EUR"}})));
        expect(ops.post("/v1/operator/accounts", json({{"accountId", "studio"}, {"kind", "merchant"}, {"currency", "EUR"}})));
        expect(ops.post("/v1/operator/deposits",
                        json({{"transferId", "dep-1"}, {"accountId", "acct-alice"}, {"amount", 5000}, {"currency", "EUR"}})));
        expect(ops.post("/v1/operator/devices",
                        json({{"certificate", certificateField(keys / "devices/stb-1/device.cert")}, {"accountId", "acct-alice"}})));
        expect(ops.post("/v1/operator/phones",
                        json({{"certificate", certificateField(phoneDir() / "phone.cert")}, {"accountId", "acct-alice"}})));
        const std::int64_t now = ::time(nullptr);
        expect(ops.call("PUT", "/v1/operator/events/ev-1",
                        R"({"title":"The Final","payee":"studio","price":1200,"currency":"EUR","saleFrom":)" +
                            std::to_string(now - 3600) + R"(,"saleUntil":)" + std::to_string(now + 86400) +
                            R"(,"startsAt":)" + std::to_string(now + 600) + R"(,"endsAt":)" + std::to_string(now + 9000) +
                            R"(,"previewSeconds":60,"eventKeyId":"ev-demo/1"})"));
    }
    void TearDown() override
    {
        if (!server_) return;
        auto r = server_->operatorClient().get("/v1/operator/invariants");
        EXPECT_EQ(r.status, 200) << r.raw;
        if (r.status == 200) {
            EXPECT_EQ(obj(r)->getArray("violations")->size(), 0u) << r.raw;
        }
        server_.reset();
        std::filesystem::remove_all(dir_);
    }

    std::shared_ptr<phone::HttpsServerLine> line() { return std::make_shared<phone::HttpsServerLine>(server_->phoneOptions()); }

    phone::Settler settler(wire::Decision decision, std::shared_ptr<phone::ServerLine> line, int* asked = nullptr)
    {
        const auto creds = trust::loadPhone(phoneDir());
        return phone::Settler(
            creds.certificate.subject, creds.key, std::move(line),
            [decision, asked](const phone::ServerOrder&) {
                if (asked) ++*asked;
                return decision;
            },
            trust::loadCertificate(DevKeys::get().dir / "server/server.cert"));
    }

    Object::Ptr account(const std::string& id) { return obj(server_->operatorClient().get("/v1/operator/accounts/" + id)); }

    // The STB orders ev-1; returns the settlement request it sends the phone (as plugins/ppv builds it).
    bt::Message order(const std::string& orderId, std::int64_t shownAmount = 1200)
    {
        auto r = server_->stbClient("stb-1").post(
            "/v1/stb/orders", json({{"orderId", orderId}, {"eventId", "ev-1"}, {"amount", 1200}, {"currency", "EUR"}}));
        EXPECT_EQ(r.status, 201) << r.raw;
        const auto o = obj(r);
        bt::SettlementRequestBody request;
        request.transactionId = o->getValue<std::string>("transactionNumber");
        request.amountMinor = static_cast<std::uint64_t>(shownAmount);
        request.currency = "EUR";
        request.payee = o->getValue<std::string>("payee");
        request.title = "The Final";
        std::ostringstream text;
        Poco::JSON::Stringifier::condense(o, text);
        const auto s = text.str();
        request.order.assign(s.begin(), s.end());
        return {bt::MessageType::SettlementRequest, 7, 0, request.encode()};
    }

    std::string stbState(const std::string& orderId)
    {
        return obj(server_->stbClient("stb-1").get("/v1/stb/orders/" + orderId))->getValue<std::string>("state");
    }

    std::filesystem::path dir_;
    std::unique_ptr<ServerProcess> server_;
};

// Runs a command, returns its exit status and output.
std::pair<int, std::string> run(const std::string& command)
{
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return {-1, ""};
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

} // namespace

TEST_F(PhoneServerLine, ApprovalOverThePhonesLineCompletesThePurchase)
{
    auto l = line();
    const auto request = order("o-1");
    const auto number = bt::SettlementRequestBody::decode(request.body).transactionId;
    const auto seen = l->transaction(number);
    EXPECT_EQ(seen.amount, 1200);
    EXPECT_EQ(seen.payee, "studio");
    EXPECT_EQ(seen.state, "pending");

    int asked = 0;
    auto s = settler(wire::Decision::Approve, l, &asked);
    std::vector<wire::Receipt> kept;
    s.onReceipt([&kept](const wire::Receipt& r) { kept.push_back(r); });
    const auto reply = s.handle(request);
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, bt::MessageType::Result);
    const auto result = bt::ResultBody::decode(reply->body);
    EXPECT_TRUE(result.ok) << result.text;
    EXPECT_EQ(asked, 1);

    // The STB now finds its ticket; the phone acknowledged the receipt, which closed the order.
    const auto stb = obj(server_->stbClient("stb-1").get("/v1/stb/orders/o-1"));
    EXPECT_TRUE(stb->has("ticket"));
    const auto purchases = l->purchases();
    ASSERT_EQ(purchases.size(), 1u);
    EXPECT_EQ(purchases[0].orderId, "o-1");
    EXPECT_EQ(purchases[0].state, "closed");
    ASSERT_TRUE(purchases[0].receipt);
    EXPECT_EQ(purchases[0].receipt->transactionNumber, number);
    ASSERT_EQ(kept.size(), 1u);   // the app keeps the receipt it acknowledged
    EXPECT_EQ(kept[0].encode(), purchases[0].receipt->encode());
    // The phone's approval is logged under the order id, as the STB's requests are.
    EXPECT_THAT(server_->output(), ::testing::HasSubstr("request o-1 "));
    // The same approval again is refused or answered identically, never a second effect.
    EXPECT_EQ(l->purchases().size(), 1u);
}

TEST_F(PhoneServerLine, DeclineOverThePhonesLine)
{
    auto s = settler(wire::Decision::Decline, line());
    const auto reply = s.handle(order("o-2"));
    ASSERT_TRUE(reply);
    const auto result = bt::ResultBody::decode(reply->body);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(stbState("o-2"), "declined");
}

// "Not me" (flow 4) over the phone's line: the STB is told to ask the server, which voided the
// transfer, blocked the box and inhibited the account.
TEST_F(PhoneServerLine, NotMeOverThePhonesLineVoidsAndInhibits)
{
    auto s = settler(wire::Decision::NotMe, line());
    const auto reply = s.handle(order("o-6"));
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, bt::MessageType::Result);
    const auto result = bt::ResultBody::decode(reply->body);
    EXPECT_TRUE(result.ok) << result.text;
    EXPECT_EQ(stbState("o-6"), "not-me");
    const auto alice = account("acct-alice");
    EXPECT_TRUE(alice->getValue<bool>("inhibited"));
    EXPECT_EQ(alice->getValue<std::int64_t>("available"), 5000);
}

// Without a line a decline is relayed like an approval: the server releases the held amount at
// once instead of when the transaction expires.
TEST_F(PhoneServerLine, WithoutALineADeclineIsRelayedAndReleasesTheHeldAmount)
{
    auto s = settler(wire::Decision::Decline, std::make_shared<phone::OfflineServerLine>());
    const auto reply = s.handle(order("o-7"));
    EXPECT_EQ(account("acct-alice")->getValue<std::int64_t>("available"), 5000 - 1200);
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, bt::MessageType::Approval);
    const auto sealed = bt::ApprovalBody::decode(reply->body).approval;
    auto r = server_->stbClient("stb-1").post("/v1/stb/approvals", json({{"sealedApproval", wire::toBase64Url(sealed)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "declined");
    EXPECT_FALSE(obj(r)->has("receipt"));
    EXPECT_EQ(account("acct-alice")->getValue<std::int64_t>("available"), 5000);
}

// A receipt the STB relays is acknowledged only if the server signed it: a forged or damaged
// one gets a clear refusal, is not kept, and the order stays open at the server.
TEST_F(PhoneServerLine, ARelayedReceiptNotSignedByTheServerIsNotAcknowledged)
{
    auto s = settler(wire::Decision::Approve, std::make_shared<phone::OfflineServerLine>());
    std::vector<wire::Receipt> kept;
    s.onReceipt([&kept](const wire::Receipt& r) { kept.push_back(r); });
    const auto reply = s.handle(order("o-8"));
    ASSERT_TRUE(reply);
    const auto approval = bt::ApprovalBody::decode(reply->body);
    auto r = server_->stbClient("stb-1").post("/v1/stb/approvals",
                                              json({{"sealedApproval", wire::toBase64Url(approval.approval)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto genuine = wire::Receipt::decode(wire::fromBase64Url(obj(r)->getValue<std::string>("receipt")));

    auto refused = [&](const Bytes& receipt) {
        const auto answer = s.handle({bt::MessageType::Receipt, 9, 0, bt::ReceiptBody{approval.transactionId, receipt, {}}.encode()});
        EXPECT_TRUE(answer);
        if (!answer) return std::string();
        EXPECT_EQ(answer->type, bt::MessageType::Result);
        const auto result = bt::ResultBody::decode(answer->body);
        EXPECT_FALSE(result.ok);
        return result.error;
    };
    // The same receipt for another amount signed by another key (the phone's own), naming
    // that key or the server's.
    auto forged = genuine;
    forged.amount = 1;
    trust::sign(forged, trust::loadPhone(phoneDir()).key);
    EXPECT_EQ(refused(forged.encode()), "not found");   // no such server key
    forged.signer = genuine.signer;
    EXPECT_EQ(refused(forged.encode()), "bad signature");
    // The genuine receipt altered after signing, and bytes that are no receipt at all.
    auto altered = genuine.encode();
    altered[altered.size() / 2] ^= 0x01;
    EXPECT_FALSE(refused(altered).empty());
    EXPECT_EQ(refused(Bytes(40, 0x5a)), "malformed");
    EXPECT_TRUE(kept.empty());
    EXPECT_EQ(stbState("o-8"), "approved");   // not closed: nothing was acknowledged

    // The genuine one: kept, acknowledged.
    const auto ack = s.handle({bt::MessageType::Receipt, 10, 0, bt::ReceiptBody{approval.transactionId, genuine.encode(), {}}.encode()});
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type, bt::MessageType::Acknowledgement);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].receiptId, genuine.receiptId);
}

// The server rotates its key (keytool `server rotate`) while the phone has no line and knows
// only the provisioned certificate. With the operator root, the phone checks the certificate the
// STB relays with the receipt, acknowledges the new key's receipt and seals its next approvals
// to the new key; a certificate that does not check changes nothing, and an earlier one never
// takes the place of a later one. Without the root, the presented certificate is not taken.
TEST_F(PhoneServerLine, WithTheRootThePhoneFollowsARotatedServerKeyTheStbPresents)
{
    const auto& keys = DevKeys::get().dir;
    const auto old = trust::loadCertificate(keys / "server/server.cert");
    auto s = settler(wire::Decision::Approve, std::make_shared<phone::OfflineServerLine>());
    s.trustRoot(trust::loadTrustAnchor(keys / "root/root.json"));
    auto withoutRoot = settler(wire::Decision::Approve, std::make_shared<phone::OfflineServerLine>());
    std::vector<wire::Receipt> kept;
    s.onReceipt([&kept](const wire::Receipt& r) { kept.push_back(r); });
    auto relayedApproval = [&](const std::string& orderId) {
        const auto reply = s.handle(order(orderId));
        EXPECT_TRUE(reply && reply->type == bt::MessageType::Approval);
        return reply ? bt::ApprovalBody::decode(reply->body) : bt::ApprovalBody{};
    };
    auto relayToServer = [&](const Bytes& sealed) {
        return server_->stbClient("stb-1").post("/v1/stb/approvals", json({{"sealedApproval", wire::toBase64Url(sealed)}}));
    };
    // Before the rotation: one purchase approved, its receipt signed by the old key.
    const auto before = relayedApproval("o-8");
    auto r = relayToServer(before.approval);
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto oldReceipt = wire::fromBase64Url(obj(r)->getValue<std::string>("receipt"));
    EXPECT_EQ(wire::fromBase64Url(obj(r)->getValue<std::string>("serverCertificate")), old.encode());
    const auto approval = relayedApproval("o-9");
    EXPECT_EQ(trust::peekSealedApproval(approval.approval).serverKeyId, old.keyId);

    const auto rotatedKeys = rotatedServerKeys(dir_ / "rotated-keys");
    const auto rotated = trust::loadCertificate(rotatedKeys / "server/server.cert");
    server_->restartWithServerKeys(rotatedKeys);
    // Sealed to the retired key: still opens. The answer names the key that signed its receipt.
    r = relayToServer(approval.approval);
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto receipt = wire::fromBase64Url(obj(r)->getValue<std::string>("receipt"));
    EXPECT_EQ(wire::Receipt::decode(receipt).signer.keyId, rotated.keyId);
    const auto presented = wire::fromBase64Url(obj(r)->getValue<std::string>("serverCertificate"));
    EXPECT_EQ(presented, rotated.encode());
    // The approval from before, relayed again: its receipt as the old key signed it, without the
    // new key's certificate.
    r = relayToServer(before.approval);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(wire::fromBase64Url(obj(r)->getValue<std::string>("receipt")), oldReceipt);
    EXPECT_FALSE(obj(r)->has("serverCertificate")) << r.raw;

    auto relay = [&](phone::Settler& to, const Bytes& certificate, const Bytes& which) {
        const auto answer = to.handle({bt::MessageType::Receipt, 11, 0, bt::ReceiptBody{"tx", which, certificate}.encode()});
        if (!answer) return std::string("no answer");
        if (answer->type == bt::MessageType::Acknowledgement) return std::string("acknowledged");
        return bt::ResultBody::decode(answer->body).error;
    };
    // No certificate (an STB from before the field), one the root did not sign (another
    // operator's root signed it, or it was altered after), one of the right key id but not a
    // server's, bytes that are none: refused, nothing kept, the provisioned one stays.
    EXPECT_EQ(relay(s, {}, receipt), "not found");
    const auto foreignRoot = trust::issueCertificate(rotated, trust::loadRootKey(DevKeys::get().foreign / "root"));
    EXPECT_EQ(relay(s, foreignRoot.encode(), receipt), "permission denied");
    auto altered = rotated;
    altered.notAfter += 86400;
    EXPECT_EQ(relay(s, altered.encode(), receipt), "permission denied");
    auto notAServer = rotated;
    notAServer.role = wire::CertificateRole::Phone;
    EXPECT_EQ(relay(s, trust::issueCertificate(notAServer, trust::loadRootKey(keys / "root")).encode(), receipt),
              "permission denied");
    EXPECT_EQ(relay(s, Bytes(40, 0x5a), receipt), "malformed");
    EXPECT_EQ(relay(withoutRoot, presented, receipt), "not found");   // it cannot check it: not taken
    EXPECT_TRUE(kept.empty());
    EXPECT_EQ(s.serverCertificate()->keyId, old.keyId);
    EXPECT_EQ(withoutRoot.serverCertificate()->keyId, old.keyId);

    // The server's certificate: acknowledged, and followed.
    EXPECT_EQ(relay(s, presented, receipt), "acknowledged");
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(s.serverCertificate()->keyId, rotated.keyId);
    // The old receipt with the old certificate (an STB going back): genuine, so acknowledged,
    // but the old key does not come back.
    EXPECT_EQ(relay(s, old.encode(), oldReceipt), "acknowledged");
    EXPECT_EQ(s.serverCertificate()->keyId, rotated.keyId);
    const auto next = relayedApproval("o-10");
    EXPECT_EQ(trust::peekSealedApproval(next.approval).serverKeyId, rotated.keyId);
    r = relayToServer(next.approval);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "approved");
}

TEST_F(PhoneServerLine, StbDescribingAnotherAmountIsRefusedAndNothingIsApproved)
{
    int asked = 0;
    auto s = settler(wire::Decision::Approve, line(), &asked);
    const auto reply = s.handle(order("o-3", 1));
    ASSERT_TRUE(reply);
    const auto result = bt::ResultBody::decode(reply->body);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "conflict");
    EXPECT_EQ(asked, 0);
    EXPECT_EQ(stbState("o-3"), "pending");
}

TEST_F(PhoneServerLine, WithoutALineTheSignedApprovalGoesBackForTheStbToRelay)
{
    auto s = settler(wire::Decision::Approve, std::make_shared<phone::OfflineServerLine>());
    const auto reply = s.handle(order("o-4"));
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, bt::MessageType::Approval);
    const auto approval = bt::ApprovalBody::decode(reply->body);
    EXPECT_TRUE(approval.relay);
    // Sealed to the server: the relaying STB sees the transaction number only.
    EXPECT_EQ(trust::peekSealedApproval(approval.approval).transactionNumber, approval.transactionId);
    auto stb = server_->stbClient("stb-1");
    // What a relay may not send: the approval in clear, an envelope that is not one, an altered one.
    const auto clear = stb.post("/v1/stb/approvals", json({{"approval", wire::toBase64Url(approval.approval)}}));
    EXPECT_EQ(clear.status, 400) << clear.raw;
    EXPECT_THAT(clear.raw, ::testing::HasSubstr("approval"));
    const auto junk = stb.post("/v1/stb/approvals", json({{"sealedApproval", wire::toBase64Url(Bytes(64, 7))}}));
    EXPECT_EQ(junk.status, 400) << junk.raw;
    auto altered = approval.approval;
    altered.back() ^= 1;
    EXPECT_EQ(stb.post("/v1/stb/approvals", json({{"sealedApproval", wire::toBase64Url(altered)}})).status, 401);
    EXPECT_EQ(stbState("o-4"), "pending");
    // The STB relays it as it came: the server opens it and accepts the phone's signature.
    auto r = stb.post("/v1/stb/approvals", json({{"sealedApproval", wire::toBase64Url(approval.approval)}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(obj(r)->getValue<std::string>("state"), "approved");
    // The receipt relayed back: the phone answers with a signed acknowledgement.
    const auto receipt = wire::fromBase64Url(obj(r)->getValue<std::string>("receipt"));
    const auto ack = s.handle({bt::MessageType::Receipt, 8, 0, bt::ReceiptBody{approval.transactionId, receipt, {}}.encode()});
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type, bt::MessageType::Acknowledgement);
    const auto k = wire::Acknowledgement::decode(bt::AcknowledgementBody::decode(ack->body).acknowledgement);
    EXPECT_EQ(k.orderId, "o-4");
    EXPECT_EQ(line()->acknowledge(k).state, "closed");
}

TEST_F(PhoneServerLine, WithoutALineOrAServerCertificateThePhoneCannotRelay)
{
    const auto creds = trust::loadPhone(phoneDir());
    int asked = 0;
    phone::Settler s(creds.certificate.subject, creds.key, std::make_shared<phone::OfflineServerLine>(),
                     [&asked](const phone::ServerOrder&) {
                         ++asked;
                         return wire::Decision::Approve;
                     });
    const auto reply = s.handle(order("o-5"));
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, bt::MessageType::Result);
    const auto result = bt::ResultBody::decode(reply->body);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "unavailable");
    EXPECT_THAT(result.text, ::testing::HasSubstr("server certificate"));
    EXPECT_EQ(asked, 0);   // nothing was shown that could not be sent
    EXPECT_EQ(stbState("o-5"), "pending");
}

TEST_F(PhoneServerLine, ServerRefusalsKeepTheirMeaning)
{
    auto l = line();
    EXPECT_EQ(codeOf([&] { l->transaction("no-such-transaction"); }), ErrorCode::NotFound);
    EXPECT_EQ(codeOf([&] { l->transaction("../operator/accounts"); }), ErrorCode::InvalidArgument);
    // Signed with a key the server does not know for this phone.
    auto stranger = server_->phoneOptions();
    stranger.phoneKey = crypto::P256PrivateKey::generate();
    phone::HttpsServerLine wrong(stranger);
    const auto code = codeOf([&] { wrong.purchases(); });
    EXPECT_TRUE(code == ErrorCode::BadSignature || code == ErrorCode::PermissionDenied) << toString(code);
    // No server at all.
    auto nowhere = server_->phoneOptions();
    nowhere.port = 1;
    EXPECT_EQ(codeOf([&] { phone::HttpsServerLine(nowhere).purchases(); }), ErrorCode::Unavailable);
}

TEST_F(PhoneServerLine, CommandLineRegistersAnStbAndListsPurchases)
{
    // stb-2 is not registered yet: it asks for a code (shown on the TV).
    auto stb = serverapi::Client(server_->stbOptions("stb-2"));
    auto r = stb.post("/v1/stb/registrations",
                      json({{"certificate", certificateField(DevKeys::get().dir / "devices/stb-2/device.cert")}}));
    ASSERT_EQ(r.status, 201) << r.raw;
    const auto code = obj(r)->getValue<std::string>("code");

    const auto cli = (std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR")) / "bin/boxoffice-phone").string();
    const std::string base = cli + " --server localhost:" + std::to_string(server_->port()) + " --ca " +
                             (DevKeys::get().dir / "server/tls-ca.crt").string() + " --credentials " + phoneDir().string();
    auto [status, out] = run(base + " register " + code);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("registered STB stb-2 to account acct-alice"), std::string::npos) << out;
    auto [again, repeated] = run(base + " register " + code);  // a retry by the same phone: same answer
    EXPECT_EQ(again, 0) << repeated;
    auto [unknown, refused] = run(base + " register ZZZZZZZZ");
    EXPECT_NE(unknown, 0) << refused;
    EXPECT_NE(refused.find("(not found)"), std::string::npos) << refused;

    auto s = settler(wire::Decision::Approve, line());
    ASSERT_TRUE(bt::ResultBody::decode(s.handle(order("o-5"))->body).ok);
    auto [listed, purchases] = run(base + " purchases");
    EXPECT_EQ(listed, 0) << purchases;
    EXPECT_NE(purchases.find("o-5 ev-1 12.00 EUR to studio from stb-1: closed receipt"), std::string::npos) << purchases;

    auto [bad, usage] = run(cli + " --server localhost:1 purchases");
    EXPECT_NE(bad, 0);
    EXPECT_NE(usage.find("--server needs --ca and --credentials"), std::string::npos) << usage;
}
