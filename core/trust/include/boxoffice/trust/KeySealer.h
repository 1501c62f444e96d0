#pragma once
// What protects keys at rest. The default derives its key from a machine secret
// file; a TEE or secure-element implementation replaces it behind this interface.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <filesystem>
#include <string_view>

namespace boxoffice::trust {

class KeySealer {
public:
    virtual ~KeySealer() = default;
    // `label` names the item (bound as associated data: a sealed blob does not open
    // under another label).
    virtual Bytes seal(ByteView secret, std::string_view label) const = 0;
    // Error(BadSignature) when tampered with or sealed under another label or secret.
    virtual crypto::SecretBytes unseal(ByteView sealed, std::string_view label) const = 0;
};

// AES-256-GCM under HKDF-SHA256(machine secret). The secret file (32 random bytes,
// mode 0600) is created when missing; a file with wider permissions is refused.
class MachineSecretSealer final : public KeySealer {
public:
    explicit MachineSecretSealer(const std::filesystem::path& secretFile);

    Bytes seal(ByteView secret, std::string_view label) const override;
    crypto::SecretBytes unseal(ByteView sealed, std::string_view label) const override;

private:
    crypto::SecretBytes key_;
};

} // namespace boxoffice::trust
