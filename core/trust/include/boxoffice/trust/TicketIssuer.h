#pragma once
// Issuing tickets on the server: seals the event key to the holder device and signs.

#include <boxoffice/crypto/X25519.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/Ticket.h>

namespace boxoffice::trust {

using IssuerCredentials = Credentials;   // certificate role issuer

// `draft` has every field but issuerId, sealedEventKey, issuerCertificate, signer and
// signature, which this fills in. `holderAgreementKey` comes from the holder's verified
// device certificate. eventKey: 16 or 32 bytes.
wire::Ticket issueTicket(wire::Ticket draft, ByteView eventKey, const crypto::X25519PublicKey& holderAgreementKey,
                         const IssuerCredentials& issuer);

} // namespace boxoffice::trust
