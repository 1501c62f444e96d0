#pragma once
// The server's key material for sync, from boxoffice-keytool's layout
// (<boxoffice/trust/KeyFiles.h>): the signing key + certificate (settlement
// results) and the X25519 agreement keys the STBs seal their history batches to
// (the current one and those of server keys rotated out).

#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/KeyFiles.h>

#include <filesystem>

namespace boxoffice::serversync {

struct ServerKeys {
    trust::TrustAnchor root;
    trust::Credentials server;              // sign.key.pem + server.cert
    trust::ServerAgreementKeys agreement;   // agree.key.pem (0600), matches server.cert's; and the retired ones

    // DIR/root/root.json, DIR/server/{sign,agree}.key.pem, DIR/server/server.cert, DIR/server/retired/*.
    // Error(NotFound) for a missing file, Error(InvalidArgument) when a key does not
    // match the certificate or the certificate has no agreement key, Error(PermissionDenied)
    // for a secret file readable by others.
    static ServerKeys load(const std::filesystem::path& keysDir);
};

} // namespace boxoffice::serversync
