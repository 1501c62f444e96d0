#include "HistoryStore.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/billing/HistoryBatch.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/SealedBox.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/wire/SettlementResult.h>
#include <boxoffice/wire/Writer.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <ctime>
#include <filesystem>
#include <functional>

namespace boxoffice::billing {

using storage::Row;
using storage::Transaction;

namespace detail {
struct State {
    std::string deviceId;
    std::uint64_t lastSequence = 0;
    Hash lastHash{};
    std::uint64_t settledThrough = 0;
    std::uint64_t acknowledgedThrough = 0;
    std::string lastSettlementId;
    Bytes mac;
};
} // namespace detail
using detail::State;

namespace {

constexpr std::size_t kRecordPage = 2048;
constexpr std::size_t kExportPage = 256;
const std::string kRecordColumns = "seq, encoded, hash, deferred";

// Local facts the wire record does not carry (deferred, the settled/acknowledged
// marks) are MACed under a key derived from the device's signing key, so editing
// the file cannot free credit or mark records settled.
crypto::SecretBytes deriveMetaKey(const trust::DeviceIdentity& identity)
{
    const auto seed = identity.signingKey.seed();
    const std::string salt = "BoxOffice billing v1";
    const std::string info = "local metadata MAC";
    return crypto::hkdfSha256(seed.view(), ByteView(reinterpret_cast<const std::uint8_t*>(salt.data()), salt.size()),
                              ByteView(reinterpret_cast<const std::uint8_t*>(info.data()), info.size()), 32);
}

int monthOf(wire::UnixTime t)
{
    const std::time_t time = static_cast<std::time_t>(t);
    std::tm tm{};
    if (!::gmtime_r(&time, &tm)) throw Error(ErrorCode::InvalidArgument, "recorded time out of range");
    return (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

Bytes bytesOf(const Hash& h) { return Bytes(h.begin(), h.end()); }

Hash hashOf(const Bytes& b, std::uint64_t seq)
{
    if (b.size() != 32) throw Error(ErrorCode::BadSignature, "billing history: record " + std::to_string(seq) + ": stored hash is not 32 bytes");
    Hash h{};
    std::copy(b.begin(), b.end(), h.begin());
    return h;
}




Bytes stateBytes(const State& s)
{
    wire::Writer w("billing_state");
    w.id("device_id", s.deviceId);
    w.u64(s.lastSequence);
    w.fixed(s.lastHash);
    w.u64(s.settledThrough);
    w.u64(s.acknowledgedThrough);
    w.text("last_settlement_id", s.lastSettlementId, 255);
    return w.take();
}

Bytes recordMetaBytes(std::uint64_t seq, const Hash& hash, bool deferred)
{
    wire::Writer w("billing_record");
    w.u64(seq);
    w.fixed(hash);
    w.u8(deferred ? 1 : 0);
    return w.take();
}

std::uint64_t u64(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }
std::int64_t i64(std::uint64_t v)
{
    if (v > static_cast<std::uint64_t>(INT64_MAX)) throw Error(ErrorCode::InvalidArgument, "sequence out of range");
    return static_cast<std::int64_t>(v);
}

std::optional<State> readState(Transaction& tx)
{
    auto row = tx.query("SELECT device_id, last_seq, last_hash, settled_through, acknowledged_through, "
                        "last_settlement_id, mac FROM billing_state WHERE id = 1")
                   .single();
    if (!row) return std::nullopt;
    State s;
    s.deviceId = row->text(0);
    s.lastSequence = u64(row->int64(1));
    s.lastHash = hashOf(row->blob(2), 0);
    s.settledThrough = u64(row->int64(3));
    s.acknowledgedThrough = u64(row->int64(4));
    s.lastSettlementId = row->text(5);
    s.mac = row->blob(6);
    return s;
}

wire::Amount outstanding(Transaction& tx, std::uint64_t settledThrough)
{
    return tx.query("SELECT coalesce(sum(amount), 0) FROM billing_record WHERE seq > ? AND deferred = 1",
                    {i64(settledThrough)})
        .single()
        ->int64(0);
}

// The records after sequence `after`, in order, a page at a time (a box's history may hold a
// million: never all in memory at once). `columns` starts with seq. Stops when fn says false.
void forEachRecord(Transaction& tx, const std::string& columns, std::int64_t after, std::size_t pageSize,
                   const std::function<bool(const Row&)>& fn)
{
    for (std::int64_t cursor = after;;) {
        const auto page = tx.query("SELECT " + columns + " FROM billing_record WHERE seq > ? ORDER BY seq LIMIT ?",
                                   {cursor, static_cast<std::int64_t>(pageSize)});
        for (const Row& row : page) {
            cursor = row.int64(0);
            if (!fn(row)) return;
        }
        if (page.size() < pageSize) return;
    }
}

Record toRecord(const Row& row, std::uint64_t settledThrough)
{
    Record r;
    const auto seq = u64(row.int64(0));
    r.encoded = row.blob(1);
    r.record = wire::HistoryRecord::decode(r.encoded);
    r.hash = hashOf(row.blob(2), seq);
    r.deferred = row.int64(3) != 0;
    r.settled = seq <= settledThrough;
    return r;
}

[[noreturn]] void tampered(std::uint64_t seq, const std::string& why)
{
    throw Error(ErrorCode::BadSignature, "billing history: record " + std::to_string(seq) + ": " + why);
}

} // namespace

const storage::Schema& HistoryStore::schema()
{
    static const storage::Schema s{
        "billing",
        {
            {"history",
             {"CREATE TABLE billing_record (seq {int64} PRIMARY KEY NOT NULL, encoded {blob} NOT NULL, "
              "hash {blob} NOT NULL, kind {int64} NOT NULL, amount {int64} NOT NULL, month {int64} NOT NULL, "
              "deferred {int64} NOT NULL, mac {blob} NOT NULL)",
              "CREATE INDEX billing_record_month ON billing_record (month, seq)",
              "CREATE TABLE billing_state (id {int64} PRIMARY KEY NOT NULL, device_id {text} NOT NULL, "
              "last_seq {int64} NOT NULL, last_hash {blob} NOT NULL, settled_through {int64} NOT NULL, "
              "acknowledged_through {int64} NOT NULL, last_settlement_id {text} NOT NULL, mac {blob} NOT NULL)",
              "CREATE TABLE billing_settlement (settlement_id {text} PRIMARY KEY NOT NULL, "
              "settled_through {int64} NOT NULL, encoded {blob} NOT NULL, applied_at {int64} NOT NULL)"}},
            // A ticket's plays are read at every playback: by index, not by decoding every
            // record of the kind. The column is checked against the signed record (verify()).
            {"records by ticket",
             {"ALTER TABLE billing_record ADD COLUMN ticket_id {text} NOT NULL DEFAULT ''"},
             [](Transaction& tx) {
                 forEachRecord(tx, "seq, encoded", INT64_MIN, kRecordPage, [&](const Row& row) {
                     std::string ticketId;
                     try {
                         ticketId = wire::HistoryRecord::decode(row.blob(1)).ticketId;
                     } catch (const Error&) {
                         return true;   // left empty: verify() refuses the record and says which
                     }
                     tx.execute("UPDATE billing_record SET ticket_id = ? WHERE seq = ?", {ticketId, row.int64(0)});
                     return true;
                 });
                 // After the fill-in: not maintained through each update.
                 tx.execute("CREATE INDEX billing_record_ticket ON billing_record (ticket_id, kind, seq)");
             }},
        }};
    return s;
}

struct HistoryStore::Keys {
    crypto::SecretBytes meta;
    Bytes mac(ByteView data) const
    {
        const auto d = crypto::hmacSha256(meta.view(), data);
        return Bytes(d.begin(), d.end());
    }
    bool check(ByteView data, ByteView mac) const { return crypto::constantTimeEqual(this->mac(data), mac); }
};

HistoryStore::HistoryStore(const std::filesystem::path& file, trust::DeviceIdentity identity, HistoryOptions options)
    : identity_(std::move(identity)),
      deviceKey_(trust::VerifyingKey::fromCertificate(identity_.certificate)),
      options_(std::move(options)),
      keys_(std::make_shared<Keys>(Keys{deriveMetaKey(identity_)}))
{
    if (options_.creditLimit < 0 || options_.creditLimit > wire::maxAmount)
        throw Error(ErrorCode::InvalidArgument, "billing: credit limit out of range");
    if (options_.currency.size() != 3) throw Error(ErrorCode::InvalidArgument, "billing: currency must be ISO 4217");
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    db_ = std::make_unique<storage::Database>("sqlite:" + file.string());
    checkIntegrity();
    db_->migrate(schema());
    db_->write([&](Transaction& tx) {
        if (readState(tx)) return;
        if (tx.query("SELECT count(*) FROM billing_record").single()->int64(0) != 0)
            throw Error(ErrorCode::BadSignature, "billing history: records without a head (billing_state deleted)");
        State s;
        s.deviceId = identity_.deviceId;
        writeState(tx, s, true);
    });
    verify();
}

HistoryStore::~HistoryStore() = default;

trust::VerifyingKey HistoryStore::checkServer(const wire::Certificate& certificate) const
{
    if (options_.verifyServer)
        if (auto key = options_.verifyServer(certificate)) return std::move(*key);
    if (!options_.root) throw Error(ErrorCode::Unavailable, "billing: no operator trust anchor configured");
    trust::RevocationState revocations;
    if (!options_.rootRevocationsFile.empty() && std::filesystem::exists(options_.rootRevocationsFile))
        revocations.apply(trust::loadRevocationList(options_.rootRevocationsFile), *options_.root);
    return trust::verifyCertificate(certificate, *options_.root, wire::CertificateRole::Server, now(), &revocations);
}

trust::KnownServerCertificates HistoryStore::knownServers() const
{
    trust::KnownServerCertificates known;
    if (options_.presentedServer) known.presented = options_.presentedServer();
    if (!known.presented && !options_.serverCertificateFile.empty() && std::filesystem::exists(options_.serverCertificateFile)) {
        try {
            known.presented = trust::loadCertificate(options_.serverCertificateFile);
        } catch (const Error&) {
            // Damaged: the configured one (checked just the same) is the fallback.
        }
    }
    known.configured = options_.serverCertificate;
    return known;
}

namespace {
void requireAgreementKey(const wire::Certificate& c)
{
    if (c.agreementKey.size() != crypto::x25519KeySize)
        throw Error(ErrorCode::Unavailable, "billing: server certificate '" + c.keyId +
                                                "' has no agreement key to seal the history to");
}
} // namespace

// A leaked, revoked (or expired) server key must not read the history either: every
// candidate is checked (without a trust anchor only the configured one is used).
wire::Certificate HistoryStore::sealingCertificate() const
{
    if (!options_.root) {
        if (!options_.serverCertificate)
            throw Error(ErrorCode::Unavailable, "billing: no server certificate to seal the history to");
        requireAgreementKey(*options_.serverCertificate);
        return *options_.serverCertificate;
    }
    const auto sealable = [this](const wire::Certificate& c) {
        auto key = checkServer(c);
        requireAgreementKey(c);
        return key;
    };
    return trust::chooseServer(knownServers(), sealable, "seal the history to (plugins.billing.serverCertificate)").certificate;
}

wire::UnixTime HistoryStore::now() const
{
    if (options_.clock) return options_.clock();
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void HistoryStore::checkIntegrity() const
{
    const auto result = db_->read([](Transaction& tx) { return tx.query("PRAGMA integrity_check"); });
    if (result.empty() || result[0].text(0) != "ok")
        throw Error(ErrorCode::Storage, "billing history database is damaged: " +
                                            (result.empty() ? std::string("no answer") : result[0].text(0)));
}

void HistoryStore::writeState(Transaction& tx, const State& s, bool insert) const
{
    const Bytes mac = keys_->mac(stateBytes(s));
    const std::vector<storage::Value> values{s.deviceId,         i64(s.lastSequence), bytesOf(s.lastHash),
                                             i64(s.settledThrough), i64(s.acknowledgedThrough),
                                             s.lastSettlementId, mac};
    if (insert)
        tx.execute("INSERT INTO billing_state (device_id, last_seq, last_hash, settled_through, acknowledged_through, "
                   "last_settlement_id, mac, id) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                   values);
    else
        tx.execute("UPDATE billing_state SET device_id = ?, last_seq = ?, last_hash = ?, settled_through = ?, "
                   "acknowledged_through = ?, last_settlement_id = ?, mac = ? WHERE id = 1",
                   values);
}

State HistoryStore::state(Transaction& tx) const
{
    auto s = readState(tx);
    if (!s) throw Error(ErrorCode::BadSignature, "billing history: head (billing_state) missing");
    if (s->deviceId != identity_.deviceId)
        throw Error(ErrorCode::WrongAudience, "billing history belongs to device " + s->deviceId);
    if (!keys_->check(stateBytes(*s), s->mac))
        throw Error(ErrorCode::BadSignature, "billing history: head (billing_state) was altered");
    return *s;
}

void HistoryStore::verify() const
{
    checkIntegrity();
    db_->read([&](Transaction& tx) {
        const State s = state(tx);
        std::uint64_t expected = 1;
        Hash previous{};
        // The types too: the lookups bind integers and text, and in SQLite a value stored
        // as a BLOB equals neither while reading back the same (a hidden play).
        const std::string columns = "seq, encoded, hash, kind, amount, month, deferred, mac, ticket_id,"
                                    " typeof(kind) || typeof(amount) || typeof(month) || typeof(deferred)"
                                    " || typeof(ticket_id)";
        forEachRecord(tx, columns, INT64_MIN, kRecordPage, [&](const Row& row) {
            const std::int64_t seq = row.int64(0);
            if (seq != static_cast<std::int64_t>(expected))
                tampered(expected, "missing or out of order (found " + std::to_string(seq) + " instead)");
            const Bytes encoded = row.blob(1);
            wire::HistoryRecord record;
            try {
                record = wire::HistoryRecord::decode(encoded);
            } catch (const Error& e) {
                tampered(expected, e.what());
            }
            if (record.sequence != expected)
                tampered(expected, "holds sequence " + std::to_string(record.sequence));
            if (record.deviceId != identity_.deviceId) tampered(expected, "of device " + record.deviceId);
            if (record.previousHash != previous) tampered(expected, "does not chain to the previous record");
            const Hash hash = crypto::sha256(encoded);
            if (hashOf(row.blob(2), expected) != hash) tampered(expected, "stored hash differs from its bytes");
            if (row.text(9) != "integerintegerintegerintegertext")
                tampered(expected, "columns are stored with other types (" + row.text(9) + ")");
            if (row.int64(3) != static_cast<std::int64_t>(record.kind) || row.int64(4) != record.amount ||
                row.int64(5) != monthOf(record.recordedAt) || row.text(8) != record.ticketId)
                tampered(expected, "columns differ from the signed record");
            const bool deferred = row.int64(6) != 0;
            if (!keys_->check(recordMetaBytes(expected, hash, deferred), row.blob(7)))
                tampered(expected, "local marks were altered");
            try {
                trust::verifySignature(record, deviceKey_);
            } catch (const Error& e) {
                tampered(expected, e.what());
            }
            previous = hash;
            ++expected;
            return true;
        });
        const std::uint64_t last = expected - 1;
        if (last != s.lastSequence || previous != s.lastHash)
            throw Error(ErrorCode::BadSignature, "billing history: ends at record " + std::to_string(last) +
                                                     " but its head says " + std::to_string(s.lastSequence));
        if (s.settledThrough > last || s.acknowledgedThrough > last)
            throw Error(ErrorCode::BadSignature, "billing history: settled/acknowledged beyond the last record");
    });
}

Record HistoryStore::append(const Entry& entry) { return appendAll({entry}).at(0); }

std::vector<Record> HistoryStore::appendAll(const std::vector<Entry>& entries)
{
    if (entries.empty()) throw Error(ErrorCode::InvalidArgument, "billing: nothing to append");
    wire::Amount deferredTotal = 0;
    for (const auto& entry : entries) {
        const std::string currency = entry.currency.empty() ? options_.currency : entry.currency;
        if (currency != options_.currency)
            throw Error(ErrorCode::InvalidArgument, "billing: currency " + currency + " is not the history's (" +
                                                        options_.currency + ")");
        if (entry.amount < 0 || entry.amount > wire::maxAmount)
            throw Error(ErrorCode::InvalidArgument, "billing: amount out of range");
        if (entry.deferred && entry.kind != wire::HistoryKind::Purchase)
            throw Error(ErrorCode::InvalidArgument, "billing: only purchases can be deferred");
        if (entry.deferred) {
            deferredTotal += entry.amount;
            if (deferredTotal > wire::maxAmount) throw Error(ErrorCode::InvalidArgument, "billing: amount out of range");
        }
    }
    const wire::UnixTime clock = now();
    const auto signer = identity_.signer();

    return db_->write([&](Transaction& tx) {
        State s = state(tx);
        if (deferredTotal > 0) {
            const wire::Amount owed = outstanding(tx, s.settledThrough);
            if (deferredTotal > options_.creditLimit - owed)
                throw Error(ErrorCode::LimitExceeded,
                            "billing: a deferred purchase of " + std::to_string(deferredTotal) + " " + options_.currency +
                                " exceeds the credit limit (" +
                                std::to_string(std::max<wire::Amount>(0, options_.creditLimit - owed)) + " of " +
                                std::to_string(options_.creditLimit) + " available)");
        }
        std::vector<Record> out;
        out.reserve(entries.size());
        for (const auto& entry : entries) {
            Record record;
            auto& r = record.record;
            r.deviceId = identity_.deviceId;
            r.sequence = s.lastSequence + 1;
            r.previousHash = s.lastHash;
            r.recordedAt = entry.recordedAt != 0 ? entry.recordedAt : clock;
            r.kind = entry.kind;
            r.eventId = entry.eventId;
            r.ticketId = entry.ticketId;
            r.orderId = entry.orderId;
            r.amount = entry.amount;
            r.currency = entry.currency.empty() ? options_.currency : entry.currency;
            trust::sign(r, signer);
            record.encoded = r.encode();
            record.hash = crypto::sha256(record.encoded);
            record.deferred = entry.deferred;
            tx.execute("INSERT INTO billing_record (seq, encoded, hash, kind, amount, month, ticket_id, deferred, mac) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {i64(r.sequence), record.encoded, bytesOf(record.hash), static_cast<std::int64_t>(r.kind),
                        r.amount, monthOf(r.recordedAt), r.ticketId, entry.deferred ? 1 : 0,
                        keys_->mac(recordMetaBytes(r.sequence, record.hash, entry.deferred))});
            s.lastSequence = r.sequence;
            s.lastHash = record.hash;
            out.push_back(std::move(record));
        }
        writeState(tx, s, false);
        return out;
    });
}

Credit HistoryStore::credit() const
{
    return db_->read([&](Transaction& tx) {
        const State s = state(tx);
        Credit c;
        c.limit = options_.creditLimit;
        c.outstanding = outstanding(tx, s.settledThrough);
        c.available = std::max<wire::Amount>(0, c.limit - c.outstanding);
        c.currency = options_.currency;
        c.unsettledRecords = s.lastSequence - s.settledThrough;
        return c;
    });
}

Status HistoryStore::status() const
{
    return db_->read([&](Transaction& tx) {
        const State s = state(tx);
        return Status{s.deviceId, s.lastSequence, s.lastHash, s.settledThrough, s.acknowledgedThrough, s.lastSettlementId};
    });
}

std::vector<Record> HistoryStore::records(std::uint64_t afterSequence, std::size_t limit) const
{
    return db_->read([&](Transaction& tx) {
        const State s = state(tx);
        std::vector<Record> out;
        for (const Row& row : tx.query("SELECT " + kRecordColumns + " FROM billing_record WHERE seq > ? ORDER BY seq LIMIT ?",
                                       {i64(std::min<std::uint64_t>(afterSequence, INT64_MAX)),
                                        static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))}))
            out.push_back(toRecord(row, s.settledThrough));
        return out;
    });
}

std::vector<Record> HistoryStore::recent(std::size_t limit, std::uint64_t beforeSequence) const
{
    return db_->read([&](Transaction& tx) {
        const State s = state(tx);
        const std::int64_t before = beforeSequence == 0 ? INT64_MAX : i64(std::min<std::uint64_t>(beforeSequence, INT64_MAX));
        std::vector<Record> out;
        for (const Row& row : tx.query("SELECT " + kRecordColumns + " FROM billing_record WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                                       {before, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))}))
            out.push_back(toRecord(row, s.settledThrough));
        return out;
    });
}

std::vector<Record> HistoryStore::ofTicket(const std::string& ticketId, wire::HistoryKind kind) const
{
    return db_->read([&](Transaction& tx) {
        const State s = state(tx);
        std::vector<Record> out;
        for (const Row& row : tx.query("SELECT " + kRecordColumns +
                                           " FROM billing_record WHERE ticket_id = ? AND kind = ? ORDER BY seq",
                                       {ticketId, static_cast<std::int64_t>(kind)})) {
            auto record = toRecord(row, s.settledThrough);
            if (record.record.ticketId == ticketId && record.record.kind == kind) out.push_back(std::move(record));
        }
        return out;
    });
}

Statement HistoryStore::statement(int year, int month) const
{
    if (year < 1970 || year > 9999 || month < 1 || month > 12)
        throw Error(ErrorCode::InvalidArgument, "billing: statement month out of range");
    return db_->read([&](Transaction& tx) {
        const State s = state(tx);
        Statement st;
        st.year = year;
        st.month = month;
        st.currency = options_.currency;
        for (const Row& row : tx.query("SELECT " + kRecordColumns + " FROM billing_record WHERE month = ? ORDER BY seq",
                                       {year * 100 + month})) {
            Record r = toRecord(row, s.settledThrough);
            if (r.record.kind == wire::HistoryKind::Purchase) {
                st.purchased += r.record.amount;
                (r.settled ? st.settled : st.unsettled) += r.record.amount;
            }
            st.records.push_back(std::move(r));
        }
        return st;
    });
}

std::optional<Batch> HistoryStore::exportUnsettled(std::size_t maxBytes) const
{
    const auto server = sealingCertificate();
    // Everything but the records: two headers, the sealed box, the signature block.
    const std::size_t headerSize = 4 + 1 + 1 + identity_.deviceId.size() + 1 + server.keyId.size() + 8 + 8;
    const std::size_t fixedSize = headerSize + 4 + 4 + crypto::sealedBoxOverhead + headerSize + 32 + 8 + 4 + 1 +
                                  identity_.certificate.keyId.size() + 1 + 1 + wire::maxSignatureSize;
    std::vector<Bytes> chosen;
    db_->read([&](Transaction& tx) {
        const State s = state(tx);
        std::size_t size = fixedSize;
        forEachRecord(tx, "seq, encoded", i64(s.settledThrough), kExportPage, [&](const Row& row) {
            Bytes encoded = row.blob(1);
            if (size + 4 + encoded.size() > maxBytes || chosen.size() == kMaxBatchRecords) return false;
            size += 4 + encoded.size();
            chosen.push_back(std::move(encoded));
            return true;
        });
    });
    if (chosen.empty()) {
        if (status().lastSequence > status().settledThrough)
            throw Error(ErrorCode::LimitExceeded, "billing: not even one record fits in " + std::to_string(maxBytes) + " bytes");
        return std::nullopt;
    }
    Batch b;
    b.sealed = sealBatch(chosen, identity_, server, now());
    const auto header = peekBatch(b.sealed);
    b.firstSequence = header.firstSequence;
    b.lastSequence = header.lastSequence;
    b.recordCount = header.recordCount;
    return b;
}

Settlement HistoryStore::applySettlement(ByteView encodedResult, ByteView encodedCertificate)
{
    if (!options_.root) throw Error(ErrorCode::Unavailable, "billing: no operator trust anchor configured");
    const auto result = wire::SettlementResult::decode(encodedResult);
    // A certificate brought with the result (over the line, or by the phone) for the result's
    // signer is the one it is checked with; one for another key is of no use here (a result the
    // server kept from before a rotation comes back with its newer certificate): the known ones.
    std::optional<wire::Certificate> carried;
    if (!encodedCertificate.empty()) carried = wire::Certificate::decode(encodedCertificate);
    const auto known = carried && carried->keyId == result.signer.keyId
                           ? trust::KnownServerCertificates{std::move(carried), std::nullopt}
                           : trust::signingWith(knownServers(), result.signer.keyId);
    const auto serverKey = trust::chooseServer(known, [this](const wire::Certificate& c) { return checkServer(c); },
                                               "check settlement results with (plugins.billing.serverCertificate)")
                               .key;
    trust::verifySignature(result, serverKey);
    if (result.deviceId != identity_.deviceId)
        throw Error(ErrorCode::WrongAudience, "settlement result is for device " + result.deviceId);

    return db_->write([&](Transaction& tx) {
        if (tx.query("SELECT settled_through FROM billing_settlement WHERE settlement_id = ?", {result.settlementId}).single())
            throw Error(ErrorCode::Replayed, "settlement " + result.settlementId + " was already applied");
        State s = state(tx);
        if (result.settledThrough > s.lastSequence)
            throw Error(ErrorCode::InvalidArgument, "settlement result covers record " + std::to_string(result.settledThrough) +
                                                        " but the history ends at " + std::to_string(s.lastSequence));
        if (result.settledThrough <= s.settledThrough)
            throw Error(ErrorCode::Conflict, "settlement result through " + std::to_string(result.settledThrough) +
                                                 " is not newer than the records settled through " +
                                                 std::to_string(s.settledThrough));
        const auto row = tx.query("SELECT hash FROM billing_record WHERE seq = ?", {i64(result.settledThrough)}).single();
        if (!row || hashOf(row->blob(0), result.settledThrough) != result.lastRecordHash)
            throw Error(ErrorCode::Conflict, "settlement result's hash of record " + std::to_string(result.settledThrough) +
                                                 " differs from this history's");
        Settlement out;
        out.settlementId = result.settlementId;
        out.settledThrough = result.settledThrough;
        out.recordsSettled = result.settledThrough - s.settledThrough;
        out.creditFreed = tx.query("SELECT coalesce(sum(amount), 0) FROM billing_record WHERE seq > ? AND seq <= ? AND deferred = 1",
                                   {i64(s.settledThrough), i64(result.settledThrough)})
                              .single()
                              ->int64(0);
        s.settledThrough = result.settledThrough;
        s.acknowledgedThrough = std::max(s.acknowledgedThrough, result.settledThrough);
        s.lastSettlementId = result.settlementId;
        writeState(tx, s, false);
        tx.execute("INSERT INTO billing_settlement (settlement_id, settled_through, encoded, applied_at) VALUES (?, ?, ?, ?)",
                   {result.settlementId, i64(result.settledThrough), Bytes(encodedResult.begin(), encodedResult.end()), now()});
        return out;
    });
}

void HistoryStore::acknowledge(std::uint64_t sequence)
{
    db_->write([&](Transaction& tx) {
        State s = state(tx);
        if (sequence > s.lastSequence)
            throw Error(ErrorCode::InvalidArgument, "acknowledged sequence " + std::to_string(sequence) +
                                                        " is beyond the last record " + std::to_string(s.lastSequence));
        if (sequence < s.acknowledgedThrough)
            throw Error(ErrorCode::Conflict, "acknowledged sequence only moves forward (" + std::to_string(sequence) +
                                                 " < " + std::to_string(s.acknowledgedThrough) + ")");
        if (sequence == s.acknowledgedThrough) return;
        s.acknowledgedThrough = sequence;
        writeState(tx, s, false);
    });
}

} // namespace boxoffice::billing
