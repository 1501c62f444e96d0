#pragma once
// The phones that completed application pairing, persisted as JSON in the
// plugin's data directory (mode 0600, replaced atomically by rename).
//
// The file holds each phone's pairing key: it is as sensitive as the device's
// own keys. It moves behind the device key store once that service exists.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <cstdint>
#include <filesystem>
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
    // Loads the file if it exists; Error(Storage) naming the problem when it is corrupt.
    explicit TrustedPhones(std::filesystem::path file);

    std::optional<TrustedPhone> find(const std::string& id) const;
    std::vector<TrustedPhone> list() const;
    bool empty() const;
    // Adds or replaces (same id) and persists; Error(Storage) when it cannot write.
    void add(TrustedPhone phone);
    // Removes and persists; false when unknown.
    bool remove(const std::string& id);

private:
    void save() const;

    std::filesystem::path file_;
    mutable std::mutex mutex_;
    std::vector<TrustedPhone> phones_;
};

} // namespace boxoffice::plugins::bluetooth
