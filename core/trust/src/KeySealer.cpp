#include <boxoffice/trust/KeySealer.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Aead.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/Random.h>

#include "SecureFile.h"

namespace boxoffice::trust {

namespace {

constexpr std::size_t secretSize = 32;

ByteView asBytes(std::string_view text)
{
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

} // namespace

MachineSecretSealer::MachineSecretSealer(const std::filesystem::path& secretFile)
{
    if (!std::filesystem::exists(secretFile)) {
        crypto::SecretBytes fresh(secretSize);
        crypto::randomFill(fresh.mutableView());
        detail::writeFileAtomically(secretFile,
                                    std::string_view(reinterpret_cast<const char*>(fresh.data()), fresh.size()), true);
    }
    detail::requirePrivate(secretFile);
    std::string raw = detail::readFile(secretFile);
    const crypto::SecretBytes secret(asBytes(raw));
    crypto::wipe({reinterpret_cast<std::uint8_t*>(raw.data()), raw.size()});
    if (secret.size() < secretSize)
        throw Error(ErrorCode::Storage, "machine secret " + secretFile.string() + " is too short");
    key_ = crypto::hkdfSha256(secret, asBytes("BoxOffice key store v1"), asBytes("aes-256-gcm"), 32);
}

Bytes MachineSecretSealer::seal(ByteView secret, std::string_view label) const
{
    return crypto::AesGcm(key_).sealBox(secret, asBytes(label));
}

crypto::SecretBytes MachineSecretSealer::unseal(ByteView sealed, std::string_view label) const
{
    return crypto::AesGcm(key_).openBox(sealed, asBytes(label));
}

} // namespace boxoffice::trust
