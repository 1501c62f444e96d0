// boxoffice-keytool as a real process (and its operations with a fixed clock where time
// matters): the files it writes are loaded and used with core/trust exactly as the server
// and the STB will.
#include "KeyTool.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/crypto/X509.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/TicketIssuer.h>
#include <boxoffice/trust/TicketVerifier.h>
#include <boxoffice/wire/Approval.h>

#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>

#include <ctime>
#include <sys/stat.h>

using namespace boxoffice;
namespace fs = std::filesystem;

namespace {

struct Result {
    int status;
    std::string output;   // stdout and stderr
};

Result runKeytool(const std::vector<std::string>& args)
{
    Poco::Pipe out;
    Poco::ProcessHandle handle = Poco::Process::launch(BOXOFFICE_KEYTOOL, args, nullptr, &out, &out);
    Poco::PipeInputStream stream(out);
    std::string text;
    Poco::StreamCopier::copyToString(stream, text);
    return {handle.wait(), text};
}

class KeytoolTest : public ::testing::Test {
protected:
    fs::path dir;
    void SetUp() override
    {
        dir = fs::temp_directory_path()
              / ("boxoffice-keytool-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())
                 + "-" + std::to_string(::getpid()));
        fs::remove_all(dir);
    }
    void TearDown() override { fs::remove_all(dir); }

    void run(const std::vector<std::string>& args)
    {
        const Result r = runKeytool(args);
        ASSERT_EQ(r.status, 0) << r.output;
    }
};

wire::UnixTime now() { return static_cast<wire::UnixTime>(std::time(nullptr)); }

wire::Ticket draft(const std::string& id, const std::string& device)
{
    wire::Ticket t;
    t.ticketId = id;
    t.eventId = "ev-demo";
    t.serviceProviderId = "sp";
    t.holderDeviceId = device;
    t.issuedAt = now();
    t.notBefore = now() - 60;
    t.notAfter = now() + 86400;
    t.eventKeyId = "ev-demo/1";
    return t;
}

} // namespace

