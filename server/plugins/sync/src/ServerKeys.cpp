#include <boxoffice/serversync/ServerKeys.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/trust/KeyFiles.h>

#include <sys/stat.h>

namespace boxoffice::serversync {

namespace fs = std::filesystem;

crypto::X25519PrivateKey loadServerAgreementKey(const fs::path& serverDir, const wire::Certificate& certificate)
{
    const fs::path file = serverDir / "agree.key.pem";
    if (certificate.agreementKey.size() != 32)
        throw Error(ErrorCode::InvalidArgument,
                    "the server certificate has no X25519 agreement key (re-issue it with 'boxoffice-keytool server issue')");
    const std::string pem = trust::readKeyFile(file);
    // Same rule as the other secret key files: private to the owner.
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || (st.st_mode & 077) != 0)
        throw Error(ErrorCode::PermissionDenied, file.string() + " must not be readable by others (chmod 600)");
    auto key = crypto::X25519PrivateKey::fromPem(pem);
    const auto& raw = key.publicKey().raw();
    if (!crypto::constantTimeEqual(ByteView(raw.data(), raw.size()),
                                   ByteView(certificate.agreementKey.data(), certificate.agreementKey.size())))
        throw Error(ErrorCode::InvalidArgument, file.string() + ": private key does not match its certificate");
    return key;
}

ServerKeys ServerKeys::load(const fs::path& keysDir)
{
    auto root = trust::loadTrustAnchor(keysDir / "root" / "root.json");
    auto server = trust::loadServerSigner(keysDir / "server");
    auto agreement = loadServerAgreementKey(keysDir / "server", server.certificate);
    return ServerKeys{std::move(root), std::move(server), std::move(agreement)};
}

} // namespace boxoffice::serversync
