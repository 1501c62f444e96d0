#pragma once
// The STB billing history, published by the `billing` plugin for ppv and sync:
//
//   auto history = context.services().require<billing::History>();
//   history->append({wire::HistoryKind::Purchase, "ev-1", "t-1", "o-1", 450, "EUR", 0, true});
//   if (auto batch = history->exportUnsettled(15 * 1024)) send(batch->sealed);   // to the phone
//   history->applySettlement(resultBytes);                                        // from the phone
//
// Every record is a signed wire::HistoryRecord with gap-free sequence numbers and a
// hash chain; a record exists (and append returns) only once its transaction is
// committed with synchronous=FULL. Records are marked settled ONLY by a verified
// server-signed wire::SettlementResult. All methods are thread-safe and throw
// boxoffice::Error; a throwing call changes nothing.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/wire/HistoryRecord.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::billing {

using Hash = std::array<std::uint8_t, 32>;   // SHA-256 of a record's full encoding

// What a caller records; the history adds device id, sequence, chain and signature.
struct Entry {
    wire::HistoryKind kind = wire::HistoryKind::Purchase;
    std::string eventId;
    std::string ticketId;             // may be empty
    std::string orderId;              // may be empty
    wire::Amount amount = 0;
    std::string currency;             // empty: the history's currency; another one is refused
    wire::UnixTime recordedAt = 0;    // server time if known; 0: the device clock
    // True for a purchase made without a line (flow 5): unpaid until a settlement
    // result covers it, so it counts against the credit limit.
    bool deferred = false;
};

struct Record {
    wire::HistoryRecord record;       // as signed
    Bytes encoded;                    // the canonical bytes: the source of truth
    Hash hash{};                      // sha256(encoded); the next record's previousHash
    bool deferred = false;
    bool settled = false;             // sequence <= settledThrough
};

struct Credit {
    wire::Amount limit = 0;
    wire::Amount outstanding = 0;     // deferred purchases not yet settled
    wire::Amount available = 0;       // limit - outstanding (never negative)
    std::string currency;
    std::uint64_t unsettledRecords = 0;  // every record after settledThrough
};

struct Status {
    std::string deviceId;
    std::uint64_t lastSequence = 0;   // 0: empty history
    Hash lastHash{};                  // zeros when empty
    std::uint64_t settledThrough = 0;
    std::uint64_t acknowledgedThrough = 0;
    std::string lastSettlementId;
};

// Unsettled records signed by the device and sealed to the server (see HistoryBatch.h);
// the fields match bluetooth::HistoryHandoffBody.
struct Batch {
    std::uint64_t firstSequence = 0;
    std::uint64_t lastSequence = 0;
    std::uint32_t recordCount = 0;
    Bytes sealed;
};

struct Settlement {
    std::string settlementId;
    std::uint64_t settledThrough = 0;
    std::uint64_t recordsSettled = 0; // newly settled by this result
    wire::Amount creditFreed = 0;
};

struct Statement {
    int year = 0;
    int month = 0;                    // 1..12, UTC by recordedAt
    std::vector<Record> records;      // ascending sequence
    wire::Amount purchased = 0;       // purchases of the month
    wire::Amount settled = 0;         // of which settled
    wire::Amount unsettled = 0;
    std::string currency;
};

class History {
public:
    static constexpr const char* kServiceId = "boxoffice.billing.History/1";

    virtual ~History() = default;

    // Appends one signed, chained record and returns it after the commit. Errors:
    // LimitExceeded (a deferred purchase above the available credit), InvalidArgument
    // (bad ids, amount, currency).
    virtual Record append(const Entry& entry) = 0;
    // Appends several records in one transaction: all or none (e.g. a purchase and its
    // first play). The credit check covers their deferred total.
    virtual std::vector<Record> appendAll(const std::vector<Entry>& entries) = 0;

    virtual Credit credit() const = 0;
    virtual Status status() const = 0;

    // Records with sequence > afterSequence, ascending, at most `limit`.
    virtual std::vector<Record> records(std::uint64_t afterSequence, std::size_t limit) const = 0;
    // The newest records first, with sequence < beforeSequence (0: from the newest).
    virtual std::vector<Record> recent(std::size_t limit, std::uint64_t beforeSequence = 0) const = 0;
    // The ticket's records of one kind, ascending (e.g. its plays: when a rental's window
    // started, how many of its views are used). Reads every record of that kind.
    virtual std::vector<Record> ofTicket(const std::string& ticketId, wire::HistoryKind kind) const = 0;
    virtual Statement statement(int year, int month) const = 0;

    // The oldest unsettled records (from settledThrough + 1) that fit in `maxBytes`
    // once sealed; nothing when every record is settled. Error(Unavailable) without a
    // server certificate that has an agreement key, Error(LimitExceeded) when not even
    // one record fits.
    virtual std::optional<Batch> exportUnsettled(std::size_t maxBytes) const = 0;

    // Verifies a server-signed wire::SettlementResult and marks the records it covers
    // settled, freeing their credit. `serverCertificate` (encoded wire::Certificate,
    // optional: the one that came with the result) is the one used when it is for the
    // result's signer; otherwise the known ones under that key id are. Whichever is used
    // is checked against the operator root. It is not kept. Errors, nothing changed:
    //   Malformed                                   does not decode
    //   PermissionDenied / Expired / NotYetValid    server certificate not valid under the root
    //   NotFound                                    signed under another key id than the certificate's
    //   BadSignature                                altered or forged
    //   WrongAudience                               for another device
    //   Replayed                                    this settlement id was already applied
    //   Conflict                                    not newer than settledThrough, or its
    //                                               lastRecordHash differs from our record's
    //   InvalidArgument                             covers sequences this device never wrote
    //   Unavailable                                 no trust anchor / server certificate configured
    virtual Settlement applySettlement(ByteView result, ByteView serverCertificate = {}) = 0;

    // Records the server acknowledged over a direct sync. Only moves forward: a lower
    // value is Error(Conflict), the same one is a no-op, one above lastSequence
    // Error(InvalidArgument). Acknowledging does not settle.
    virtual void acknowledge(std::uint64_t sequence) = 0;
};

} // namespace boxoffice::billing
