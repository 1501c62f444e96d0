#include <boxoffice/serversync/HistorySync.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/billing/HistoryBatch.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/ledger/Types.h>
#include <boxoffice/trust/Signing.h>

#include <chrono>
#include <optional>

namespace boxoffice::serversync {

using storage::Transaction;

namespace {

using Hash = std::array<std::uint8_t, 32>;

std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

Hash hashOf(ByteView encoded) { return crypto::sha256(encoded); }

Hash toHash(const Bytes& bytes)
{
    Hash h{};
    if (bytes.size() != h.size()) throw Error(ErrorCode::Storage, "sync: stored hash has the wrong size");
    std::copy(bytes.begin(), bytes.end(), h.begin());
    return h;
}

Bytes fromHash(const Hash& h) { return Bytes(h.begin(), h.end()); }

// The ledger transfer of a deferred purchase: one id per (device, sequence).
std::string transferIdFor(const std::string& deviceId, std::uint64_t sequence)
{
    std::string id = "hist:" + deviceId + ":" + std::to_string(sequence);
    try {
        ledger::checkId(id, "transfer id");
        return id;
    } catch (const Error&) {
        // Device ids may hold characters (or a length) the ledger's ids do not allow.
        const std::string_view text(deviceId);
        const auto digest = crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
        return "hist:" + toHex(ByteView(digest.data(), 16)) + ":" + std::to_string(sequence);
    }
}

std::string settlementIdFor(const std::string& deviceId, std::uint64_t sequence)
{
    const std::string_view text(deviceId);
    const auto digest = crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    return "settle-" + toHex(ByteView(digest.data(), 12)) + "-" + std::to_string(sequence);
}

std::uint64_t heldThrough(Transaction& tx, const std::string& deviceId)
{
    auto row = tx.query("SELECT last_sequence FROM sync_device WHERE device_id = ?", {deviceId}).single();
    return row ? static_cast<std::uint64_t>(row->int64(0)) : 0;
}

} // namespace

struct HistorySync::Device {
    std::string deviceId;
    std::string accountId;
    trust::VerifyingKey key;
};

std::int64_t HistorySync::systemClock()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const storage::Schema& HistorySync::schema()
{
    static const storage::Schema schema{
        "sync",
        {
            {"history records and settlement results",
             {"CREATE TABLE sync_device (device_id {text} PRIMARY KEY, last_sequence {int64} NOT NULL,"
              " last_hash {blob} NOT NULL, settled_through {int64} NOT NULL, updated_at {int64} NOT NULL)",
              "CREATE TABLE sync_record (device_id {text} NOT NULL, sequence {int64} NOT NULL,"
              " record {blob} NOT NULL, hash {blob} NOT NULL, kind {text} NOT NULL, event_id {text} NOT NULL,"
              " amount {int64} NOT NULL, currency {text} NOT NULL, transfer_id {text} UNIQUE,"
              " stored_at {int64} NOT NULL, PRIMARY KEY (device_id, sequence))",
              "CREATE TABLE sync_settlement (settlement_id {text} PRIMARY KEY, device_id {text} NOT NULL,"
              " settled_through {int64} NOT NULL, result {blob} NOT NULL, created_at {int64} NOT NULL,"
              " UNIQUE (device_id, settled_through))"}},
        }};
    return schema;
}

HistorySync::HistorySync(ledger::Ledger& ledger, ServerKeys keys, Clock clock, const trust::RevocationState* revocations)
    : ledger_(ledger), db_(ledger.database()), keys_(std::move(keys)), clock_(std::move(clock)), revocations_(revocations)
{
    db_.migrate(schema());
}

HistorySync::Device HistorySync::device(Transaction& tx, const std::string& deviceId)
{
    auto row = tx.query("SELECT account_id, certificate FROM stl_device WHERE device_id = ?", {deviceId}).single();
    if (!row) throw Error(ErrorCode::PermissionDenied, "device " + deviceId + " is not registered");
    const auto certificate = wire::Certificate::decode(row->blob(1));
    // The key that signed the history must still be one the operator vouches for.
    auto key = trust::verifyCertificate(certificate, keys_.root, wire::CertificateRole::Device, clock_(), revocations_);
    return Device{deviceId, row->text(0), std::move(key)};
}

std::uint64_t HistorySync::acknowledgedThrough(const std::string& deviceId)
{
    return db_.read([&](Transaction& tx) { return heldThrough(tx, deviceId); });
}

Outcome HistorySync::upload(const std::string& deviceId, const std::vector<Bytes>& encodedRecords)
{
    if (encodedRecords.empty()) throw Error(ErrorCode::InvalidArgument, "no history records to upload");
    if (encodedRecords.size() > kMaxUploadRecords)
        throw Error(ErrorCode::InvalidArgument,
                    "at most " + std::to_string(kMaxUploadRecords) + " history records per upload");
    std::vector<wire::HistoryRecord> records;
    records.reserve(encodedRecords.size());
    for (const auto& encoded : encodedRecords) {
        records.push_back(wire::HistoryRecord::decode(encoded));
        const auto& r = records.back();
        if (r.deviceId != deviceId)
            throw Error(ErrorCode::WrongAudience, "history record " + std::to_string(r.sequence) + " is of device " +
                                                      r.deviceId + ", not of the uploading device " + deviceId);
        if (records.size() > 1 && r.sequence != records[records.size() - 2].sequence + 1)
            throw Error(ErrorCode::InvalidArgument, "history records must be consecutive (record " +
                                                        std::to_string(r.sequence) + " follows " +
                                                        std::to_string(records[records.size() - 2].sequence) + ")");
    }
    return db_.write([&](Transaction& tx) {
        const Device d = device(tx, deviceId);
        for (const auto& r : records) trust::verifySignature(r, d.key);
        return store(tx, d, records, encodedRecords);
    });
}

Outcome HistorySync::settleBatch(ByteView envelope, const std::string& phoneId)
{
    const auto header = billing::peekBatch(envelope);
    return db_.write([&](Transaction& tx) {
        const Device d = device(tx, header.deviceId);
        auto phone = tx.query("SELECT account_id FROM stl_phone WHERE phone_id = ?", {phoneId}).single();
        if (!phone) throw Error(ErrorCode::PermissionDenied, "phone " + phoneId + " is not registered");
        if (phone->text(0) != d.accountId)
            throw Error(ErrorCode::PermissionDenied,
                        "phone " + phoneId + " may not carry the history of device " + d.deviceId + " (another account)");
        // Sealed to the current key, or to one rotated out (the box had not learnt the new one).
        const auto opened =
            billing::openBatch(envelope, keys_.agreement.forKeyId(header.serverKeyId), header.serverKeyId, d.key);
        // The batch's chain must continue what the server holds: its first record's
        // predecessor is checked here, the records themselves in store().
        const auto first = opened.header.firstSequence;
        if (first > 1) {
            auto prev = tx.query("SELECT hash FROM sync_record WHERE device_id = ? AND sequence = ?",
                                 {d.deviceId, i64(first - 1)})
                            .single();
            if (!prev)
                throw Error(ErrorCode::Conflict, "history batch starts at record " + std::to_string(first) +
                                                     " but the server holds records only through " +
                                                     std::to_string(heldThrough(tx, d.deviceId)) +
                                                     " (an earlier batch is missing)");
            if (toHash(prev->blob(0)) != opened.previousHash)
                throw Error(ErrorCode::Conflict, "history batch does not chain to record " + std::to_string(first - 1) +
                                                     " the server holds");
        }
        return store(tx, d, opened.records, opened.encoded);
    });
}

Outcome HistorySync::store(Transaction& tx, const Device& d, const std::vector<wire::HistoryRecord>& records,
                           const std::vector<Bytes>& encoded)
{
    const auto now = clock_();
    std::uint64_t last = 0;
    Hash lastHash{};
    std::uint64_t settledThrough = 0;
    bool known = false;
    if (auto row = tx.query("SELECT last_sequence, last_hash, settled_through FROM sync_device WHERE device_id = ?",
                            {d.deviceId})
                       .single()) {
        known = true;
        last = static_cast<std::uint64_t>(row->int64(0));
        lastHash = toHash(row->blob(1));
        settledThrough = static_cast<std::uint64_t>(row->int64(2));
    }

    Outcome out;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        const auto seq = std::to_string(r.sequence);
        if (r.sequence <= last) {
            // Already held (a retry, an overlapping batch): it must be the very same record.
            auto held = tx.query("SELECT record FROM sync_record WHERE device_id = ? AND sequence = ?",
                                 {d.deviceId, i64(r.sequence)})
                            .single();
            if (!held || held->blob(0) != encoded[i])
                throw Error(ErrorCode::Conflict, "history record " + seq + " of " + d.deviceId +
                                                     " differs from the one the server holds");
            continue;
        }
        if (r.sequence != last + 1)
            throw Error(ErrorCode::Conflict, "history gap: the server holds records of " + d.deviceId + " through " +
                                                 std::to_string(last) + ", the upload continues at " + seq);
        if (r.previousHash != lastHash)
            throw Error(ErrorCode::Conflict, "history chain break at record " + seq + " of " + d.deviceId);

        std::optional<std::string> transferId;
        if (r.kind == wire::HistoryKind::Purchase) {
            // Bought online (flow 3): the record must be that order's, and the order paid.
            auto online = r.orderId.empty()
                              ? std::nullopt
                              : tx.query("SELECT event_id, amount, currency, state FROM stl_order"
                                         " WHERE order_id = ? AND device_id = ?",
                                         {r.orderId, d.deviceId})
                                    .single();
            if (online) {
                if (online->text(0) != r.eventId || online->int64(1) != r.amount || online->text(2) != r.currency)
                    throw Error(ErrorCode::Conflict, "history record " + seq + " of " + d.deviceId + " names order " +
                                                         r.orderId + ", which bought " + online->text(0) + " for " +
                                                         std::to_string(online->int64(1)) + " " + online->text(2));
                const auto state = online->text(3);
                if (state != "approved" && state != "closed" && state != "refunded")
                    throw Error(ErrorCode::Conflict, "history record " + seq + " of " + d.deviceId + " names order " +
                                                         r.orderId + ", which was not paid (" + state + ")");
            } else {
                auto event = tx.query("SELECT payee, price, currency FROM stl_event WHERE event_id = ?", {r.eventId})
                                 .single();
                if (!event)
                    throw Error(ErrorCode::NotFound, "history record " + seq + " buys unknown event " + r.eventId);
                // The box names the amount it charged; it must be a price the operator had set
                // for the event by the time of the record. Not only today's: a box without a
                // line buys from the catalog it last synced, and a record refused here would
                // hold back every later one of its chain for good.
                const bool published =
                    tx.query("SELECT 1 FROM stl_event_price WHERE event_id = ? AND price = ? AND currency = ?"
                             " AND since <= ? LIMIT 1",
                             {r.eventId, r.amount, r.currency, static_cast<std::int64_t>(r.recordedAt)})
                        .single()
                        .has_value();
                if (!published)
                    throw Error(ErrorCode::InvalidArgument,
                                "history record " + seq + " of " + d.deviceId + " charges " + std::to_string(r.amount) +
                                    " " + r.currency + " for " + r.eventId + ", which is no price it had by then"
                                    " (its price is " + std::to_string(event->int64(1)) + " " + event->text(2) + ")");
                // A purchase that names its ticket must name the dormant ticket issued to this box
                // for this event (flow 5); an unnamed one is the box's signed word alone.
                if (!r.ticketId.empty()) {
                    auto dormant = tx.query("SELECT event_id FROM stl_dormant WHERE ticket_id = ? AND device_id = ?",
                                            {r.ticketId, d.deviceId})
                                       .single();
                    if (!dormant || dormant->text(0) != r.eventId)
                        throw Error(ErrorCode::Conflict, "history record " + seq + " of " + d.deviceId + " names ticket " +
                                                             r.ticketId + ", not a dormant ticket of " + r.eventId +
                                                             " issued to it");
                }
                transferId = transferIdFor(d.deviceId, r.sequence);
                ledger_.create(tx, {*transferId, d.accountId, event->text(0), r.amount, r.currency, 0,
                                    "deferred purchase of " + r.eventId + ", history record " + seq + " of " +
                                        d.deviceId});
                ++out.purchasesCharged;
            }
        }
        const Hash hash = hashOf(encoded[i]);
        tx.execute("INSERT INTO sync_record (device_id, sequence, record, hash, kind, event_id, amount, currency,"
                   " transfer_id, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {d.deviceId, i64(r.sequence), encoded[i], fromHash(hash), std::string(wire::toString(r.kind)),
                    r.eventId, r.amount, r.currency, transferId, now});
        last = r.sequence;
        lastHash = hash;
        ++out.recordsStored;
    }
    out.acknowledgedThrough = last;
    if (out.recordsStored > 0) {
        if (known)
            tx.execute("UPDATE sync_device SET last_sequence = ?, last_hash = ?, updated_at = ? WHERE device_id = ?",
                       {i64(last), fromHash(lastHash), now, d.deviceId});
        else
            tx.execute("INSERT INTO sync_device (device_id, last_sequence, last_hash, settled_through, updated_at)"
                       " VALUES (?, ?, ?, 0, ?)",
                       {d.deviceId, i64(last), fromHash(lastHash), now});
    }
    if (last == 0) return out;

    // One signed result per (device, sequence): a retry or a replay gets the same bytes.
    if (auto held = tx.query("SELECT result FROM sync_settlement WHERE device_id = ? AND settled_through = ?",
                             {d.deviceId, i64(last)})
                        .single()) {
        out.result = held->blob(0);
        return out;
    }
    wire::SettlementResult result;
    result.settlementId = settlementIdFor(d.deviceId, last);
    result.deviceId = d.deviceId;
    result.settledThrough = last;
    result.lastRecordHash = lastHash;
    auto covered = tx.query("SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN transfer_id IS NULL THEN 0 ELSE amount END), 0) AS BIGINT)"
                            " FROM sync_record WHERE device_id = ? AND sequence > ? AND sequence <= ?",
                            {d.deviceId, i64(settledThrough), i64(last)})
                       .single();
    result.recordCount = static_cast<std::uint32_t>(covered->int64(0));
    result.totalAmount = covered->int64(1);
    // Everything charged went to the device's account, in its currency (the ledger refuses
    // any other); the records' own currencies include plays and online purchases.
    const auto account = ledger_.findAccount(tx, d.accountId);
    if (!account) throw Error(ErrorCode::Internal, "the account of " + d.deviceId + " vanished");
    result.currency = account->spec.currency;
    result.settledAt = now;
    trust::sign(result, keys_.server.key);
    out.result = result.encode();
    tx.execute("INSERT INTO sync_settlement (settlement_id, device_id, settled_through, result, created_at)"
               " VALUES (?, ?, ?, ?, ?)",
               {result.settlementId, d.deviceId, i64(last), out.result, now});
    tx.execute("UPDATE sync_device SET settled_through = ? WHERE device_id = ?", {i64(last), d.deviceId});
    return out;
}

