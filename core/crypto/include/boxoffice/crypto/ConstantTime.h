#pragma once
// Comparison and erasure of secrets that the compiler may not optimise away.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

namespace boxoffice::crypto {

// True when both hold the same bytes. Time depends on the length only, not on
// where the first difference is (different lengths return false at once).
bool constantTimeEqual(ByteView a, ByteView b) noexcept;

// Overwrites with zeros in a way the optimiser keeps (OPENSSL_cleanse).
void wipe(MutableByteView bytes) noexcept;

} // namespace boxoffice::crypto
