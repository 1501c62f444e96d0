#include <boxoffice/trust/TicketIssuer.h>

#include <boxoffice/crypto/SealedBox.h>

namespace boxoffice::trust {

wire::Ticket issueTicket(wire::Ticket draft, ByteView eventKey, const crypto::X25519PublicKey& holderAgreementKey,
                         const IssuerCredentials& issuer)
{
    if (eventKey.size() != 16 && eventKey.size() != 32)
        throw Error(ErrorCode::InvalidArgument, "event key must be 16 or 32 bytes");
    if (issuer.certificate.keyId != issuer.key.keyId())
        throw Error(ErrorCode::InvalidArgument, "issuer key id does not match its certificate");
    draft.issuerId = issuer.certificate.subject;
    draft.issuerCertificate = issuer.certificate;
    draft.sealedEventKey = crypto::sealTo(holderAgreementKey, eventKey, wire::ticketKeyContext(draft));
    sign(draft, issuer.key);
    return draft;
}

} // namespace boxoffice::trust
