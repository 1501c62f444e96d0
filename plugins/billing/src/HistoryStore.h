#pragma once
// billing::History on core/storage (SQLite in the plugin's data directory).
//
// Opening checks everything before the history is used: PRAGMA integrity_check,
// then every record in sequence order (strict decode, gap-free from 1, device id,
// previous hash, stored hash, the derived columns, the device signature) and the
// head kept in billing_state. Any difference throws, so a tampered or damaged
// history never takes purchases.

#include <boxoffice/billing/History.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/DeviceIdentity.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

namespace boxoffice::billing {

namespace detail { struct State; }

struct HistoryOptions {
    wire::Amount creditLimit = 0;                     // for deferred purchases
    std::string currency = "EUR";
    std::optional<trust::TrustAnchor> root;           // operator root: settlement results
    std::optional<wire::Certificate> serverCertificate;
    std::function<wire::UnixTime()> clock;            // default: system clock
    // Server certificates (a settlement result's signer, the one history is sealed to) are
    // checked by `verifyServer` when it answers (the plugin: sync::ServerTrust, at trusted
    // time against the root's list sync holds); when it is unset or answers nullopt, under
    // `root` at `clock` against the root's list kept in `rootRevocationsFile` (if it exists).
    std::function<std::optional<trust::VerifyingKey>(const wire::Certificate&)> verifyServer;
    std::filesystem::path rootRevocationsFile;
    // The server certificates the store knows (trust::KnownServerCertificates): the one the
    // server presented last, from `presentedServer` when it answers (the plugin:
    // sync::ServerTrust::presentedServer) or else as sync keeps it in `serverCertificateFile`
    // (when it exists and decodes); then `serverCertificate`. History is sealed to the first
    // that passes the checks above and has an agreement key; a settlement result without its
    // certificate is checked with the first under its signer's key id that passes them. So
    // after a server key rotation the phone carries what the new key can read, and back.
    std::function<std::optional<wire::Certificate>()> presentedServer;
    std::filesystem::path serverCertificateFile;
};

class HistoryStore final : public History {
public:
    // Error(Storage) when SQLite reports damage, Error(BadSignature) naming the first
    // record (or the head) that does not verify, Error(WrongAudience) for another
    // device's history.
    HistoryStore(const std::filesystem::path& file, trust::DeviceIdentity identity, HistoryOptions options);
    ~HistoryStore() override;

    Record append(const Entry& entry) override;
    std::vector<Record> appendAll(const std::vector<Entry>& entries) override;
    Credit credit() const override;
    Status status() const override;
    std::vector<Record> records(std::uint64_t afterSequence, std::size_t limit) const override;
    std::vector<Record> recent(std::size_t limit, std::uint64_t beforeSequence = 0) const override;
    std::vector<Record> ofTicket(const std::string& ticketId, wire::HistoryKind kind) const override;
    Statement statement(int year, int month) const override;
    std::optional<Batch> exportUnsettled(std::size_t maxBytes) const override;
    Settlement applySettlement(ByteView result, ByteView serverCertificate = {}) override;
    void acknowledge(std::uint64_t sequence) override;

    // Re-runs the checks of the constructor on the current file.
    void verify() const;

    static const storage::Schema& schema();

private:
    struct Keys;
    wire::UnixTime now() const;
    trust::VerifyingKey checkServer(const wire::Certificate& certificate) const;
    trust::KnownServerCertificates knownServers() const;
    wire::Certificate sealingCertificate() const;
    void checkIntegrity() const;
    detail::State state(storage::Transaction& tx) const;
    void writeState(storage::Transaction& tx, const detail::State& s, bool insert) const;

    std::unique_ptr<storage::Database> db_;
    trust::DeviceIdentity identity_;
    trust::VerifyingKey deviceKey_;
    HistoryOptions options_;
    std::shared_ptr<const Keys> keys_;
};

} // namespace boxoffice::billing
