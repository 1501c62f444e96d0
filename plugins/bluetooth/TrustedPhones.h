#pragma once
// The phones that completed application pairing. Each entry holds the phone's
// pairing key, as sensitive as the device's own keys, so the list is kept the
// way the key store keeps those: one file sealed by the STB's trust::KeySealer
// (AES-256-GCM under the machine secret, or a TEE), mode 0600, replaced
// atomically by rename.
//
// A list that does not open (tampered with, sealed under another machine
// secret, truncated, malformed) is refused: it is moved aside to
// `<file>.rejected`, the STB starts with no trusted phone and problem() says
// why. A plaintext list of an older version (`trusted-phones.json`) is refused
// too and erased: sealing it would accept phones that anyone able to write the
// data directory could have planted. The phones pair again.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/trust/KeySealer.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::plugins::bluetooth {

struct TrustedPhone {
    std::string id;
    std::string name;
    Bytes publicKey;                 // 65-byte SEC1 P-256
    crypto::SecretBytes pairingKey;  // 32 bytes
    std::int64_t pairedAt = 0;       // Unix seconds
};

class TrustedPhones {
public:
    // The sealing label: a blob sealed for another item does not open as this list.
    static constexpr const char* kLabel = "bluetooth.trusted-phones.v2";

    // Loads `file` if it exists, refusing it (see above) when it does not open;
    // `legacyPlaintext` is where older versions kept the list unsealed.
    // Error(Storage) only when a refused file cannot be moved aside or erased.
    TrustedPhones(std::filesystem::path file, std::shared_ptr<const trust::KeySealer> sealer,
                  std::filesystem::path legacyPlaintext = {});

    // Why a list found on disk was refused at start-up; empty when none was.
    const std::string& problem() const { return problem_; }

    std::optional<TrustedPhone> find(const std::string& id) const;
    std::vector<TrustedPhone> list() const;
    bool empty() const;
    // Adds or replaces (same id) and persists; Error(Storage) when it cannot write.
    void add(TrustedPhone phone);
    // Removes and persists; false when unknown.
    bool remove(const std::string& id);

private:
    void load();
    void refuseLegacy();
    void save() const;

    std::filesystem::path file_;
    std::filesystem::path legacy_;
    std::shared_ptr<const trust::KeySealer> sealer_;
    std::string problem_;
    mutable std::mutex mutex_;
    std::vector<TrustedPhone> phones_;
};

} // namespace boxoffice::plugins::bluetooth
