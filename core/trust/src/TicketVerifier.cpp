#include <boxoffice/trust/TicketVerifier.h>

#include <boxoffice/crypto/SealedBox.h>

#include <algorithm>

namespace boxoffice::trust {

using wire::Ticket;

wire::UnixTime playbackEnds(const Ticket& ticket, wire::UnixTime firstPlay)
{
    return playbackEnds(ticket.notAfter, ticket.playbackWindow, firstPlay);
}

wire::UnixTime playbackEnds(wire::UnixTime notAfter, std::uint32_t playbackWindow, wire::UnixTime firstPlay)
{
    if (playbackWindow == 0) return notAfter;
    return std::min(notAfter, firstPlay + static_cast<wire::UnixTime>(playbackWindow));
}

bool isDormant(const Ticket& ticket) noexcept
{
    return ticket.kind == wire::TicketKind::Prepaid && ticket.status == wire::TicketStatus::Suspended;
}

TicketVerifier::TicketVerifier(TrustAnchor root, std::string deviceId, crypto::X25519PrivateKey agreementKey,
                               TrustedClock& clock, const RevocationState& revocations, SeenTickets& seen)
    : root_(std::move(root)), deviceId_(std::move(deviceId)), agreementKey_(std::move(agreementKey)), clock_(clock),
      revocations_(revocations), seen_(seen)
{
}

VerifiedTicket TicketVerifier::check(ByteView encodedTicket, bool checkReplay, Dormant dormant) const
{
    Ticket ticket = Ticket::decode(encodedTicket);
    const std::string name = "ticket '" + ticket.ticketId + "'";

    // The clock first: a rolled-back clock must not decide anything.
    const wire::UnixTime now = clock_.now();

    const wire::Certificate& certificate = ticket.issuerCertificate;
    const VerifyingKey issuerKey =
        verifyCertificate(certificate, root_, wire::CertificateRole::Issuer, now, &revocations_);
    if (ticket.issuerId != certificate.subject)
        throw Error(ErrorCode::PermissionDenied, name + ": issuer_id '" + ticket.issuerId
                                                     + "' is not the certified issuer '" + certificate.subject + "'");
    verifySignature(ticket, issuerKey);

    if (ticket.holderDeviceId != deviceId_)
        throw Error(ErrorCode::WrongAudience, name + " is for device '" + ticket.holderDeviceId + "'");
    if (revocations_.isTicketRevoked(ticket.ticketId)) throw Error(ErrorCode::Revoked, name + " is revoked");
    if (revocations_.isDeviceRevoked(ticket.holderDeviceId))
        throw Error(ErrorCode::Revoked, "device '" + ticket.holderDeviceId + "' is revoked");
    if (ticket.status != wire::TicketStatus::Active && !(dormant == Dormant::Allow && isDormant(ticket)))
        throw Error(ErrorCode::PermissionDenied, name + " is suspended");
    if (now < ticket.notBefore) throw Error(ErrorCode::NotYetValid, name + " is not valid yet");
    if (now >= ticket.notAfter) throw Error(ErrorCode::Expired, name + " has expired");
    if (checkReplay && seen_.contains(ticket.ticketId))
        throw Error(ErrorCode::Replayed, name + " was accepted before");

    crypto::SecretBytes eventKey;
    try {
        eventKey = crypto::openSealed(agreementKey_, ticket.sealedEventKey, wire::ticketKeyContext(ticket));
    } catch (const Error&) {
        throw Error(ErrorCode::Crypto, name + ": sealed_event_key does not open (bound to another ticket, device or event)");
    }
    if (eventKey.size() != 16 && eventKey.size() != 32)
        throw Error(ErrorCode::Crypto, name + ": sealed_event_key holds no AES key");
    return {std::move(ticket), std::move(eventKey)};
}

VerifiedTicket TicketVerifier::accept(ByteView encodedTicket, Dormant dormant)
{
    VerifiedTicket verified = check(encodedTicket, true, dormant);
    seen_.add(verified.ticket.ticketId);
    clock_.observe(clock_.now());
    return verified;
}

VerifiedTicket TicketVerifier::verify(ByteView encodedTicket, Dormant dormant) const
{
    return check(encodedTicket, false, dormant);
}

} // namespace boxoffice::trust
