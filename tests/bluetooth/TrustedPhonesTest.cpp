// The trusted phone list at rest: sealed by the STB's key sealer, refused (and
// the plugin still running) when tampered with or left in plaintext by an
// older version.
#include "Rig.h"

#include <boxoffice/base/Hex.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/testing/ErrorCodeOf.h>
#include <boxoffice/trust/KeySealer.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <fstream>
#include <iterator>

using namespace boxoffice;
using namespace boxoffice::testing;
namespace bt = boxoffice::bluetooth;
namespace fs = std::filesystem;

namespace {

using boxoffice::testing::codeOf;

std::string readFile(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const fs::path& file, const std::string& data)
{
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << data;
}

bool contains(const std::string& haystack, ByteView needle)
{
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

bool containsText(std::string haystack, std::string needle)
{
    std::transform(haystack.begin(), haystack.end(), haystack.begin(), ::tolower);
    std::transform(needle.begin(), needle.end(), needle.begin(), ::tolower);
    return haystack.find(needle) != std::string::npos;
}

// The pairing key as the phone holds it (its state file keeps it per STB name).
Bytes pairingKeyOf(Rig::TestPhone& t, const fs::path& stateFile)
{
    t.phone->save(stateFile);
    Poco::JSON::Parser parser;
    auto root = parser.parse(readFile(stateFile)).extract<Poco::JSON::Object::Ptr>();
    return fromHex(root->getObject("pairings")->getValue<std::string>(t.stbName), "pairing key");
}

std::string status(Rig& rig, const std::string& field)
{
    return rig.call("bluetooth.1.status").extract<Poco::JSON::Object::Ptr>()->getValue<std::string>(field);
}

bt::Message ping(Bytes body) { return {bt::MessageType::Ping, 0, 0, std::move(body)}; }

} // namespace

TEST(TrustedPhones, FileOnDiskHoldsNoKeyBytesAndReopensAfterRestart)
{
    Rig rig;
    auto t = rig.connect("AA:BB:CC:DD:EE:21");
    rig.pairFully(t);
    const auto key = pairingKeyOf(t, rig.dataRoot() / "phone.json");
    ASSERT_EQ(key.size(), 32u);

    const auto dir = rig.dataRoot() / "bluetooth";
    const std::string sealed = readFile(dir / "trusted-phones.sealed");
    ASSERT_FALSE(sealed.empty());
    EXPECT_FALSE(contains(sealed, key));
    EXPECT_FALSE(containsText(sealed, toHex(key)));
    EXPECT_FALSE(containsText(sealed, toHex(ByteView(t.phone->publicKey().raw()))));
    EXPECT_FALSE(containsText(sealed, t.phone->id()));
    EXPECT_FALSE(containsText(sealed, "pairingKey"));
    EXPECT_FALSE(fs::exists(dir / "trusted-phones.json"));
    EXPECT_TRUE(fs::exists(dir / "machine-secret"));
    EXPECT_EQ(status(rig, "trustedPhonesProblem"), "");

    // Sealed under the machine secret and the list's label: it opens with both, not without.
    const auto sealer = std::make_shared<trust::MachineSecretSealer>(dir / "machine-secret");
    const ByteView blob(reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size());
    const auto plain = sealer->unseal(blob, "bluetooth.trusted-phones.v2");
    EXPECT_TRUE(contains(std::string(reinterpret_cast<const char*>(plain.data()), plain.size()),
                         ByteView(reinterpret_cast<const std::uint8_t*>(t.phone->id().data()), t.phone->id().size())));
    EXPECT_EQ(codeOf([&] { sealer->unseal(blob, "device-identity"); }), ErrorCode::BadSignature);

    rig.host().deactivate("bluetooth");
    rig.host().activate("bluetooth");
    ASSERT_TRUE(rig.waitRegistered(2));
    t.phone->attach(t.link);
    t.phone->openSession(t.stbName);
    EXPECT_EQ(t.phone->request(ping({7}), 5s).body, Bytes{7});
}

TEST(TrustedPhones, TamperedFileIsRefusedAndThePluginStillStarts)
{
    Rig rig;
    auto t = rig.connect("AA:BB:CC:DD:EE:22");
    rig.pairFully(t);
    const auto file = rig.dataRoot() / "bluetooth" / "trusted-phones.sealed";

    rig.host().deactivate("bluetooth");
    std::string sealed = readFile(file);
    sealed[sealed.size() / 2] = static_cast<char>(sealed[sealed.size() / 2] ^ 0x01);
    writeFile(file, sealed);
    rig.host().activate("bluetooth");
    ASSERT_EQ(rig.host().state("bluetooth"), host::PluginState::Activated);
    ASSERT_TRUE(rig.waitRegistered(2));

    const auto problem = status(rig, "trustedPhonesProblem");
    EXPECT_NE(problem.find("failed authentication"), std::string::npos) << problem;
    EXPECT_NE(problem.find("trusted-phones.sealed"), std::string::npos) << problem;
    EXPECT_TRUE(rig.channel()->phones().empty());
    // Kept aside unchanged for inspection; nothing was written in its place.
    EXPECT_EQ(readFile(file.string() + ".rejected"), sealed);
    EXPECT_FALSE(fs::exists(file));

    // The phone is no longer trusted...
    t.phone->attach(t.link);
    EXPECT_EQ(codeOf([&] { t.phone->openSession(t.stbName); }), ErrorCode::PermissionDenied);
    EXPECT_EQ(t.phone->lastAlert()->code, bt::AlertCode::NotPaired);
    // ...and a phone pairing now starts a fresh sealed list.
    // (the plugin's restart ended the event subscription)
    rig.call("host.1.subscribe", R"({"events":["bluetooth.1.linkConfirmation","bluetooth.1.pairingCode"]})");
    auto fresh = rig.connect("AA:BB:CC:DD:EE:23");
    rig.pairFully(fresh);
    EXPECT_EQ(fresh.phone->request(ping({3}), 5s).body, Bytes{3});
    EXPECT_TRUE(fs::exists(file));
    EXPECT_EQ(rig.channel()->phones().size(), 1u);
}

// The plugin marks the phone's device Trusted with a synchronous D-Bus call from its
// pairing worker; deactivating it while bluetoothd has not answered must wait for that
// answer, not leave the event loop that would deliver it (which hung the host for good).
TEST(TrustedPhones, DeactivatingWhileBluezHasNotAnsweredTrustedDoesNotHang)
{
    RigOptions options;
    options.trustedSetDelay = 1500ms;
    Rig rig(options);
    auto t = rig.connect("AA:BB:CC:DD:EE:24");
    auto pairing = std::async(std::launch::async, [&] { rig.pairFully(t); });
    ASSERT_TRUE(rig.fake().waitFor([](const auto& s) { return s.trustedSetsPending > 0; }, 10s));
    auto deactivated = std::async(std::launch::async, [&] { rig.host().deactivate("bluetooth"); });
    ASSERT_EQ(deactivated.wait_for(20s), std::future_status::ready) << "deactivate hung";
    deactivated.get();
    EXPECT_EQ(rig.host().state("bluetooth"), host::PluginState::Deactivated);
    pairing.wait();  // finished or failed with the plugin gone; either is fine here
    // The phone had completed pairing before the plugin went down: it stays trusted.
    rig.host().activate("bluetooth");
    ASSERT_EQ(rig.host().state("bluetooth"), host::PluginState::Activated);
    ASSERT_TRUE(rig.waitRegistered(2));
    EXPECT_EQ(rig.channel()->phones().size(), 1u);
}

TEST(TrustedPhones, ListSealedUnderAnotherMachineSecretIsRefused)
{
    Rig rig;
    const auto dir = rig.dataRoot() / "bluetooth";
    rig.host().deactivate("bluetooth");
    const auto other = std::make_shared<trust::MachineSecretSealer>(rig.dataRoot() / "other-secret");
    const std::string list = R"({"version":2,"phones":[]})";
    const auto blob = other->seal(ByteView(reinterpret_cast<const std::uint8_t*>(list.data()), list.size()),
                                  "bluetooth.trusted-phones.v2");
    writeFile(dir / "trusted-phones.sealed", std::string(blob.begin(), blob.end()));
    rig.host().activate("bluetooth");
    ASSERT_EQ(rig.host().state("bluetooth"), host::PluginState::Activated);
    EXPECT_NE(status(rig, "trustedPhonesProblem").find("another machine secret"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir / "trusted-phones.sealed.rejected"));
}

TEST(TrustedPhones, TruncatedOrGarbageFileIsRefused)
{
    Rig rig;
    const auto dir = rig.dataRoot() / "bluetooth";
    for (const std::string& garbage : {std::string(), std::string("{\"version\":1,\"phones\":[]}"), std::string(5, 'x')}) {
        rig.host().deactivate("bluetooth");
        writeFile(dir / "trusted-phones.sealed", garbage);
        rig.host().activate("bluetooth");
        ASSERT_EQ(rig.host().state("bluetooth"), host::PluginState::Activated);
        EXPECT_NE(status(rig, "trustedPhonesProblem").find("refused the trusted phone list"), std::string::npos);
        EXPECT_EQ(readFile(dir / "trusted-phones.sealed.rejected"), garbage);
    }
}

TEST(TrustedPhones, PlaintextListOfAnOlderVersionIsRefusedAndErased)
{
    Rig rig;
    const auto dir = rig.dataRoot() / "bluetooth";
    rig.host().deactivate("bluetooth");
    const std::string key(64, 'a');
    writeFile(dir / "trusted-phones.json",
              R"({"version":1,"phones":[{"id":"p1","name":"Old","publicKey":")" + std::string(130, '0') +
                  R"(","pairingKey":")" + key + R"(","pairedAt":1}]})");
    rig.host().activate("bluetooth");
    ASSERT_EQ(rig.host().state("bluetooth"), host::PluginState::Activated);
    const auto problem = status(rig, "trustedPhonesProblem");
    EXPECT_NE(problem.find("plaintext"), std::string::npos) << problem;
    EXPECT_NE(problem.find("pair the phones again"), std::string::npos) << problem;
    EXPECT_FALSE(fs::exists(dir / "trusted-phones.json"));
    EXPECT_TRUE(rig.channel()->phones().empty());
}
