#include <boxoffice/settlement/Settlement.h>

#include <boxoffice/trust/KeyFiles.h>

namespace boxoffice::settlement {

Keys Keys::load(const std::filesystem::path& keysDir, const std::string& issuerId)
{
    auto server = trust::loadServerSigner(keysDir / "server");
    auto agreement = trust::ServerAgreementKeys::load(keysDir / "server", server.certificate);
    return Keys{trust::loadTrustAnchor(keysDir / "root" / "root.json"), trust::loadCurrentIssuer(keysDir, issuerId),
                std::move(server), std::move(agreement), keysDir / "events"};
}

} // namespace boxoffice::settlement
