#pragma once
// The server's copy of every STB's billing history and the settlement of the
// purchases an STB made without a line (DESIGN §5 flows 5 and 6, §6).
//
//   direct upload (mTLS)      upload(deviceId, records)      -> acknowledgedThrough + result
//   carried by the phone      settleBatch(envelope, phoneId) -> result (the phone relays it back)
//
// Both paths store records per device gap-free and chained exactly as the device
// signed them: a record the server already holds must come again byte for byte,
// a new one must be the next sequence and chain to the last hash the server holds.
// Anything else (gap, chain break, rewritten record, bad signature, foreign
// device) is refused and nothing is stored. acknowledgedThrough therefore only
// moves forward.
//
// A deferred purchase (a Purchase record whose order id is empty or not an order
// this device placed online) is charged when its record is first stored: one
// posted ledger transfer "hist:<device>:<sequence>" from the device's account to
// the event's payee, in the same transaction, so once per (device, sequence)
// whatever is retried or replayed. If the wallet cannot pay (LimitExceeded) or the
// account is inhibited (PermissionDenied) the whole upload is refused and can be
// retried later.
//
// The answer is a server-signed wire::SettlementResult covering the highest
// sequence held for the device; it is made once per (device, sequence) and stored,
// so a retried or replayed upload gets the same bytes back.
//
// Reads the settlement component's tables (stl_device: account and certificate,
// stl_event: payee, stl_order: online orders, stl_phone: the phone's account).

#include <boxoffice/ledger/Ledger.h>
#include <boxoffice/serversync/ServerKeys.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/wire/HistoryRecord.h>
#include <boxoffice/wire/SettlementResult.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace boxoffice::serversync {

inline constexpr std::size_t kMaxUploadRecords = 100;   // per direct upload request

struct Outcome {
    std::uint64_t acknowledgedThrough = 0;   // highest sequence held for the device (0: none)
    std::uint64_t recordsStored = 0;         // new records stored by this call
    std::uint64_t purchasesCharged = 0;      // deferred purchases charged by this call
    Bytes result;                            // encoded wire::SettlementResult (empty while no record is held)
};

class HistorySync {
public:
    using Clock = std::function<std::int64_t()>;   // unix seconds
    static std::int64_t systemClock();

    // Migrates the "sync" schema. The settlement schema must exist on the same database.
    // `revocations`: the operator root's list (the server's), checked with the
    // certificate of each device whose history arrives; it must outlive this.
    HistorySync(ledger::Ledger& ledger, ServerKeys keys, Clock clock = &HistorySync::systemClock,
                const trust::RevocationState* revocations = nullptr);

    static const storage::Schema& schema();

    // Records the device sent directly (its mTLS identity is `deviceId`), ascending.
    // Errors, nothing stored: InvalidArgument (none, too many, not consecutive),
    // Malformed, WrongAudience (a record of another device), PermissionDenied
    // (device not registered), BadSignature, Conflict (gap, chain break, a held
    // record differs), NotFound (unknown event), LimitExceeded (wallet cannot pay).
    Outcome upload(const std::string& deviceId, const std::vector<Bytes>& encodedRecords);

    // A history batch (billing::sealBatch) carried by phone `phoneId`, who must belong
    // to the device's account. Errors as upload(), plus those of billing::openBatch.
    Outcome settleBatch(ByteView envelope, const std::string& phoneId);

    std::uint64_t acknowledgedThrough(const std::string& deviceId);
    const wire::Certificate& serverCertificate() const noexcept { return keys_.server.certificate; }

    // The §6 invariants this component owns, one line per violation: per device the
    // records are gap-free 1..acknowledgedThrough; every charged record has exactly
    // its posted ledger transfer; no settlement result beyond what is held.
    static std::vector<std::string> checkInvariants(storage::Transaction& tx);

private:
    struct Device;
    Device device(storage::Transaction& tx, const std::string& deviceId);
    Outcome store(storage::Transaction& tx, const Device& device, const std::vector<wire::HistoryRecord>& records,
                  const std::vector<Bytes>& encoded);

    ledger::Ledger& ledger_;
    storage::Database& db_;
    ServerKeys keys_;
    Clock clock_;
    const trust::RevocationState* revocations_;
};

} // namespace boxoffice::serversync
