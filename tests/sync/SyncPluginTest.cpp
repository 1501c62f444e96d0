// The real billing + sync plugins in a PluginHost against a real boxoffice-server
// process: records made without a line wait in the outbox, go up once the server
// is there, are acknowledged and settled; a server killed mid-upload is retried
// with nothing charged twice; a server certificate from another CA is refused;
// the phone-carried batch over the REST API settles on the STB; nothing a server
// key the root revoked signs is acted on.

#include "SyncServer.h"

#include <boxoffice/billing/History.h>
#include <boxoffice/billing/HistoryBatch.h>
#include <boxoffice/host/PluginHost.h>
#include <boxoffice/serversync/HistorySync.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/sync/ServerLink.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/testing/ErrorCodeOf.h>
#include <boxoffice/testing/LogCapture.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/RevocationList.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Util/MapConfiguration.h>

#include <gtest/gtest.h>

#include <iostream>

namespace boxoffice::sync::test {
namespace {

using namespace std::chrono_literals;
using billing::Entry;
using boxoffice::testing::codeOf;
using wire::HistoryKind;

class SyncPluginTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto& keys = DevKeys::get().dir;
        port = freePort();
        config = new Poco::Util::MapConfiguration;
        config->setString("plugins.billing.deviceDirectory", (keys / "devices/stb-1").string());
        config->setString("plugins.billing.trustAnchor", (keys / "root/root.json").string());
        config->setString("plugins.billing.serverCertificate", (keys / "server/server.cert").string());
        config->setInt64("plugins.billing.creditLimit", 10'000);
        config->setString("plugins.sync.host", "localhost");
        config->setInt("plugins.sync.port", port);
        config->setString("plugins.sync.deviceDirectory", (keys / "devices/stb-1").string());
        config->setString("plugins.sync.trustAnchor", (keys / "root/root.json").string());
        config->setString("plugins.sync.serverCertificate", (keys / "server/server.cert").string());
        config->setInt64("plugins.sync.retryInitialMs", 50);
        config->setInt64("plugins.sync.retryMaxSeconds", 1);
        config->setInt64("plugins.sync.pollSeconds", 1);
    }
    void TearDown() override
    {
        host.reset();   // the plugins stop before the server goes
        server.reset();
    }

    void startStb()
    {
        host::PluginHost::Options options;
        options.config = config.get();
        options.dataRoot = dir.path() / "stb";
        options.dispatcher = &dispatcher;
        host = std::make_unique<host::PluginHost>(options);
        host->load(BILLING_PLUGIN);
        host->load(SYNC_PLUGIN);
        host->startAll();
        for (const auto& p : host->plugins()) ASSERT_EQ(p.state, host::PluginState::Activated) << p.name << ": " << p.reason;
        history = host->services().find<billing::History>();
        ASSERT_TRUE(history);
    }
    void startServer()
    {
        if (!server) server = std::make_unique<SyncServer>(dir.path() / "server", port);
        else server->start();
    }

    Poco::JSON::Object::Ptr rpc(const std::string& method)
    {
        rpc::Caller caller{"tv", {"read", "control"}, nullptr};
        const auto text =
            dispatcher.handle(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":{}})", caller);
        EXPECT_TRUE(text.has_value());
        auto reply = Poco::JSON::Parser().parse(text.value_or("{}")).extract<Poco::JSON::Object::Ptr>();
        EXPECT_TRUE(reply->has("result")) << text.value_or("");
        return reply->has("result") ? reply->getObject("result") : Poco::JSON::Object::Ptr(new Poco::JSON::Object);
    }
    std::uint64_t statusOf(const std::string& field, const std::string& method = "sync.1.status")
    {
        return rpc(method)->getValue<std::uint64_t>(field);
    }

    // A deferred purchase at the catalog price: ev-1 costs 1200, ev-10 costs 10.
    static Entry deferred(std::int64_t amount)
    {
        return {HistoryKind::Purchase, amount == 1200 ? "ev-1" : "ev-" + std::to_string(amount), "", "", amount, "EUR", 0, true};
    }

