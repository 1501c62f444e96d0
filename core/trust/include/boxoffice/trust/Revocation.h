#pragma once
// The revocations currently in force: the newest root-signed revocation list.

#include <boxoffice/trust/Certificates.h>
#include <boxoffice/wire/RevocationList.h>

#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace boxoffice::trust {

class RevocationState {
public:
    // Verifies the list's signature by `signer` (the root, or a server key the root
    // certified: Ed25519 or P-256) and replaces the current one. Errors: its
    // signature (see Signing.h), Replayed when its sequence is not higher than the
    // current one's. Nothing changes on error.
    void apply(const wire::RevocationList& list, const VerifyingKey& signer);
    void apply(const wire::RevocationList& list, const TrustAnchor& root) { apply(list, root.verifyingKey()); }

    bool isKeyRevoked(std::string_view keyId) const;
    bool isDeviceRevoked(std::string_view deviceId) const;
    bool isTicketRevoked(std::string_view ticketId) const;
    std::uint64_t sequence() const;   // 0 before any list

private:
    mutable std::mutex mutex_;
    std::uint64_t sequence_ = 0;
    std::set<std::string, std::less<>> keys_, devices_, tickets_;
};

} // namespace boxoffice::trust
