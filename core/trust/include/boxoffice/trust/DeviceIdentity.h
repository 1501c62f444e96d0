#pragma once
// An STB's identity: its signing and key-agreement keys and the root's certificate
// for them.

#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>

#include <string>

namespace boxoffice::trust {

struct DeviceIdentity {
    std::string deviceId;                  // = certificate.subject
    crypto::Ed25519PrivateKey signingKey;
    crypto::X25519PrivateKey agreementKey;
    wire::Certificate certificate;

    // Signs under certificate.keyId.
    SigningKey signer() const { return SigningKey(certificate.keyId, signingKey); }
};

} // namespace boxoffice::trust
