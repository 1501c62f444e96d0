#include "ServerTrustState.h"

#include <boxoffice/base/Error.h>

namespace boxoffice::plugins::sync {

ServerTrustState::ServerTrustState(std::optional<trust::TrustAnchor> root, std::shared_ptr<const trust::TrustedClock> clock)
    : root_(std::move(root)), clock_(std::move(clock))
{
    if (!clock_) throw Error(ErrorCode::InvalidArgument, "sync: server trust needs the trusted clock");
}

const trust::TrustAnchor& ServerTrustState::root() const
{
    if (!root_) throw Error(ErrorCode::Unavailable, "sync: no operator trust anchor configured (plugins.sync.trustAnchor)");
    return *root_;
}

trust::VerifyingKey ServerTrustState::verifyServer(const wire::Certificate& certificate) const
{
    return verifyAt(certificate, clock_->latestKnown());
}

trust::VerifyingKey ServerTrustState::verifyTimeSigner(const wire::Certificate& certificate) const
{
    return verifyAt(certificate, clock_->signerCheckTime());
}

trust::VerifyingKey ServerTrustState::verifyAt(const wire::Certificate& certificate, wire::UnixTime now) const
{
    return trust::verifyCertificate(certificate, root(), wire::CertificateRole::Server, now, &revocations_);
}

void ServerTrustState::applyRootList(const wire::RevocationList& list)
{
    revocations_.apply(list, root());
}

} // namespace boxoffice::plugins::sync
