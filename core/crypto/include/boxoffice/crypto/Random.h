#pragma once
// Cryptographically secure random bytes (OpenSSL's DRBG). Throws Error(Crypto)
// if the generator fails, never returns weak output.

#include <boxoffice/base/Bytes.h>

#include <cstddef>

namespace boxoffice::crypto {

Bytes randomBytes(std::size_t count);
void randomFill(MutableByteView out);

} // namespace boxoffice::crypto
