#pragma once
// sync::ServerTrust as the sync plugin keeps it: the operator root, the box's trusted
// clock, the root's newest revocation list (the only signer that may revoke a server's
// key) and the server certificates the box knows. The engine applies the root's lists
// and the certificates the server presents as it gets them; the plugin publishes this
// object for billing.

#include <boxoffice/sync/ServerTrust.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/trust/TrustedClock.h>

#include <memory>
#include <mutex>
#include <optional>

namespace boxoffice::plugins::sync {

class ServerTrustState final : public boxoffice::sync::ServerTrust {
public:
    ServerTrustState(std::optional<trust::TrustAnchor> root, std::shared_ptr<const trust::TrustedClock> clock);

    // At the clock's latestKnown().
    trust::VerifyingKey verifyServer(const wire::Certificate& certificate) const override;
    // The same checks at the clock's signerCheckTime(): for the signer of trusted time only.
    trust::VerifyingKey verifyTimeSigner(const wire::Certificate& certificate) const;

    std::optional<wire::Certificate> presentedServer() const override;
    // The server certificate sync acts on, with its key: the presented one, else the configured
    // one (trust::chooseServer), checked with verifyServer, or with verifyTimeSigner for the
    // signer of trusted time.
    trust::ChosenServer currentServer() const;
    trust::ChosenServer currentTimeSigner() const;
    // The configured certificate, and the one the server presented last (checked by the
    // caller; held as it is, and checked again at each use).
    void setServers(trust::KnownServerCertificates known);
    void serverPresented(wire::Certificate certificate);

    bool hasRoot() const { return root_.has_value(); }
    const trust::TrustAnchor& root() const;   // Unavailable without one
    // Verifies the root's list under the root and holds it. Errors: its signature's,
    // Replayed when it is not newer than the list held.
    void applyRootList(const wire::RevocationList& list);
    std::uint64_t rootSequence() const { return revocations_.rootSequence(); }
    trust::RootListStatus rootList(wire::UnixTime now) const { return revocations_.rootList(now); }

private:
    trust::VerifyingKey verifyAt(const wire::Certificate& certificate, wire::UnixTime now) const;

    std::optional<trust::TrustAnchor> root_;
    std::shared_ptr<const trust::TrustedClock> clock_;
    trust::RevocationState revocations_;
    mutable std::mutex serversMutex_;
    trust::KnownServerCertificates servers_;
};

} // namespace boxoffice::plugins::sync
