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

std::optional<wire::Certificate> ServerTrustState::presentedServer() const
{
    std::lock_guard lock(serversMutex_);
    return servers_.presented;
}

trust::ChosenServer ServerTrustState::currentServer() const
{
    std::lock_guard lock(serversMutex_);
    return trust::chooseServer(servers_, [this](const wire::Certificate& c) { return verifyServer(c); },
                               "check what the server signs (plugins.sync.serverCertificate)");
}

trust::ChosenServer ServerTrustState::currentTimeSigner() const
{
    std::lock_guard lock(serversMutex_);
    return trust::chooseServer(servers_, [this](const wire::Certificate& c) { return verifyTimeSigner(c); },
                               "verify trusted time with (plugins.sync.serverCertificate)");
}

void ServerTrustState::setServers(trust::KnownServerCertificates known)
{
    std::lock_guard lock(serversMutex_);
    servers_ = std::move(known);
}

void ServerTrustState::serverPresented(wire::Certificate certificate)
{
    std::lock_guard lock(serversMutex_);
    servers_.presented = std::move(certificate);
}

void ServerTrustState::applyRootList(const wire::RevocationList& list)
{
    revocations_.apply(list, root());
}

} // namespace boxoffice::plugins::sync