TEST_F(KeytoolTest, DevWritesACompleteUsableKeySet)
{
    run({"dev", "--out", dir.string()});

    // Every secret file is private.
    int secrets = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || !(name.ends_with(".pem") || name.ends_with(".key"))) continue;
        struct stat st {};
        ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u) << entry.path();
        ++secrets;
    }
    EXPECT_GE(secrets, 12);

    // Server side: issue a ticket for stb-1 with the current issuer key.
    const trust::TrustAnchor root = trust::loadTrustAnchor(dir / "root" / "root.json");
    const trust::Credentials issuer = trust::loadCurrentIssuer(dir, "issuer-dev");
    const trust::DeviceIdentity stb = trust::loadDeviceIdentity(dir / "devices" / "stb-1");
    EXPECT_NO_THROW(trust::verifyCertificate(stb.certificate, root, wire::CertificateRole::Device, now()));
    const auto holderKey = crypto::X25519PublicKey::fromRaw(stb.certificate.agreementKey);
    const Bytes eventKey = fromHex(trust::readKeyFile(dir / "events" / "ev-demo_1.key").substr(0, 32));
    const Bytes ticket = trust::issueTicket(draft("t-1", "stb-1"), eventKey, holderKey, issuer).encode();

    // STB side: accept it with the device identity.
    trust::TrustedClock clock(dir / "clock");
    trust::RevocationState revocations;
    revocations.apply(trust::loadRevocationList(dir / "revocations.bin"), root);
    trust::InMemorySeenTickets seen;
    trust::TicketVerifier verifier(root, stb.deviceId, stb.agreementKey, clock, revocations, seen);
    EXPECT_TRUE(crypto::constantTimeEqual(verifier.accept(ticket).eventKey, eventKey));

    // stb-2 cannot use it.
    const trust::DeviceIdentity stb2 = trust::loadDeviceIdentity(dir / "devices" / "stb-2");
    trust::InMemorySeenTickets seen2;
    trust::TicketVerifier other(root, stb2.deviceId, stb2.agreementKey, clock, revocations, seen2);
    EXPECT_THROW(other.accept(ticket), Error);

    // Server signing key and phone key chain to the root.
    const trust::Credentials server = trust::loadServerSigner(dir / "server");
    EXPECT_NO_THROW(trust::verifyCertificate(server.certificate, root, wire::CertificateRole::Server, now()));
    // The server certificate carries an X25519 agreement key whose private half is a
    // private file beside the signing key (STB history batches are sealed to it).
    ASSERT_EQ(server.certificate.agreementKey.size(), 32u);
    const auto serverAgree = crypto::X25519PrivateKey::fromPem(trust::readKeyFile(dir / "server" / "agree.key.pem"));
    EXPECT_EQ(Bytes(serverAgree.publicKey().raw().begin(), serverAgree.publicKey().raw().end()),
              server.certificate.agreementKey);
    {
        struct stat st {};
        ASSERT_EQ(::stat((dir / "server" / "agree.key.pem").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
    }
    const trust::Credentials phone = trust::loadPhone(dir / "phones" / "phone-1");
    const trust::VerifyingKey phoneKey =
        trust::verifyCertificate(phone.certificate, root, wire::CertificateRole::Phone, now());
    wire::Approval approval;
    approval.transactionNumber = "TX1";
    approval.orderId = "o-1";
    approval.accountId = "acc";
    approval.phoneId = "phone-1";
    approval.payee = "Operator";
    approval.amount = 100;
    approval.decidedAt = now();
    trust::sign(approval, phone.key);
    EXPECT_NO_THROW(trust::verifySignature(approval, phoneKey));

    // TLS: server and client certificates chain to the TLS CA.
    const std::string ca = trust::readKeyFile(dir / "server" / "tls-ca.crt");
    EXPECT_TRUE(crypto::verifyX509(trust::readKeyFile(dir / "server" / "tls.crt"), ca, now()));
    EXPECT_TRUE(crypto::verifyX509(trust::readKeyFile(dir / "devices" / "stb-1" / "tls.crt"), ca, now()));
    EXPECT_EQ(crypto::inspectX509(trust::readKeyFile(dir / "devices" / "stb-1" / "tls.crt")).subjectCommonName, "stb-1");
}

TEST_F(KeytoolTest, RefusesToOverwriteWithoutForce)
{
    run({"dev", "--out", dir.string()});
    const std::string rootBefore = trust::readKeyFile(dir / "root" / "root.json");
    const Result again = runKeytool({"dev", "--out", dir.string()});
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
    EXPECT_EQ(trust::readKeyFile(dir / "root" / "root.json"), rootBefore);

    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"root", "create", "--dir", dir.string()},
             {"issuer", "create", "--dir", dir.string(), "--id", "issuer-dev"},
             {"device", "issue", "--dir", dir.string(), "--id", "stb-1"},
             {"phone", "issue", "--dir", dir.string(), "--id", "phone-1"},
             {"event-key", "--dir", dir.string(), "--id", "ev-demo/1"}}) {
        const Result r = runKeytool(args);
        EXPECT_EQ(r.status, 1) << args[0] << ": " << r.output;
        EXPECT_NE(r.output.find("exists"), std::string::npos) << r.output;
    }
    EXPECT_EQ(trust::readKeyFile(dir / "root" / "root.json"), rootBefore);

    run({"dev", "--out", dir.string(), "--force"});
    EXPECT_NE(trust::readKeyFile(dir / "root" / "root.json"), rootBefore);
}

