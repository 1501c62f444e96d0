#pragma once
// SHA-256, HMAC-SHA256 and HKDF-SHA256 (RFC 5869).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <array>
#include <cstdint>
#include <initializer_list>

namespace boxoffice::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(ByteView data);
// Digest of the concatenation of the parts (no length framing: callers that
// hash variable-length fields must frame them themselves).
Sha256Digest sha256(std::initializer_list<ByteView> parts);

Sha256Digest hmacSha256(ByteView key, ByteView data);

// HKDF extract-then-expand. `length` at most 255 * 32.
SecretBytes hkdfSha256(ByteView inputKey, ByteView salt, ByteView info, std::size_t length);

} // namespace boxoffice::crypto
