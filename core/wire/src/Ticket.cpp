#include <boxoffice/wire/Ticket.h>

#include "Object.h"

namespace boxoffice::wire {

std::string_view toString(TicketKind kind) noexcept
{
    switch (kind) {
    case TicketKind::Ppv: return "ppv";
    case TicketKind::EventTicket: return "event-ticket";
    case TicketKind::Prepaid: return "prepaid";
    }
    return {};
}

std::string_view toString(TicketStatus status) noexcept
{
    switch (status) {
    case TicketStatus::Active: return "active";
    case TicketStatus::Suspended: return "suspended";
    }
    return {};
}

namespace {

// A sealed AES-128 or AES-256 key: 32-byte ephemeral key + key + 16-byte tag.
constexpr std::size_t minSealedKey = 32 + 16 + 16;
constexpr std::size_t maxSealedKey = 32 + 32 + 16;

constexpr auto fields = [](auto& v, auto& o) {
    v.id("ticket_id", o.ticketId);
    v.enumeration("kind", o.kind);
    v.id("event_id", o.eventId);
    v.id("issuer_id", o.issuerId);
    v.id("service_provider_id", o.serviceProviderId);
    v.id("holder_device_id", o.holderDeviceId);
    v.id("order_id", o.orderId, true);
    v.time("issued_at", o.issuedAt);
    v.time("not_before", o.notBefore);
    v.time("not_after", o.notAfter);
    v.num("playback_window", o.playbackWindow, std::uint32_t{0}, maxPlaybackWindow);
    v.enumeration("status", o.status);
    v.num("views_left", o.viewsLeft, std::uint16_t{0}, unlimitedViews);
    v.num("preview_seconds", o.previewSeconds, std::uint32_t{0}, maxPreviewSeconds);
    v.id("event_key_id", o.eventKeyId);
    v.bytes("sealed_event_key", o.sealedEventKey, minSealedKey, maxSealedKey);
    v.check(o.sealedEventKey.size() == minSealedKey || o.sealedEventKey.size() == maxSealedKey, "sealed_event_key",
            "not a sealed AES-128 or AES-256 key");
    v.nested("issuer_certificate", o.issuerCertificate);
    v.check(o.notBefore < o.notAfter, "not_after", "not after not_before");
};

} // namespace

BOXOFFICE_WIRE_OBJECT_IMPL(Ticket, fields)

Bytes ticketKeyContext(const Ticket& ticket)
{
    Writer w("ticket key context");
    w.fixed(Bytes{'B', 'O', 'T', 'K', 1});
    w.id("ticket_id", ticket.ticketId);
    w.id("holder_device_id", ticket.holderDeviceId);
    w.id("event_id", ticket.eventId);
    w.id("event_key_id", ticket.eventKeyId);
    return w.take();
}

} // namespace boxoffice::wire
