#pragma once
// How the STB checks a certificate presented as the operator server's, published by the
// `sync` plugin (which keeps the box's trusted time and the root's revocation list):
//
//   auto trust = context.services().find<sync::ServerTrust>();
//   const auto key = trust->verifyServer(certificate);   // then verify what it signed
//
// Used for everything the server signs that the box acts on: settlement results
// (billing), trusted time and revocation lists (sync). Thread-safe.

#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>

namespace boxoffice::sync {

class ServerTrust {
public:
    static constexpr const char* kServiceId = "boxoffice.sync.ServerTrust/1";
    virtual ~ServerTrust() = default;
    // Issued by the operator root as a server certificate, valid at the box's trusted time
    // (the latest known when the clock was set back), neither its key id nor its subject
    // revoked by the root's newest list the box holds. Returns its key. Errors as
    // trust::verifyCertificate (PermissionDenied, NotYetValid, Expired, Revoked);
    // Unavailable when the box has no trust anchor configured.
    virtual trust::VerifyingKey verifyServer(const wire::Certificate& certificate) const = 0;
};

} // namespace boxoffice::sync
