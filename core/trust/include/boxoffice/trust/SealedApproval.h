#pragma once
// A phone's signed approval relayed by the STB (DESIGN §5 flow 3, phone without a
// line of its own), sealed to the server's X25519 agreement key. The STB carries it
// but cannot read the decision or pass it to another server; the phone's signature
// inside still decides whether it is accepted. Format (core/wire/FORMAT.md rules):
//
//   envelope = "BOSA" u8 version(1) | id server_key_id | id transaction_number | bytes sealed
//   sealed   = crypto::sealTo(server agreement key, encoded wire::Approval,
//                             aad = every envelope byte before `sealed`)
//
// The clear transaction number lets the STB and the server route the envelope; it
// must equal the sealed approval's.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Certificate.h>

#include <string>

namespace boxoffice::trust {

struct SealedApprovalHeader {
    std::string serverKeyId;          // the server certificate's key id it is sealed to
    std::string transactionNumber;
};

// Error(Unavailable) when the server certificate has no agreement key.
Bytes sealApproval(const wire::Approval& approval, const wire::Certificate& serverCertificate);

// The clear header only (Error(Malformed) / Error(UnsupportedVersion)).
SealedApprovalHeader peekSealedApproval(ByteView envelope);

// Server side. Errors: Malformed, UnsupportedVersion, WrongAudience (sealed to another
// server key), BadSignature (does not open, or the clear header differs from the sealed
// approval). The approval's own signature is the caller's to check.
wire::Approval openSealedApproval(ByteView envelope, const crypto::X25519PrivateKey& serverAgreementKey,
                                  const std::string& serverKeyId);

} // namespace boxoffice::trust
