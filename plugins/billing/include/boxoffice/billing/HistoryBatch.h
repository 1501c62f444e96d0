#pragma once
// The history batch the phone carries from an STB without a line to the server
// (DESIGN §5 flow 5). The phone is an untrusted relay: the records are signed by
// the device (each record and the batch as a whole) and sealed to the server's
// X25519 agreement key, so it can delay a batch but not read, alter, forge or
// reorder it. Format (wire encoding rules of core/wire/FORMAT.md):
//
//   envelope = "BOHB" u8 version(1) | id device_id | id server_key_id
//              | u64 first_sequence | u64 last_sequence | u32 record_count
//              | bytes sealed
//   sealed   = crypto::sealTo(server agreement key, content, aad = every envelope byte before `sealed`)
//   content  = "BOHC" u8 version(1) | id device_id | id server_key_id
//              | u64 first_sequence | u64 last_sequence | fixed32 previous_hash
//              | time created_at | u32 count | count x bytes(encoded wire::HistoryRecord)
//              | id signer.key_id | u8 algorithm | u8 signature length | signature (device)
//
// The clear header lets the phone and the server route the batch; it is bound to
// the content twice (AEAD associated data and the signed copy inside).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/trust/DeviceIdentity.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/HistoryRecord.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace boxoffice::billing {

inline constexpr std::size_t kMaxBatchRecords = 10000;

struct BatchHeader {
    std::string deviceId;
    std::string serverKeyId;   // the server certificate's key id the batch is sealed to
    std::uint64_t firstSequence = 0;
    std::uint64_t lastSequence = 0;
    std::uint32_t recordCount = 0;
};

struct OpenedBatch {
    BatchHeader header;
    std::array<std::uint8_t, 32> previousHash{};   // what the first record chains to
    wire::UnixTime createdAt = 0;                  // device clock, advisory
    std::vector<wire::HistoryRecord> records;      // consecutive, verified
    std::vector<Bytes> encoded;                    // their canonical bytes
    std::array<std::uint8_t, 32> lastHash{};       // sha256 of the last record: SettlementResult.lastRecordHash
};

// Seals consecutive encoded records (already signed by `device`). Error(Unavailable)
// when the server certificate has no agreement key, Error(InvalidArgument) for an
// empty, non-consecutive or foreign run.
Bytes sealBatch(const std::vector<Bytes>& encodedRecords, const trust::DeviceIdentity& device,
                const wire::Certificate& serverCertificate, wire::UnixTime createdAt);

// The clear header, without opening anything (Error(Malformed)).
BatchHeader peekBatch(ByteView envelope);

// Server side: opens and verifies everything (batch signature, each record's
// signature, device id, consecutive sequences, the chain inside the batch). The
// caller compares previousHash with what it already holds for the device.
// Errors: Malformed, UnsupportedVersion, BadSignature (does not open / bad signature),
// WrongAudience (sealed to another server key or records of another device), Conflict
// (sequence or chain break inside the batch).
OpenedBatch openBatch(ByteView envelope, const crypto::X25519PrivateKey& serverAgreementKey,
                      const std::string& serverKeyId, const trust::VerifyingKey& deviceKey);

} // namespace boxoffice::billing