    // The server's own sync invariants, read from its database beside the running process.
    void expectServerConsistent()
    {
        EXPECT_EQ(server->invariantViolations(), 0u);
        storage::Database db("sqlite:" + (dir.path() / "server/server.db").string());
        auto bad = db.read([](storage::Transaction& tx) { return serversync::HistorySync::checkInvariants(tx); });
        EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
    }

    // The operator root's list revoking `keyIds`, where a SyncServer made with it serves it from.
    // Issued `issuedAgo` seconds ago, a newer one due `dueIn` seconds from now.
    void writeRootList(std::uint64_t sequence, std::vector<std::string> keyIds, std::int64_t issuedAgo = 0,
                       std::int64_t dueIn = 86400)
    {
        wire::RevocationList list;
        list.sequence = sequence;
        list.issuedAt = ::time(nullptr) - issuedAgo;
        list.nextUpdate = ::time(nullptr) + dueIn;
        list.revokedKeyIds = std::move(keyIds);
        trust::sign(list, trust::loadRootKey(DevKeys::get().dir / "root"));
        const auto encoded = list.encode();
        trust::writeKeyFile(dir.path() / "root-list.bin", std::string(encoded.begin(), encoded.end()), false, true);
    }

    testing::TempDir dir{"sync-plugin"};
    std::uint16_t port = 0;
    Poco::AutoPtr<Poco::Util::MapConfiguration> config;
    rpc::Dispatcher dispatcher{Poco::Logger::get("test.rpc")};
    std::unique_ptr<host::PluginHost> host;
    std::shared_ptr<billing::History> history;
    std::unique_ptr<SyncServer> server;
};

TEST_F(SyncPluginTest, OfflineRecordsAreQueuedThenUploadedAcknowledgedAndSettled)
{
    startStb();
    auto link = host->services().find<ServerLink>();
    ASSERT_TRUE(link);
    history->append(deferred(1200));
    history->append({HistoryKind::Play, "ev-1", "", "", 0, "EUR", 0, false});
    history->append(deferred(1200));
    EXPECT_EQ(history->credit().outstanding, 2400);

    // No server yet: the upload waits in the outbox, the line is down.
    auto status = rpc("sync.1.syncNow");
    EXPECT_FALSE(status->getValue<bool>("online"));
    EXPECT_GE(status->getValue<std::uint64_t>("queueLength"), 1u);
    EXPECT_EQ(status->getValue<std::uint64_t>("acknowledgedThrough"), 0u);
    EXPECT_EQ(status->getValue<std::uint64_t>("unacknowledged"), 3u);
    EXPECT_FALSE(status->getValue<std::string>("lastError").empty());
    EXPECT_FALSE(link->online());
    try {
        link->call("GET", "/v1/time");
        ADD_FAILURE() << "a call without a line must fail";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Unavailable);
    }

