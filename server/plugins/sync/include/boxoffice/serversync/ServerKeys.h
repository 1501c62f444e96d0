#pragma once
// The server's key material for sync, from boxoffice-keytool's layout
// (<boxoffice/trust/KeyFiles.h>): the signing key + certificate (settlement
// results) and the X25519 agreement key the STBs seal their history batches to.

#include <boxoffice/crypto/X25519.h>
#include <boxoffice/trust/Certificates.h>

#include <filesystem>

namespace boxoffice::serversync {

struct ServerKeys {
    trust::TrustAnchor root;
    trust::Credentials server;              // sign.key.pem + server.cert
    crypto::X25519PrivateKey agreement;     // agree.key.pem (0600), matches server.cert's agreement key

    // DIR/root/root.json, DIR/server/{sign,agree}.key.pem, DIR/server/server.cert.
    // Error(NotFound) for a missing file, Error(InvalidArgument) when a key does not
    // match the certificate or the certificate has no agreement key, Error(PermissionDenied)
    // for a secret file readable by others.
    static ServerKeys load(const std::filesystem::path& keysDir);
};

} // namespace boxoffice::serversync
