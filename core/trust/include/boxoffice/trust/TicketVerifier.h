#pragma once
// Accepting a ticket on the STB. Every check has its own error; nothing is recorded
// unless all pass:
//   encoding                                  -> Malformed / UnsupportedVersion
//   issuer certificate not from the root,
//     not an issuer certificate,
//     issuer_id not its subject               -> PermissionDenied
//   certificate outside its validity          -> NotYetValid / Expired
//   issuer key, ticket or holder revoked      -> Revoked
//   signer key id is not the certified key    -> NotFound
//   signer algorithm differs from the key's   -> Conflict
//   issuer signature                          -> BadSignature
//   holder device is not this device          -> WrongAudience
//   ticket suspended                          -> PermissionDenied
//     (unless Dormant::Allow and it is a dormant ticket: kind prepaid, status
//     suspended, DESIGN §5 flow 5; the caller keeps it unplayable until bought)
//   trusted clock behind its high-water mark  -> ClockRollback
//   before not_before / from not_after        -> NotYetValid / Expired
//   ticket id accepted before                 -> Replayed
//   event key does not open for this ticket   -> Crypto
//     (a sealed key moved from another ticket, device or event)

#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/trust/SeenTickets.h>
#include <boxoffice/trust/TrustedClock.h>
#include <boxoffice/wire/Ticket.h>

namespace boxoffice::trust {

// When playback must end for a ticket first played at `firstPlay`: the playback window
// after first play, but never beyond not_after.
wire::UnixTime playbackEnds(const wire::Ticket& ticket, wire::UnixTime firstPlay);
wire::UnixTime playbackEnds(wire::UnixTime notAfter, std::uint32_t playbackWindow, wire::UnixTime firstPlay);

struct VerifiedTicket {
    wire::Ticket ticket;
    crypto::SecretBytes eventKey;   // 16 or 32 bytes
};

// Whether a dormant ticket (kind prepaid, status suspended: its key is delivered ahead
// and unlocked only by a recorded purchase) passes. Every other check applies to it.
enum class Dormant { Refuse, Allow };

bool isDormant(const wire::Ticket& ticket) noexcept;

class TicketVerifier {
public:
    // References must outlive the verifier.
    TicketVerifier(TrustAnchor root, std::string deviceId, crypto::X25519PrivateKey agreementKey,
                   TrustedClock& clock, const RevocationState& revocations, SeenTickets& seen);

    // All checks, then records the ticket id as seen and raises the clock's mark.
    VerifiedTicket accept(ByteView encodedTicket, Dormant dormant = Dormant::Refuse);

    // All checks except the replay check, records nothing: for re-checking a stored
    // ticket before playback.
    VerifiedTicket verify(ByteView encodedTicket, Dormant dormant = Dormant::Refuse) const;

private:
    VerifiedTicket check(ByteView encodedTicket, bool checkReplay, Dormant dormant) const;

    TrustAnchor root_;
    std::string deviceId_;
    crypto::X25519PrivateKey agreementKey_;
    TrustedClock& clock_;
    const RevocationState& revocations_;
    SeenTickets& seen_;
};

} // namespace boxoffice::trust
