#pragma once
// The ticket ("electronic asset", EP 1030272 FIG. 35): the right to watch one event
// on one device, carrying the event key sealed to that device. Signed by an issuer
// whose certificate (from the operator root) travels inside the ticket.

#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/Object.h>

#include <string>

namespace boxoffice::wire {

enum class TicketKind : std::uint8_t { Ppv = 1, EventTicket = 2, Prepaid = 3 };
std::string_view toString(TicketKind kind) noexcept;   // "ppv", "event-ticket", "prepaid"

enum class TicketStatus : std::uint8_t { Active = 1, Suspended = 2 };
std::string_view toString(TicketStatus status) noexcept;

inline constexpr std::uint16_t unlimitedViews = 0xffff;
inline constexpr std::uint32_t maxPlaybackWindow = 366 * 86400;
inline constexpr std::uint32_t maxPreviewSeconds = 86400;

struct Ticket {
    std::string ticketId;                // the asset id; bound into the sealed key
    TicketKind kind = TicketKind::Ppv;
    std::string eventId;
    std::string issuerId;                // = issuerCertificate.subject
    std::string serviceProviderId;
    std::string holderDeviceId;          // = the device certificate subject the key is sealed to
    std::string orderId;                 // the order it settles; empty for none
    UnixTime issuedAt = 0;
    UnixTime notBefore = 0;
    UnixTime notAfter = 0;
    std::uint32_t playbackWindow = 0;    // seconds after first play; 0 = until notAfter
    TicketStatus status = TicketStatus::Active;
    std::uint16_t viewsLeft = unlimitedViews;
    std::uint32_t previewSeconds = 0;    // free preview allowance
    std::string eventKeyId;              // which event key (ECMs name it)
    Bytes sealedEventKey;                // crypto::sealTo(device X25519, key, ticketKeyContext(...))
    Certificate issuerCertificate;

    BOXOFFICE_WIRE_OBJECT(Ticket, ObjectType::Ticket, 1);
};

// The associated data the event key is sealed with: binds it to this ticket,
// holder and event, so a sealed key moved into another ticket does not open.
Bytes ticketKeyContext(const Ticket& ticket);

} // namespace boxoffice::wire
