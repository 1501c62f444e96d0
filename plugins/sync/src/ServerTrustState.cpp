#include "ServerTrustState.h"

#include <boxoffice/base/Error.h>

namespace boxoffice::plugins::sync {

ServerTrustState::ServerTrustState(std::optional<trust::TrustAnchor> root, std::shared_ptr<const trust::TrustedClock> clock)
    : root_(std::move(root)), clock_(std::move(clock))
{
}

const trust::TrustAnchor& ServerTrustState::root() const
{
    if (!root_) throw Error(ErrorCode::Unavailable, "sync: no operator trust anchor configured (plugins.sync.trustAnchor)");
    return *root_;
}

trust::VerifyingKey ServerTrustState::verifyServer(const wire::Certificate& certificate) const
{
    const auto now = clock_ ? clock_->latestKnown() : trust::TrustedClock::systemNow();
    return trust::verifyCertificate(certificate, root(), wire::CertificateRole::Server, now, &revocations_);
}

void ServerTrustState::applyRootList(const wire::RevocationList& list)
{
    revocations_.apply(list, root());
}

} // namespace boxoffice::plugins::sync
