#pragma once
// The revocations currently in force, from two signers kept apart:
//   - the operator root's newest list (boxoffice-keytool revoke): keys, devices, tickets;
//   - the companion server's newest list (refunds): tickets only.
// Each has its own sequence, so neither list can replace or hold back the other
// (a server list must not un-revoke a root-revoked key; a high root sequence must
// not make the server's refunds wait). Queries answer from both.

#include <boxoffice/trust/Certificates.h>
#include <boxoffice/wire/RevocationList.h>

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace boxoffice::trust {

// Signature checks without state, for callers that keep lists before applying them
// (the STB's sync plugin). Errors: its signature (see Signing.h); for the server's
// list also PermissionDenied when it names keys or devices (only the root may).
void verifyRootRevocations(const wire::RevocationList& list, const TrustAnchor& root);
void verifyServerRevocations(const wire::RevocationList& list, const VerifyingKey& serverKey);

// The root's list held, read at one instant (one lock: sequence and nextUpdate belong together).
struct RootListStatus {
    std::uint64_t sequence = 0;        // 0: no root list held
    // When that list says a newer one is due (Unix time; 0 without a list). A list past it
    // is still applied: it revokes less than a newer one would, never more.
    wire::UnixTime nextUpdate = 0;
    // How long ago (>= 0) it was due to be replaced, at the time asked about; nothing
    // when no list is held or it is not due yet.
    std::optional<wire::UnixTime> overdueFor;
};

class RevocationState {
public:
    // The root's list replaces the root's slot; the server's list (signed by a server
    // key the root certified: Ed25519 or P-256) replaces the server's slot. Errors: those
    // of verify*Revocations above, Replayed when its sequence is not higher than its
    // slot's. Nothing changes on error.
    void apply(const wire::RevocationList& list, const TrustAnchor& root);
    void apply(const wire::RevocationList& list, const VerifyingKey& serverKey);

    bool isKeyRevoked(std::string_view keyId) const;
    bool isDeviceRevoked(std::string_view deviceId) const;
    bool isTicketRevoked(std::string_view ticketId) const;
    std::uint64_t rootSequence() const;     // 0 before any root list
    RootListStatus rootList(wire::UnixTime now) const;
    std::uint64_t serverSequence() const;   // 0 before any server list

private:
    struct Slot {
        std::uint64_t sequence = 0;
        wire::UnixTime nextUpdate = 0;
        std::set<std::string, std::less<>> keys, devices, tickets;
    };
    void replace(Slot& slot, const wire::RevocationList& list);

    mutable std::mutex mutex_;
    Slot root_, server_;
};

} // namespace boxoffice::trust
