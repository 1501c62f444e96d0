#pragma once
// The STB key store: the device identity and unwrapped event keys, each sealed by a
// KeySealer into its own file (directory 0700, files 0600). Key material is never
// logged; log lines name items by id only. Thread-safe.

#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/trust/DeviceIdentity.h>
#include <boxoffice/trust/KeySealer.h>
#include <boxoffice/wire/Types.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::trust {

class KeyStore {
public:
    KeyStore(std::filesystem::path directory, std::shared_ptr<const KeySealer> sealer);

    bool hasDeviceIdentity() const;
    void putDeviceIdentity(const DeviceIdentity& identity);
    DeviceIdentity deviceIdentity() const;   // Error(NotFound) when not provisioned

    // Event keys by event key id, kept until `expires` (removeExpired drops them).
    void putEventKey(std::string_view eventKeyId, ByteView key, wire::UnixTime expires);
    std::optional<crypto::SecretBytes> eventKey(std::string_view eventKeyId) const;
    void removeEventKey(std::string_view eventKeyId);
    std::size_t removeExpired(wire::UnixTime now);
    std::vector<std::string> eventKeyIds() const;

private:
    std::filesystem::path directory_;
    std::shared_ptr<const KeySealer> sealer_;
    mutable std::mutex mutex_;
};

} // namespace boxoffice::trust
