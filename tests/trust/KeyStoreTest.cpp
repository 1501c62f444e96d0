#include "Fixture.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/testing/LogCapture.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/trust/KeyStore.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/AutoPtr.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace boxoffice;
using namespace boxoffice::trust;
using namespace boxoffice::trust::testing;
namespace fs = std::filesystem;

namespace {

std::string upper(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string base64(ByteView bytes)
{
    std::ostringstream out;
    Poco::Base64Encoder enc(out);
    enc.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    enc.close();
    return out.str();
}

// Every representation of `secret` a careless log line might use.
void expectAbsent(const std::string& haystack, ByteView secret, const std::string& what)
{
    const std::string forms[] = {toHex(secret), upper(toHex(secret)), wire::toBase64Url(secret), base64(secret),
                                 std::string(reinterpret_cast<const char*>(secret.data()), secret.size()),
                                 // a prefix is enough to leak most of a key
                                 toHex(secret.first(8))};
    for (const auto& form : forms) EXPECT_EQ(haystack.find(form), std::string::npos) << what << " leaked";
}

std::string readAll(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

mode_t modeOf(const fs::path& path)
{
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

class KeyStoreTest : public ::testing::Test {
protected:
    ScratchDir dir;
    std::shared_ptr<const KeySealer> sealer = std::make_shared<MachineSecretSealer>(dir.path / "machine-secret");
};

} // namespace

TEST_F(KeyStoreTest, RoundTripsIdentityAndEventKeys)
{
    const SigningKey root = makeRoot();
    const DeviceIdentity device = makeDevice(root);
    KeyStore store(dir.path / "keys", sealer);
    EXPECT_FALSE(store.hasDeviceIdentity());
    EXPECT_EQ(errorOf([&] { store.deviceIdentity(); }).code(), ErrorCode::NotFound);
    store.putDeviceIdentity(device);
    EXPECT_TRUE(store.hasDeviceIdentity());

    // A new store over the same directory and machine secret (a reboot).
    KeyStore reopened(dir.path / "keys", std::make_shared<MachineSecretSealer>(dir.path / "machine-secret"));
    const DeviceIdentity loaded = reopened.deviceIdentity();
    EXPECT_EQ(loaded.deviceId, "stb-1");
    EXPECT_EQ(loaded.certificate, device.certificate);
    EXPECT_EQ(loaded.signingKey.publicKey(), device.signingKey.publicKey());
    EXPECT_EQ(loaded.agreementKey.publicKey(), device.agreementKey.publicKey());

    const Bytes k1 = crypto::randomBytes(16);
    const Bytes k2 = crypto::randomBytes(32);
    reopened.putEventKey("ev-1/k1", k1, t0 + 100);
    reopened.putEventKey("ev-2:k", k2, t0 + 200);
    EXPECT_TRUE(crypto::constantTimeEqual(*store.eventKey("ev-1/k1"), k1));
    EXPECT_TRUE(crypto::constantTimeEqual(*store.eventKey("ev-2:k"), k2));
    EXPECT_FALSE(store.eventKey("ev-3").has_value());
    auto ids = store.eventKeyIds();
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"ev-1/k1", "ev-2:k"}));
    EXPECT_EQ(store.removeExpired(t0 + 150), 1u);
    EXPECT_FALSE(store.eventKey("ev-1/k1").has_value());
    EXPECT_TRUE(store.eventKey("ev-2:k").has_value());
    store.removeEventKey("ev-2:k");
    EXPECT_TRUE(store.eventKeyIds().empty());
}

