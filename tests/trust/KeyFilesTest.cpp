#include "Fixture.h"

#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Base64Url.h>

#include <sys/stat.h>

using namespace boxoffice;
using namespace boxoffice::trust;
using namespace boxoffice::trust::testing;

TEST(KeyFiles, WriteRefusesOverwriteAndSetsModes)
{
    ScratchDir dir;
    const auto file = dir.path / "a" / "secret.pem";
    writeKeyFile(file, "one", true, false);
    EXPECT_EQ(errorOf([&] { writeKeyFile(file, "two", true, false); }).code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(readKeyFile(file), "one");
    writeKeyFile(file, "two", true, true);
    EXPECT_EQ(readKeyFile(file), "two");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(file.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(errorOf([&] { readKeyFile(dir.path / "missing"); }).code(), ErrorCode::NotFound);
}

TEST(KeyFiles, LoadsWhatWasWritten)
{
    ScratchDir dir;
    const SigningKey rootKey("root-1", crypto::Ed25519PrivateKey::generate());
    const auto rootPriv = crypto::Ed25519PrivateKey::generate();
    const SigningKey root("root-1", rootPriv);
    writeKeyFile(dir.path / "root" / "root.key.pem", rootPriv.toPem(), true, false);
    writeKeyFile(dir.path / "root" / "root.json",
                 R"({"key_id":"root-1","algorithm":"ed25519","public_key":")"
                     + wire::toBase64Url(rootPriv.publicKey().raw()) + "\"}",
                 false, false);
    EXPECT_EQ(loadTrustAnchor(dir.path / "root" / "root.json").key, rootPriv.publicKey());
    EXPECT_EQ(loadRootKey(dir.path / "root").keyId(), "root-1");

    const DeviceIdentity device = makeDevice(root);
    const auto deviceDir = dir.path / "devices" / "stb-1";
    writeKeyFile(deviceDir / "sign.key.pem", device.signingKey.toPem(), true, false);
    writeKeyFile(deviceDir / "agree.key.pem", device.agreementKey.toPem(), true, false);
    const Bytes cert = device.certificate.encode();
    writeKeyFile(deviceDir / "device.cert", std::string(cert.begin(), cert.end()), false, false);
    const DeviceIdentity loaded = loadDeviceIdentity(deviceDir);
    EXPECT_EQ(loaded.deviceId, "stb-1");
    EXPECT_EQ(loaded.certificate, device.certificate);

    // A key file readable by others is refused.
    ::chmod((deviceDir / "sign.key.pem").c_str(), 0644);
    EXPECT_EQ(errorOf([&] { loadDeviceIdentity(deviceDir); }).code(), ErrorCode::PermissionDenied);
    // A key that does not match the certificate is refused.
    ::chmod((deviceDir / "sign.key.pem").c_str(), 0600);
    writeKeyFile(deviceDir / "sign.key.pem", crypto::Ed25519PrivateKey::generate().toPem(), true, true);
    EXPECT_EQ(errorOf([&] { loadDeviceIdentity(deviceDir); }).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(keyDirName("issuer-a/2026:1"), "issuer-a_2026_1");
}
