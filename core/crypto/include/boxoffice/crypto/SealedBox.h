#pragma once
// Sealing a small secret (an event key, a message) to a device's X25519 public key,
// HPKE-style (RFC 9180 base mode in spirit, not wire-compatible):
//   ephemeral X25519 key pair (e, E); shared = X25519(e, recipient)
//   key(32) || nonce(12) = HKDF-SHA256(ikm = shared, salt = "BoxOffice sealed box v1",
//                                      info = E || recipient, 44)
//   box = E(32) || AES-256-GCM(key, nonce, plaintext, aad = context)
// The context (e.g. the ticket id) must be presented again to open: a box moved
// into another context does not open.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/crypto/X25519.h>

namespace boxoffice::crypto {

inline constexpr std::size_t sealedBoxOverhead = 32 + 16;

Bytes sealTo(const X25519PublicKey& recipient, ByteView plaintext, ByteView context);

// Error(Malformed) when too short, Error(BadSignature) when it does not open with
// this key and context.
SecretBytes openSealed(const X25519PrivateKey& recipient, ByteView box, ByteView context);

} // namespace boxoffice::crypto
