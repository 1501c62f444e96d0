#include <boxoffice/crypto/Random.h>

#include "OpenSsl.h"

#include <openssl/rand.h>

namespace boxoffice::crypto {

void randomFill(MutableByteView out)
{
    // RAND_bytes takes an int length: fill in chunks.
    constexpr std::size_t chunk = 1 << 20;
    for (std::size_t pos = 0; pos < out.size(); pos += chunk) {
        const std::size_t n = std::min(chunk, out.size() - pos);
        if (RAND_bytes(out.data() + pos, static_cast<int>(n)) != 1) ossl::fail("random generator");
    }
}

Bytes randomBytes(std::size_t count)
{
    Bytes out(count);
    randomFill(out);
    return out;
}

} // namespace boxoffice::crypto