std::vector<std::string> HistorySync::checkInvariants(Transaction& tx)
{
    std::vector<std::string> bad;
    for (const auto& row : tx.query("SELECT d.device_id, d.last_sequence, d.settled_through, COUNT(r.sequence),"
                                    " COALESCE(MIN(r.sequence), 0), COALESCE(MAX(r.sequence), 0)"
                                    " FROM sync_device d LEFT JOIN sync_record r ON r.device_id = d.device_id"
                                    " GROUP BY d.device_id, d.last_sequence, d.settled_through")) {
        const auto device = row.text(0);
        const auto last = row.int64(1);
        if (row.int64(3) != last || (last > 0 && (row.int64(4) != 1 || row.int64(5) != last)))
            bad.push_back("sync: records of " + device + " are not exactly 1.." + std::to_string(last));
        if (row.int64(2) > last)
            bad.push_back("sync: " + device + " settled through " + std::to_string(row.int64(2)) + " beyond record " +
                          std::to_string(last));
    }
    for (const auto& row : tx.query("SELECT r.device_id, r.sequence, r.amount, r.currency, t.id, t.amount, t.currency,"
                                    " t.state FROM sync_record r LEFT JOIN ledger_transfer t ON t.id = r.transfer_id"
                                    " WHERE r.transfer_id IS NOT NULL")) {
        const auto what = "sync: record " + std::to_string(row.int64(1)) + " of " + row.text(0);
        if (row.isNull(4))
            bad.push_back(what + " has no ledger transfer");
        else if (row.int64(5) != row.int64(2) || row.text(6) != row.text(3) || row.text(7) != "posted")
            bad.push_back(what + " does not match its posted ledger transfer");
    }
    for (const auto& row : tx.query("SELECT s.settlement_id FROM sync_settlement s LEFT JOIN sync_device d"
                                    " ON d.device_id = s.device_id WHERE d.device_id IS NULL"
                                    " OR s.settled_through > d.last_sequence"))
        bad.push_back("sync: settlement " + row.text(0) + " covers records the server does not hold");
    return bad;
}

} // namespace boxoffice::serversync
