#include <boxoffice/serversync/ServerKeys.h>

#include <boxoffice/trust/KeyFiles.h>

namespace boxoffice::serversync {

namespace fs = std::filesystem;

ServerKeys ServerKeys::load(const fs::path& keysDir)
{
    auto root = trust::loadTrustAnchor(keysDir / "root" / "root.json");
    auto server = trust::loadServerSigner(keysDir / "server");
    auto agreement = trust::ServerAgreementKeys::load(keysDir / "server", server.certificate);
    return ServerKeys{std::move(root), std::move(server), std::move(agreement)};
}

} // namespace boxoffice::serversync
