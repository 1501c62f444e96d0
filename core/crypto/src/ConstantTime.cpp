#include <boxoffice/crypto/ConstantTime.h>

#include <openssl/crypto.h>

namespace boxoffice::crypto {

bool constantTimeEqual(ByteView a, ByteView b) noexcept
{
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void wipe(MutableByteView bytes) noexcept
{
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

} // namespace boxoffice::crypto