TEST_F(KeytoolTest, HelpOnEveryCommandAndClearErrors)
{
    for (const std::string command :
         {"root create", "issuer create", "issuer rotate", "device issue", "phone issue", "server issue", "tls ca",
          "tls server-cert", "tls client-cert", "revoke", "event-key", "dev", "show"}) {
        std::vector<std::string> args;
        std::string word;
        for (char c : command + " ") {
            if (c == ' ') {
                args.push_back(word);
                word.clear();
            } else {
                word += c;
            }
        }
        args.push_back("--help");
        const Result r = runKeytool(args);
        EXPECT_EQ(r.status, 0) << command;
        EXPECT_NE(r.output.find("Usage: boxoffice-keytool " + command), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("--help"), std::string::npos);
    }
    EXPECT_EQ(runKeytool({"--help"}).status, 0);

    Result r = runKeytool({"frobnicate"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown command 'frobnicate'"), std::string::npos);
    r = runKeytool({"device", "issue", "--dir", dir.string()});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("missing --id"), std::string::npos) << r.output;
    r = runKeytool({"device", "issue", "--dir", dir.string(), "--id", "x", "--count", "many"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("--count: 'many' is not a number"), std::string::npos) << r.output;
    r = runKeytool({"device", "issue", "--dir", dir.string(), "--id", "x", "--colour", "red"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown option --colour"), std::string::npos);
    r = runKeytool({"device", "issue", "--dir", dir.string(), "--id", "x"});   // no root yet
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("root"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir / "devices" / "x" / "device.cert"));
}

TEST_F(KeytoolTest, IssuerRotationKeepsOldTicketsValid)
{
    run({"root", "create", "--dir", dir.string()});
    run({"issuer", "create", "--dir", dir.string(), "--id", "acme"});
    run({"device", "issue", "--dir", dir.string(), "--id", "box", "--count", "3"});
    const trust::Credentials first = trust::loadCurrentIssuer(dir, "acme");
    EXPECT_EQ(first.certificate.keyId, "acme/1");
    run({"issuer", "rotate", "--dir", dir.string(), "--id", "acme"});
    const trust::Credentials second = trust::loadCurrentIssuer(dir, "acme");
    EXPECT_EQ(second.certificate.keyId, "acme/2");

    const trust::TrustAnchor root = trust::loadTrustAnchor(dir / "root" / "root.json");
    const trust::DeviceIdentity box = trust::loadDeviceIdentity(dir / "devices" / "box-0002");
    EXPECT_NO_THROW(trust::loadDeviceIdentity(dir / "devices" / "box-0003"));
    const auto holder = crypto::X25519PublicKey::fromRaw(box.certificate.agreementKey);
    const Bytes key = crypto::randomBytes(16);
    const Bytes oldTicket = trust::issueTicket(draft("t-old", "box-0002"), key, holder, first).encode();
    const Bytes newTicket = trust::issueTicket(draft("t-new", "box-0002"), key, holder, second).encode();

    trust::TrustedClock clock(dir / "clock");
    trust::RevocationState revocations;
    trust::InMemorySeenTickets seen;
    trust::TicketVerifier verifier(root, box.deviceId, box.agreementKey, clock, revocations, seen);
    EXPECT_NO_THROW(verifier.verify(oldTicket));
    EXPECT_NO_THROW(verifier.verify(newTicket));

    // Revoking the old key stops its tickets, not the new ones.
    run({"revoke", "--dir", dir.string(), "--key", "acme/1"});
    run({"revoke", "--dir", dir.string(), "--ticket", "t-unused"});
    const wire::RevocationList list = trust::loadRevocationList(dir / "revocations.bin");
    EXPECT_EQ(list.sequence, 2u);
    EXPECT_EQ(list.revokedKeyIds, std::vector<std::string>{"acme/1"});
    revocations.apply(list, root);
    try {
        verifier.verify(oldTicket);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Revoked);
    }
    EXPECT_NO_THROW(verifier.verify(newTicket));
}

// The operations with the clock held still: rotations in the same second still give each new
// server certificate a later start than the one it replaces; one a day later starts a day later.
TEST_F(KeytoolTest, ServerRotationsWithinOneSecondStillStartInOrder)
{
    const wire::UnixTime now = 1'800'000'000;
    boxoffice::keytool::KeyTool(dir, false, now).createDevelopmentSet();
    const auto certificate = [&] { return trust::loadCertificate(dir / "server/server.cert"); };
    const auto first = certificate();
    boxoffice::keytool::KeyTool(dir, false, now).rotateServer(730);
    const auto second = certificate();
    boxoffice::keytool::KeyTool(dir, false, now).rotateServer(730);
    const auto third = certificate();
    EXPECT_EQ(third.keyId, "server/3");
    EXPECT_LT(first.notBefore, second.notBefore);
    EXPECT_LT(second.notBefore, third.notBefore);
    EXPECT_LE(third.notBefore, now);
    boxoffice::keytool::KeyTool(dir, false, now + 86400).rotateServer(730);
    EXPECT_EQ(certificate().notBefore, first.notBefore + 86400);
}

// `server rotate`: a new key <server>/<n+1> in use; the old agreement key and certificate kept
// under server/retired/ (what boxes sealed to it still opens), its signing key gone.
TEST_F(KeytoolTest, ServerRotationKeepsTheOldAgreementKeyRetired)
{
    EXPECT_NE(runKeytool({"server", "rotate", "--dir", dir.string()}).status, 0) << "nothing to rotate yet";
    run({"dev", "--out", dir.string()});
    const auto first = trust::loadServerSigner(dir / "server");
    EXPECT_EQ(first.certificate.keyId, "server/1");
    run({"server", "rotate", "--dir", dir.string()});
    run({"server", "rotate", "--dir", dir.string()});
    const auto third = trust::loadServerSigner(dir / "server");
    EXPECT_EQ(third.certificate.keyId, "server/3");
    EXPECT_EQ(third.certificate.subject, "server");
    EXPECT_NE(third.certificate.agreementKey, first.certificate.agreementKey);
    EXPECT_NO_THROW(trust::verifyCertificate(third.certificate, trust::loadTrustAnchor(dir / "root" / "root.json"),
                                             wire::CertificateRole::Server, std::time(nullptr)));

    const auto keys = trust::ServerAgreementKeys::load(dir / "server", third.certificate);
    EXPECT_EQ(keys.size(), 3u);
    const auto agreementOf = [&](const std::string& keyId) {
        const auto& raw = keys.forKeyId(keyId).publicKey().raw();
        return Bytes(raw.begin(), raw.end());
    };
    EXPECT_EQ(agreementOf("server/1"), first.certificate.agreementKey);
    EXPECT_EQ(agreementOf("server/3"), third.certificate.agreementKey);
    EXPECT_EQ(trust::loadCertificate(dir / "server/retired/server_1/server.cert").keyId, "server/1");
    // Rotated within a second or two of each other, each certificate still starts strictly
    // later than the one it replaced (what a phone follows a rotation by).
    const auto second = trust::loadCertificate(dir / "server/retired/server_2/server.cert");
    EXPECT_LT(first.certificate.notBefore, second.notBefore);
    EXPECT_LT(second.notBefore, third.certificate.notBefore);
    EXPECT_LE(third.certificate.notBefore, std::time(nullptr));
    EXPECT_FALSE(fs::exists(dir / "server/retired/server_1/sign.key.pem"));
    struct stat st {};
    ASSERT_EQ(::stat((dir / "server/retired/server_1/agree.key.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    try {
        keys.forKeyId("server/9");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::WrongAudience);
    }

    // Starting over at server/1 would reuse a retired key id: refused, even with --force.
    const Result reissue = runKeytool({"server", "issue", "--dir", dir.string(), "--force"});
    EXPECT_NE(reissue.status, 0);
    EXPECT_NE(reissue.output.find("server rotate"), std::string::npos) << reissue.output;
    EXPECT_EQ(trust::loadServerSigner(dir / "server").certificate.keyId, "server/3");

    // Without the root key (kept offline) nothing is written, and the rotation can run later.
    fs::rename(dir / "root/root.key.pem", dir / "root.key.pem.offline");
    EXPECT_NE(runKeytool({"server", "rotate", "--dir", dir.string()}).status, 0);
    EXPECT_FALSE(fs::exists(dir / "server/retired/server_3"));
    EXPECT_EQ(trust::loadServerSigner(dir / "server").certificate.keyId, "server/3");
    fs::rename(dir / "root.key.pem.offline", dir / "root/root.key.pem");
    run({"server", "rotate", "--dir", dir.string()});
    EXPECT_EQ(trust::loadServerSigner(dir / "server").certificate.keyId, "server/4");

    // A damaged retired entry stops the loading with a message that says where.
    fs::remove(dir / "server/retired/server_2/agree.key.pem");
    try {
        trust::ServerAgreementKeys::load(dir / "server", trust::loadServerSigner(dir / "server").certificate);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("retired/server_2"), std::string::npos) << e.what();
    }
}

TEST_F(KeytoolTest, ShowPrintsObjects)
{
    run({"dev", "--out", dir.string()});
    Result r = runKeytool({"show", "--file", (dir / "devices" / "stb-1" / "device.cert").string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.output.find("\"subject\": \"stb-1\""), std::string::npos) << r.output;
    r = runKeytool({"show", "--file", (dir / "root" / "root.key.pem").string()});
    EXPECT_EQ(r.status, 1);
}
