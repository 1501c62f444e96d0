#pragma once
// How the STB checks a certificate presented as the operator server's, published by the
// `sync` plugin when it has a trust anchor (it keeps the box's trusted time and the root's
// revocation list):
//
//   auto trust = context.services().find<sync::ServerTrust>();
//   const auto key = trust->verifyServer(certificate);   // then verify what it signed
//
// billing checks settlement results' signers with it and seals history to presentedServer();
// sync checks the signers of trusted time and of the server's revocation list the same
// way (ppv reads the certificate sync keeps and checks it against its own copy of the
// root's list). Thread-safe.

#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>

#include <optional>

namespace boxoffice::sync {

class ServerTrust {
public:
    static constexpr const char* kServiceId = "boxoffice.sync.ServerTrust/2";
    virtual ~ServerTrust() = default;
    // Issued by the operator root as a server certificate, valid at the box's trusted time
    // (the latest known when the clock was set back), its key id not revoked by the root's
    // newest list the box holds. Returns its key. Errors as
    // trust::verifyCertificate (PermissionDenied, NotYetValid, Expired, Revoked);
    // Unavailable when the box has no trust anchor configured.
    virtual trust::VerifyingKey verifyServer(const wire::Certificate& certificate) const = 0;
    // The certificate the server presented last (kept across restarts), checked when it was
    // presented: after a key rotation, the new one. Check it again with verifyServer before
    // each use. nullopt until a server has presented one.
    virtual std::optional<wire::Certificate> presentedServer() const = 0;
};

} // namespace boxoffice::sync
