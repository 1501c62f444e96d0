#pragma once
// Vocabulary shared by every wire object: times, object types, signature
// algorithms and the signer block.

#include <cstdint>
#include <string>
#include <string_view>

namespace boxoffice::wire {

// Seconds since 1970-01-01 UTC. Authoritative values come from the server.
using UnixTime = std::int64_t;
inline constexpr UnixTime maxTime = 253402300799;  // 9999-12-31T23:59:59Z: the latest time an object can carry

// Money in minor units of `currency` (cents); never negative on the wire.
using Amount = std::int64_t;
inline constexpr Amount maxAmount = 1'000'000'000'000'000;

// First byte of every encoded object.
enum class ObjectType : std::uint8_t {
    Certificate = 1,
    Ticket = 2,
    Order = 3,
    Approval = 4,
    Receipt = 5,
    Acknowledgement = 6,
    Voucher = 7,
    SettlementResult = 8,
    HistoryRecord = 9,
    TrustedTime = 10,
    RevocationList = 11,
};
std::string_view toString(ObjectType type) noexcept;   // "ticket", ...; "" if unknown

// One algorithm per key id: a verifier rejects a signature whose declared
// algorithm differs from the algorithm registered for the key.
enum class SignatureAlgorithm : std::uint8_t {
    Ed25519 = 1,
    EcdsaP256Sha256 = 2,   // raw r || s, SHA-256
};
std::string_view toString(SignatureAlgorithm algorithm) noexcept;   // "ed25519", "ecdsa-p256-sha256"

// Who signed: part of the signed bytes.
struct Signer {
    std::string keyId;
    SignatureAlgorithm algorithm = SignatureAlgorithm::Ed25519;

    friend bool operator==(const Signer&, const Signer&) = default;
};

// Limits shared by all objects.
inline constexpr std::size_t maxIdSize = 64;          // ids: [A-Za-z0-9._:@/+-]{1,64}
inline constexpr std::size_t maxSignatureSize = 128;

// True for a well-formed id (non-empty, at most maxIdSize, allowed characters only).
bool isValidId(std::string_view id) noexcept;
// Error(InvalidArgument) naming `what` when !isValidId(id): for ids that must
// later fit into a wire object (tickets, ledger transfer ids built from them).
void checkId(std::string_view id, std::string_view what);

} // namespace boxoffice::wire