TEST_F(KeyStoreTest, FilesArePrivateAndEncrypted)
{
    const SigningKey root = makeRoot();
    const DeviceIdentity device = makeDevice(root);
    KeyStore store(dir.path / "keys", sealer);
    store.putDeviceIdentity(device);
    const Bytes key = crypto::randomBytes(16);
    store.putEventKey("ev-1", key, t0);

    EXPECT_EQ(modeOf(dir.path / "machine-secret"), 0600u);
    EXPECT_EQ(modeOf(dir.path / "keys"), 0700u);
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir.path / "keys")) {
        ++files;
        EXPECT_EQ(modeOf(entry.path()), 0600u) << entry.path();
        const std::string contents = readAll(entry.path());
        expectAbsent(contents, key, "event key on disk");
        expectAbsent(contents, device.signingKey.seed(), "signing key on disk");
        expectAbsent(contents, device.agreementKey.raw(), "agreement key on disk");
    }
    EXPECT_EQ(files, 2);
}

TEST_F(KeyStoreTest, TamperedOrForeignFilesDoNotOpen)
{
    KeyStore store(dir.path / "keys", sealer);
    store.putEventKey("ev-1", crypto::randomBytes(16), t0);
    store.putEventKey("ev-2", crypto::randomBytes(16), t0);
    const auto ids = store.eventKeyIds();
    ASSERT_EQ(ids.size(), 2u);

    // Another machine secret cannot open them.
    KeyStore foreign(dir.path / "keys", std::make_shared<MachineSecretSealer>(dir.path / "other-secret"));
    EXPECT_EQ(errorOf([&] { foreign.eventKey("ev-1"); }).code(), ErrorCode::BadSignature);

    // Swapping two sealed files: the label (event key id) is bound in.
    fs::path f1, f2;
    for (const auto& entry : fs::directory_iterator(dir.path / "keys"))
        (f1.empty() ? f1 : f2) = entry.path();
    const std::string c1 = readAll(f1), c2 = readAll(f2);
    std::ofstream(f1, std::ios::binary | std::ios::trunc) << c2;
    std::ofstream(f2, std::ios::binary | std::ios::trunc) << c1;
    EXPECT_EQ(errorOf([&] { store.eventKey("ev-1"); }).code(), ErrorCode::BadSignature);
    EXPECT_EQ(errorOf([&] { store.eventKey("ev-2"); }).code(), ErrorCode::BadSignature);
}

TEST_F(KeyStoreTest, RefusesMachineSecretReadableByOthers)
{
    const fs::path secret = dir.path / "loose-secret";
    std::ofstream(secret) << std::string(32, 'x');
    ::chmod(secret.c_str(), 0644);
    EXPECT_EQ(errorOf([&] { MachineSecretSealer loose(secret); }).code(), ErrorCode::PermissionDenied);
}

TEST_F(KeyStoreTest, NoKeyMaterialInLogs)
{
    Poco::AutoPtr<boxoffice::testing::LogCapture> capture(new boxoffice::testing::LogCapture);
    // setChannel("") only reaches loggers that exist: create the root first so that
    // loggers created later inherit the capture.
    Poco::Logger::root().setChannel(capture);
    Poco::Logger::setChannel("", capture);
    Poco::Logger::setLevel("", Poco::Message::PRIO_TRACE);

    const SigningKey root = makeRoot();
    const DeviceIdentity device = makeDevice(root);
    const Bytes k1 = crypto::randomBytes(16);
    const Bytes k2 = crypto::randomBytes(32);
    {
        KeyStore store(dir.path / "keys", sealer);
        store.putDeviceIdentity(device);
        store.deviceIdentity();
        store.putEventKey("ev-1", k1, t0);
        store.putEventKey("ev-2", k2, t0 + 10);
        store.eventKey("ev-1");
        store.removeExpired(t0 + 5);
        store.removeEventKey("ev-2");
    }
    Poco::Logger::setLevel("", Poco::Message::PRIO_INFORMATION);

    const auto logged = capture->text();
    EXPECT_GE(capture->count(), 4) << "the key store should log what it does (by id)";
    EXPECT_NE(logged.find("ev-1"), std::string::npos);
    expectAbsent(logged, k1, "event key 1");
    expectAbsent(logged, k2, "event key 2");
    expectAbsent(logged, device.signingKey.seed(), "device signing key");
    expectAbsent(logged, device.agreementKey.raw(), "device agreement key");
}
