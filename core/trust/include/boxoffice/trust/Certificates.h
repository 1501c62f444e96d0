#pragma once
// The operator root as a trust anchor, and issuing/checking certificates under it.

#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>

#include <functional>
#include <optional>
#include <string>

namespace boxoffice::trust {

class RevocationState;

struct TrustAnchor {
    std::string keyId;
    crypto::Ed25519PublicKey key;

    VerifyingKey verifyingKey() const { return VerifyingKey(keyId, key); }
};

// A signing key with the root's certificate for it (issuer, server, device, phone).
struct Credentials {
    SigningKey key;                    // key id = certificate.keyId
    wire::Certificate certificate;
};

// Signs `certificate` (all fields but signer/signature filled in) with the root key.
wire::Certificate issueCertificate(wire::Certificate certificate, const SigningKey& root);

// Checks that the certificate comes from the root, has the expected role, is valid
// at `now` and is not revoked; returns its key. Errors:
//   not signed by this root / wrong role   -> PermissionDenied
//   outside not_before / not_after         -> NotYetValid / Expired
//   key id or subject revoked              -> Revoked
VerifyingKey verifyCertificate(const wire::Certificate& certificate, const TrustAnchor& root,
                               wire::CertificateRole role, wire::UnixTime now,
                               const RevocationState* revocations = nullptr);

// The same checks but the root's signature, for a certificate verified when it
// was stored (a registered device or phone) each time its key is used: role,
// validity at `now`, revocation. Same errors.
VerifyingKey keyInForce(const wire::Certificate& certificate, wire::CertificateRole role, wire::UnixTime now,
                        const RevocationState* revocations);
// keyInForce() without making the key: for a caller that only needs to know
// (a per-request device check), since building a key object is its costly part.
void checkInForce(const wire::Certificate& certificate, wire::CertificateRole role, wire::UnixTime now,
                  const RevocationState* revocations);

// The operator server's certificates an STB knows, in order of preference: the one the
// server last presented (sync keeps it from the server's answers, so that a rotated server
// key reaches every plugin), then the one configured on the box.
struct KnownServerCertificates {
    std::optional<wire::Certificate> presented;
    std::optional<wire::Certificate> configured;
};

// Of `known`, those for `keyId` (the signer of the object to check), when one is: a
// certificate that checks but is for another key could only refuse the object. When none
// is, all of them (the key id then refuses the object, NotFound, after their own checks).
KnownServerCertificates signingWith(KnownServerCertificates known, const std::string& keyId);

struct ChosenServer {
    wire::Certificate certificate;
    VerifyingKey key;
};

// The first known certificate that `verify` accepts (e.g. verifyCertificate as a server at
// trusted time, against the root's revocations), with its key. When none does, the
// preferred one's error; Unavailable, naming `purpose`, when the box knows none.
ChosenServer chooseServer(const KnownServerCertificates& known,
                          const std::function<VerifyingKey(const wire::Certificate&)>& verify,
                          const std::string& purpose);

} // namespace boxoffice::trust