    // The server comes up (and knows the box): the queue drains on its own, with backoff.
    startServer();
    server->setUpWorld();
    // (The engine settles the answer, then notes the time of the sync: wait for both.)
    ASSERT_TRUE(testing::eventually(
        [&] { return history->status().settledThrough == 3 && rpc("sync.1.status")->getValue<std::int64_t>("lastSync") > 0; },
        60s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    status = rpc("sync.1.status");
    EXPECT_TRUE(status->getValue<bool>("online"));
    EXPECT_EQ(status->getValue<std::uint64_t>("acknowledgedThrough"), 3u);
    EXPECT_EQ(status->getValue<std::uint64_t>("queueLength"), 0u);
    EXPECT_GT(status->getValue<std::int64_t>("lastSync"), 0);
    EXPECT_EQ(history->credit().outstanding, 0);
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 2400);
    EXPECT_EQ(server->balance("studio"), 2400);
    // Trusted time and the server's revocation list came with it.
    EXPECT_TRUE(testing::eventually(
        [&] {
            const auto s = rpc("sync.1.syncNow");
            return s->getValue<std::int64_t>("trustedTime") > 0 && s->getValue<std::uint64_t>("revocationSequence") > 0;
        },
        30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "stb/sync/revocations.bin"));

    // The ServerLink is the line for other plugins now.
    EXPECT_TRUE(link->online());
    const auto time = link->call("GET", "/v1/time");
    EXPECT_EQ(time.status, 200);
    EXPECT_TRUE(time.error().empty());
    const auto missing = link->call("GET", "/v1/stb/orders/no-such-order");
    EXPECT_EQ(missing.status, 404);
    EXPECT_FALSE(missing.error().empty());
    expectServerConsistent();
}

// The server serves the operator root's list (sequence 50: a key and a device) beside its own
// ticket-only list (sequence 1, no refunds yet). The box keeps each in its own file under its own
// sequence: the root's high sequence does not hold back the server's list, the server's list does
// not replace the root's, and both survive a restart of the box.
TEST_F(SyncPluginTest, RootAndServerRevocationListsAreKeptApartAcrossRestarts)
{
    const auto& keys = DevKeys::get().dir;
    wire::RevocationList rootList;
    rootList.sequence = 50;
    rootList.issuedAt = ::time(nullptr);
    rootList.nextUpdate = rootList.issuedAt + 86400;
    rootList.revokedKeyIds = {"issuer-old"};
    rootList.revokedDeviceIds = {"stb-revoked"};
    trust::sign(rootList, trust::loadRootKey(keys / "root"));
    const auto encoded = rootList.encode();
    trust::writeKeyFile(dir.path() / "root-list.bin", std::string(encoded.begin(), encoded.end()), false, true);
    server = std::make_unique<SyncServer>(dir.path() / "server", port, dir.path() / "root-list.bin");
    server->setUpWorld();
    startStb();

    ASSERT_TRUE(testing::eventually(
        [&] {
            const auto s = rpc("sync.1.syncNow");
            return s->getValue<std::uint64_t>("rootRevocationSequence") == 50 && s->getValue<std::uint64_t>("revocationSequence") > 0;
        },
        30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_EQ(statusOf("revocationSequence"), 1u);
    const auto status = rpc("sync.1.status");
    EXPECT_EQ(status->getValue<std::int64_t>("rootRevocationNextUpdate"), rootList.nextUpdate);
    EXPECT_FALSE(status->getValue<bool>("rootRevocationsOverdue"));

    // What the ticket wallet applies: the root's file with the root anchor, the server's with its key.
    const auto applyKept = [&] {
        auto state = std::make_unique<trust::RevocationState>();
        state->apply(trust::loadRevocationList(dir.path() / "stb/sync/root-revocations.bin"),
                     trust::loadTrustAnchor(keys / "root/root.json"));
        state->apply(trust::loadRevocationList(dir.path() / "stb/sync/revocations.bin"),
                     trust::VerifyingKey::fromCertificate(trust::loadCertificate(keys / "server/server.cert")));
        return state;
    };
    auto state = applyKept();
    EXPECT_TRUE(state->isKeyRevoked("issuer-old"));
    EXPECT_TRUE(state->isDeviceRevoked("stb-revoked"));
    EXPECT_EQ(state->rootSequence(), 50u);
    EXPECT_EQ(state->serverSequence(), 1u);

    // A restart without the server: both lists and their sequences come back from the files.
    host.reset();
    server->kill();
    startStb();
    EXPECT_EQ(statusOf("rootRevocationSequence"), 50u);
    EXPECT_EQ(statusOf("revocationSequence"), 1u);
    state = applyKept();
    EXPECT_TRUE(state->isKeyRevoked("issuer-old"));
}

// The server serves a root list whose nextUpdate has passed (the operator did not publish a newer
// one in time). The box still applies it and keeps it (a stale list revokes less than a newer one
// would, never more), and reports it: overdue in the status, and one warning per list, also when
// a restart without a line brings the kept list back.
TEST_F(SyncPluginTest, AnOverdueRootListIsStillAppliedButReported)
{
    const testing::ScopedLogCapture capture("boxoffice.sync");
    // The box's engine logs through the captured logger: stopped before the capture goes,
    // also when an assertion ends the test early.
    struct StopBoxFirst {
        std::unique_ptr<host::PluginHost>& host;
        ~StopBoxFirst() { host.reset(); }
    } stopBoxFirst{host};
    const auto warnings = [&] { return capture->occurrences("was due to be replaced"); };

    writeRootList(70, {"issuer-old"}, 2 * 86400, -3600);
    server = std::make_unique<SyncServer>(dir.path() / "server", port, dir.path() / "root-list.bin");
    server->setUpWorld();
    startStb();
    ASSERT_TRUE(testing::eventually([&] { return rpc("sync.1.syncNow")->getValue<std::uint64_t>("rootRevocationSequence") == 70; },
                                    30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    for (int cycle = 0; cycle < 3; ++cycle) rpc("sync.1.syncNow");
    auto status = rpc("sync.1.status");
    EXPECT_TRUE(status->getValue<bool>("rootRevocationsOverdue"));
    const auto due = status->getValue<std::int64_t>("rootRevocationNextUpdate");
    EXPECT_LE(due, ::time(nullptr) - 3600);
    EXPECT_GT(due, ::time(nullptr) - 3700);
    EXPECT_EQ(status->getValue<std::string>("lastError"), "") << "an overdue list is not an error";
    ASSERT_TRUE(testing::eventually([&] { return warnings() == 1; }, 10s)) << capture->text();
    EXPECT_NE(capture->text().find("(sequence 70)"), std::string::npos) << capture->text();

    // Applied and kept as any other: the wallet's view of the kept file revokes what it names.
    trust::RevocationState state;
    state.apply(trust::loadRevocationList(dir.path() / "stb/sync/root-revocations.bin"),
                trust::loadTrustAnchor(DevKeys::get().dir / "root/root.json"));
    EXPECT_EQ(state.rootSequence(), 70u);
    EXPECT_TRUE(state.isKeyRevoked("issuer-old"));
    EXPECT_EQ(state.rootList(due).nextUpdate, due);

    // No line for a while: after a restart the kept list is still overdue, and said again once.
    host.reset();
    server->kill();
    startStb();
    EXPECT_TRUE(rpc("sync.1.status")->getValue<bool>("rootRevocationsOverdue"));
    ASSERT_TRUE(testing::eventually([&] { return warnings() == 2; }, 10s)) << capture->text();
    for (int cycle = 0; cycle < 2; ++cycle) rpc("sync.1.syncNow");
    EXPECT_EQ(warnings(), 2) << capture->text();
}

// A root list in the answer that does not verify under the box's root (here another operator's)
// refuses the whole answer with a clear error: neither list is kept. Until an answer's root list
// checks, the box does not upload either (it would act on the answer to an upload before knowing
// which server keys the root revoked): its deferred purchase waits, and the queue backs off.
TEST_F(SyncPluginTest, ARootListThatDoesNotVerifyIsRefusedAndUploadsWaitForOneThatDoes)
{
    const auto& foreign = DevKeys::get().foreign;
    server = std::make_unique<SyncServer>(dir.path() / "server", port, foreign / "revocations.bin",
                                          foreign / "root/root.json");
    server->setUpWorld();
    startStb();
    history->append(deferred(1200));
    ASSERT_TRUE(testing::eventually(
        [&] { return rpc("sync.1.syncNow")->getValue<std::string>("lastError").find("rootRevocations") != std::string::npos; },
        30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    for (int cycle = 0; cycle < 3; ++cycle) rpc("sync.1.syncNow");
    auto status = rpc("sync.1.status");
    EXPECT_EQ(status->getValue<std::uint64_t>("rootRevocationSequence"), 0u);
    EXPECT_EQ(status->getValue<std::uint64_t>("revocationSequence"), 0u) << "the server's list in that answer is not kept either";
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "stb/sync/root-revocations.bin"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "stb/sync/revocations.bin"));
    // Nothing uploaded: the server holds no record and charged nothing; the box still owes it.
    EXPECT_EQ(status->getValue<std::uint64_t>("queueLength"), 1u);
    EXPECT_EQ(status->getValue<std::uint64_t>("acknowledgedThrough"), 0u);
    EXPECT_EQ(server->balance("acct-alice"), 5000);
    EXPECT_EQ(history->credit().outstanding, 1200);

    // The same server with the operator's own list: the upload goes, and settles.
    server.reset();
    server = std::make_unique<SyncServer>(dir.path() / "server", port);
    ASSERT_TRUE(testing::eventually([&] { return rpc("sync.1.syncNow")->getValue<std::uint64_t>("settledThrough") == 1; }, 30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_GT(statusOf("rootRevocationSequence"), 0u);
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 1200);
    EXPECT_EQ(history->credit().outstanding, 0);
    expectServerConsistent();
}

// The operator root revokes the server's own key (say it leaked). The root's list reaches the box
// even though the revoked server serves it, and from then on nothing that key signs is acted on
// (its revocation list, its settlement results over the line or carried by the phone) and no
// history is sealed to it, also after a restart of the box; the deferred purchase stays owed.
// The box made that purchase without a line: the first exchange carries its upload too, and the
// root's list is applied before the answer to the upload. Later root lists still arrive.
TEST_F(SyncPluginTest, SettlementResultsOfARevokedServerKeyAreRefused)
{
    const auto& keys = DevKeys::get().dir;
    const auto serverCertificate = trust::loadCertificate(keys / "server/server.cert");
    const auto serveRootList = [&](std::uint64_t sequence) { writeRootList(sequence, {serverCertificate.keyId}); };
    serveRootList(60);
    startStb();
    history->append(deferred(1200));
    server = std::make_unique<SyncServer>(dir.path() / "server", port, dir.path() / "root-list.bin");
    server->setUpWorld();

    // Over the line: the server takes and charges the record; the box refuses the answer's
    // certificate (sync's own check), so the result in it settles nothing.
    ASSERT_TRUE(testing::eventually(
        [&] {
            const auto s = rpc("sync.1.syncNow");
            return s->getValue<std::uint64_t>("rootRevocationSequence") == 60 &&
                   s->getValue<std::uint64_t>("acknowledgedThrough") == 1;
        },
        30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    auto status = rpc("sync.1.status");
    EXPECT_EQ(status->getValue<std::uint64_t>("revocationSequence"), 0u) << "the revoked key's own list is not kept";
    EXPECT_NE(status->getValue<std::string>("lastError").find("revoked"), std::string::npos)
        << status->getValue<std::string>("lastError");
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 1200);
    EXPECT_EQ(history->status().settledThrough, 0u);
    EXPECT_EQ(history->credit().outstanding, 1200);

    // Carried by the phone: the box does not seal its history to the revoked key; and the result
    // that key signs for a batch sealed to it anyway (here by the test) settles nothing.
    EXPECT_EQ(codeOf([&] { history->exportUnsettled(15 * 1024); }), ErrorCode::Revoked);
    std::vector<Bytes> records;
    for (const auto& record : history->records(0, 10)) records.push_back(record.encoded);
    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    body->set("batch", wire::toBase64Url(billing::sealBatch(records, trust::loadDeviceIdentity(keys / "devices/stb-1"),
                                                           serverCertificate, ::time(nullptr))));
    const auto r = server->phoneClient().post("/v1/phone/history-batches", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto answer = r.body.extract<Poco::JSON::Object::Ptr>();
    const auto result = wire::fromBase64Url(answer->getValue<std::string>("result"));
    const auto certificate = wire::fromBase64Url(answer->getValue<std::string>("serverCertificate"));
    const auto refusal = [&] { return codeOf([&] { history->applySettlement(result, certificate); }); };
    EXPECT_EQ(refusal(), ErrorCode::Revoked);
    EXPECT_EQ(history->status().settledThrough, 0u);
    EXPECT_EQ(history->credit().outstanding, 1200);

    // The root's next list reaches the box although the server's key stays revoked.
    serveRootList(61);
    server->kill();
    server->start();
    ASSERT_TRUE(testing::eventually([&] { return rpc("sync.1.syncNow")->getValue<std::uint64_t>("rootRevocationSequence") == 61; },
                                    30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");

    // The box restarts without a line: the kept root list still refuses the key.
    history.reset();
    host.reset();
    server->kill();
    startStb();
    EXPECT_EQ(statusOf("rootRevocationSequence"), 61u);
    EXPECT_EQ(refusal(), ErrorCode::Revoked);
    EXPECT_EQ(codeOf([&] { history->exportUnsettled(15 * 1024); }), ErrorCode::Revoked);
    EXPECT_EQ(history->credit().outstanding, 1200);
}

// The operator rotates the server's key (keytool `server rotate`: server/2) and the root
// revokes the old one. The box, configured with the old certificate, follows the one the server
// presents: the server's list (re-signed under the same sequence) verifies with it and replaces
// the old key's copy, the history the phone carries is
// sealed to it (the server can open it) and the result it signs settles, also after a restart
// without a line.
TEST_F(SyncPluginTest, AServerKeyRotationIsFollowedAndKeptAcrossRestarts)
{
    const auto& keys = DevKeys::get().dir;
    const auto rotatedKeys = server::test::rotatedServerKeys(dir.path() / "rotated-keys");
    const auto old = trust::loadCertificate(keys / "server/server.cert");
    const auto rotated = trust::loadCertificate(rotatedKeys / "server/server.cert");
    ASSERT_NE(rotated.keyId, old.keyId);
    writeRootList(60, {old.keyId});
    const auto keptListSigner = [&] { return trust::loadRevocationList(dir.path() / "stb/sync/revocations.bin").signer.keyId; };

    // Before: the box keeps the server's list signed by the old key.
    startServer();
    server->setUpWorld();
    startStb();
    ASSERT_TRUE(testing::eventually([&] { return statusOf("revocationSequence", "sync.1.syncNow") > 0; }, 30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_EQ(keptListSigner(), old.keyId);

    // The same server (its database) with the new key; the root revokes the old one.
    server.reset();
    server = std::make_unique<SyncServer>(dir.path() / "server", port, dir.path() / "root-list.bin", std::filesystem::path{},
                                          rotatedKeys);
    ASSERT_TRUE(testing::eventually(
        [&] {
            const auto s = rpc("sync.1.syncNow");
            return s->getValue<std::uint64_t>("rootRevocationSequence") == 60 && keptListSigner() == rotated.keyId;
        },
        30s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_EQ(trust::loadCertificate(dir.path() / "stb/sync/server-certificate.bin").keyId, rotated.keyId);
    // The list the new key re-signed, under the sequence the box holds, replaced the old key's copy.
    EXPECT_EQ(trust::loadRevocationList(dir.path() / "stb/sync/revocations.bin").sequence, statusOf("revocationSequence"));

    // Without a line now (the phone carries the history): the kept certificate is still the one.
    history.reset();
    host.reset();
    config->setInt("plugins.sync.port", 0);
    startStb();
    history->append(deferred(1200));
    const auto batch = history->exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);
    EXPECT_EQ(billing::peekBatch(batch->sealed).serverKeyId, rotated.keyId);
    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    body->set("batch", wire::toBase64Url(batch->sealed));
    const auto r = server->phoneClient().post("/v1/phone/history-batches", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto answer = r.body.extract<Poco::JSON::Object::Ptr>();
    // Without its certificate, as the phone brings results back over Bluetooth.
    const auto settlement = history->applySettlement(wire::fromBase64Url(answer->getValue<std::string>("result")));
    EXPECT_EQ(settlement.settledThrough, 1u);
    EXPECT_EQ(history->credit().outstanding, 0);
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 1200);

    // A batch another box sealed to the old key before it learnt the new certificate (here the
    // test seals it) still opens: the rotated server keeps the old agreement key retired.
    history->append(deferred(10));
    std::vector<Bytes> records;
    for (const auto& record : history->records(1, 10)) records.push_back(record.encoded);
    body->set("batch", wire::toBase64Url(billing::sealBatch(records, trust::loadDeviceIdentity(keys / "devices/stb-1"), old,
                                                           ::time(nullptr))));
    const auto toOld = server->phoneClient().post("/v1/phone/history-batches", body);
    ASSERT_EQ(toOld.status, 200) << toOld.raw;
    const auto oldAnswer = toOld.body.extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(history->applySettlement(wire::fromBase64Url(oldAnswer->getValue<std::string>("result"))).settledThrough, 2u);
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 1200 - 10);
}

TEST_F(SyncPluginTest, QueueSurvivesARestartOfTheBox)
{
    startStb();
    history->append(deferred(1200));
    EXPECT_GE(rpc("sync.1.syncNow")->getValue<std::uint64_t>("queueLength"), 1u);
    // The box is switched off while offline, and on again later.
    history.reset();
    host.reset();
    startStb();
    const auto status = rpc("sync.1.status");
    EXPECT_EQ(status->getValue<std::uint64_t>("queueLength"), 1u);   // the kept upload, not planned twice
    EXPECT_EQ(status->getValue<std::uint64_t>("unacknowledged"), 1u);
    history->append(deferred(1200));
    startServer();
    server->setUpWorld();
    ASSERT_TRUE(testing::eventually([&] { return history->status().settledThrough == 2; }, 60s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_EQ(rpc("sync.1.status")->getValue<std::uint64_t>("queueLength"), 0u);
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 2400);
    expectServerConsistent();
}

TEST_F(SyncPluginTest, HostileUploadsAreRefusedWithAClearMessage)
{
    startServer();
    server->setUpWorld();
    auto stb = server->stbClient("stb-1");
    auto refused = [&](const std::string& body, int status, const std::string& words) {
        const auto r = stb.call("POST", "/v1/stb/history", body);
        EXPECT_EQ(r.status, status) << body << " -> " << r.raw;
        EXPECT_NE(r.raw.find(words), std::string::npos) << body << " -> " << r.raw;
    };
    refused("{", 400, "");
    refused(R"({"records": "x"})", 400, "records");
    refused(R"({"records": [1]})", 400, "records[0]");
    refused(R"({"records": ["!!"]})", 400, "records[0]");
    refused(R"({"records": ["AAAA"]})", 400, "");
    refused(R"({"records": [], "extra": 1})", 400, "extra");
    refused(R"({"records": []})", 400, "no history records");
    std::string many = R"({"records": [)";
    for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + "\"AAAA\"";
    refused(many + "]}", 400, "at most 100");
    auto phone = server->phoneClient();
    const auto r = phone.call("POST", "/v1/phone/history-batches", R"({"batch": "AAAA"})");
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(stb.get("/v1/stb/history").body.extract<Poco::JSON::Object::Ptr>()->getValue<std::uint64_t>(
                  "acknowledgedThrough"),
              0u);
    EXPECT_EQ(server->balance("acct-alice"), 5000);
    expectServerConsistent();
}

TEST_F(SyncPluginTest, ServerKilledMidUploadIsRetriedAndNothingChargedTwice)
{
    startServer();
    server->setUpWorld();
    config->setInt("plugins.sync.batchRecords", 20);
    startStb();
    std::vector<Entry> entries(300, deferred(10));
    history->appendAll(entries);

    // Kill the server as soon as the first chunk is acknowledged.
    ASSERT_TRUE(testing::eventually([&] { return history->status().acknowledgedThrough > 0; }, 60s));
    server->kill();
    const auto before = history->status().acknowledgedThrough;
    std::cout << "records acknowledged when the server was killed: " << before << " of 300\n";
    EXPECT_LE(before, 300u);
    if (before < 300) {
        const auto down = rpc("sync.1.syncNow");
        EXPECT_FALSE(down->getValue<bool>("online"));
        EXPECT_GE(down->getValue<std::uint64_t>("queueLength"), 1u);
    }

    startServer();
    ASSERT_TRUE(testing::eventually([&] { return history->status().settledThrough == 300; }, 90s))
        << rpc("sync.1.status")->getValue<std::string>("lastError");
    EXPECT_EQ(history->credit().outstanding, 0);
    // Every record charged exactly once, whatever was retried.
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 3000);
    EXPECT_EQ(server->balance("studio"), 3000);
    auto held = server->stbClient("stb-1").get("/v1/stb/history");
    EXPECT_EQ(held.body.extract<Poco::JSON::Object::Ptr>()->getValue<std::uint64_t>("acknowledgedThrough"), 300u);
    expectServerConsistent();
}

TEST_F(SyncPluginTest, ServerCertificateFromAnotherCaIsRefused)
{
    startServer();
    server->setUpWorld();
    config->setString("plugins.sync.serverCa", (DevKeys::get().foreign / "server/tls-ca.crt").string());
    startStb();
    history->append(deferred(1200));
    const auto status = rpc("sync.1.syncNow");
    EXPECT_FALSE(status->getValue<bool>("online"));
    EXPECT_EQ(status->getValue<std::uint64_t>("acknowledgedThrough"), 0u);
    EXPECT_NE(status->getValue<std::string>("lastError").find("certificate"), std::string::npos)
        << status->getValue<std::string>("lastError");
    // The server never saw the records.
    auto held = server->stbClient("stb-1").get("/v1/stb/history");
    EXPECT_EQ(held.body.extract<Poco::JSON::Object::Ptr>()->getValue<std::uint64_t>("acknowledgedThrough"), 0u);
    EXPECT_EQ(server->balance("acct-alice"), 5000);
}

TEST_F(SyncPluginTest, PhoneCarriedBatchSettlesOverTheRestApi)
{
    startServer();
    server->setUpWorld();
    config->setInt("plugins.sync.port", 0);   // this box has no line at all
    startStb();
    EXPECT_FALSE(rpc("sync.1.status")->getValue<bool>("configured"));
    history->append(deferred(1200));
    const auto batch = history->exportUnsettled(15 * 1024);
    ASSERT_TRUE(batch);

    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    body->set("batch", wire::toBase64Url(batch->sealed));
    auto phone = server->phoneClient();
    const auto r = phone.post("/v1/phone/history-batches", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    const auto answer = r.body.extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(answer->getValue<std::uint64_t>("settledThrough"), 1u);
    const auto settled = history->applySettlement(wire::fromBase64Url(answer->getValue<std::string>("result")),
                                                  wire::fromBase64Url(answer->getValue<std::string>("serverCertificate")));
    EXPECT_EQ(settled.settledThrough, 1u);
    EXPECT_EQ(history->credit().outstanding, 0);

    // Replayed: the same answer, charged once.
    const auto again = phone.post("/v1/phone/history-batches", body);
    ASSERT_EQ(again.status, 200) << again.raw;
    EXPECT_EQ(again.body.extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("result"),
              answer->getValue<std::string>("result"));
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 1200);

    // Altered on the way: refused with a clear error, nothing changed.
    Bytes altered = batch->sealed;
    altered[altered.size() / 2] ^= 0x20;
    body->set("batch", wire::toBase64Url(altered));
    const auto bad = phone.post("/v1/phone/history-batches", body);
    EXPECT_GE(bad.status, 400);
    EXPECT_LT(bad.status, 500);
    EXPECT_FALSE(bad.error().empty()) << bad.raw;
    // Not a phone: an STB cannot use the phone route.
    const auto stb = server->stbClient("stb-1").post("/v1/phone/history-batches", body);
    EXPECT_EQ(stb.status, 403) << stb.raw;
    EXPECT_EQ(server->balance("acct-alice"), 5000 - 1200);
    expectServerConsistent();
}

} // namespace
} // namespace boxoffice::sync::test
