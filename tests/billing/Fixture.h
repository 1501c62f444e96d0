#pragma once
// Keys from `boxoffice-keytool dev` (generated once per test program), a server
// certificate that also carries an X25519 agreement key (the dev set's has none),
// a foreign root, and helpers to build settlement results and open SQLite files.

#include "HistoryStore.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/testing/ErrorCodeOf.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/SettlementResult.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>

namespace boxoffice::billing::test {

inline constexpr wire::UnixTime kJan2027 = 1'798'761'600;   // 2027-01-01T00:00:00Z

struct DevKeys {
    testing::TempDir dir{"billing-keys"};
    std::optional<trust::SigningKey> root;
    std::optional<trust::TrustAnchor> anchor;
    std::optional<trust::Credentials> server;                 // keytool's (with its own agreement key)
    wire::Certificate serverWithoutAgreement;                 // same key id and signing key, no X25519
    wire::Certificate serverWithAgreement;                    // same key id and signing key, a test X25519
    std::optional<crypto::X25519PrivateKey> serverAgreement;
    std::optional<trust::DeviceIdentity> stb1, stb2;

    DevKeys()
    {
        testing::ChildProcess tool(BOXOFFICE_KEYTOOL, {"dev", "--out", (dir.path() / "keys").string()});
        const auto status = tool.wait(std::chrono::seconds(120));
        if (status != 0) throw std::runtime_error("boxoffice-keytool dev failed: " + tool.output());
        const auto keys = dir.path() / "keys";
        root = trust::loadRootKey(keys / "root");
        anchor = trust::loadTrustAnchor(keys / "root" / "root.json");
        server = trust::loadServerSigner(keys / "server");
        stb1 = trust::loadDeviceIdentity(keys / "devices" / "stb-1");
        stb2 = trust::loadDeviceIdentity(keys / "devices" / "stb-2");
        serverAgreement = crypto::X25519PrivateKey::generate();
        wire::Certificate c = server->certificate;
        const auto& raw = serverAgreement->publicKey().raw();
        c.agreementKey.assign(raw.begin(), raw.end());
        serverWithAgreement = trust::issueCertificate(c, *root);
        c.agreementKey.clear();
        serverWithoutAgreement = trust::issueCertificate(c, *root);
    }
    std::filesystem::path keysDir() const { return dir.path() / "keys"; }

    static DevKeys& get()
    {
        static DevKeys keys;
        return keys;
    }
};

inline HistoryOptions defaultOptions(wire::Amount limit = 10'000)
{
    auto& k = DevKeys::get();
    HistoryOptions o;
    o.creditLimit = limit;
    o.currency = "EUR";
    o.root = *k.anchor;
    o.serverCertificate = k.serverWithAgreement;
    return o;
}

inline Entry purchase(wire::Amount amount, bool deferred = false, wire::UnixTime at = kJan2027 + 3600,
                      const std::string& event = "ev-1")
{
    Entry e;
    e.kind = wire::HistoryKind::Purchase;
    e.eventId = event;
    e.orderId = "o-" + std::to_string(amount);
    e.amount = amount;
    e.recordedAt = at;
    e.deferred = deferred;
    return e;
}

inline wire::SettlementResult settlementFor(const Record& last, const std::string& id,
                                            const std::string& device = "stb-1")
{
    wire::SettlementResult r;
    r.settlementId = id;
    r.deviceId = device;
    r.settledThrough = last.record.sequence;
    r.lastRecordHash = last.hash;
    r.recordCount = static_cast<std::uint32_t>(last.record.sequence);
    r.totalAmount = 0;
    r.currency = "EUR";
    r.settledAt = kJan2027 + 7200;
    trust::sign(r, DevKeys::get().server->key);
    return r;
}

using boxoffice::testing::codeOf;

// Runs SQL on the file with plain sqlite3, as an attacker with the file would.
inline void tamper(const std::filesystem::path& file, const std::string& sql)
{
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
}

class HistoryFixture : public ::testing::Test {
protected:
    std::filesystem::path file() const { return dir_.path() / "history.db"; }
    std::unique_ptr<HistoryStore> open(HistoryOptions options = defaultOptions(),
                                       const trust::DeviceIdentity* identity = nullptr)
    {
        return std::make_unique<HistoryStore>(file(), identity ? *identity : *DevKeys::get().stb1, std::move(options));
    }

private:
    testing::TempDir dir_{"billing-test"};
};

} // namespace boxoffice::billing::test
