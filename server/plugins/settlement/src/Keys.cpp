#include <boxoffice/settlement/Settlement.h>

#include <boxoffice/trust/KeyFiles.h>

namespace boxoffice::settlement {

Keys Keys::load(const std::filesystem::path& keysDir, const std::string& issuerId)
{
    return Keys{trust::loadTrustAnchor(keysDir / "root" / "root.json"), trust::loadCurrentIssuer(keysDir, issuerId),
                trust::loadServerSigner(keysDir / "server"), keysDir / "events"};
}

} // namespace boxoffice::settlement
