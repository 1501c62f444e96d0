#pragma once
// The STB ticket wallet, published by the `ppv` plugin for `sync` (and anyone who
// receives tickets or catalog data):
//
//   auto wallet = context.services().require<ppv::Wallet>();
//   wallet->addTicket(wire::fromBase64Url(delivery.ticket, "ticket"));
//   wallet->replaceCatalog(events);
//
// The same plugin publishes the descrambler's mpegts::KeyService (event keys from
// the wallet's tickets). Methods are thread-safe and throw boxoffice::Error; a
// throwing call stores nothing.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/wire/Types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace boxoffice::ppv {

// One PPV event of the server's catalog (GET /v1/stb/catalog "events"[]).
struct CatalogEvent {
    std::string eventId;
    std::string title;
    std::string payee;
    wire::Amount price = 0;           // integer minor units
    std::string currency;
    wire::UnixTime saleFrom = 0;
    wire::UnixTime saleUntil = 0;
    wire::UnixTime startsAt = 0;
    wire::UnixTime endsAt = 0;
    std::int64_t previewSeconds = 0;
    bool blackout = false;
    std::string eventKeyId;
    // What a ticket for it allows (shown before the purchase; the ticket carries them).
    std::int64_t views = 0;           // 0: unlimited
    std::int64_t playbackWindow = 0;  // a rental: seconds playable after the first play; 0: until endsAt
    // Optional broadcast details (0 / empty: unknown): the EIT event_id the ECMs
    // carry, and where ppv.1.watch plays the event (descrambler.1.play uri/program).
    std::uint16_t dvbEventId = 0;
    std::string playUri;
    std::uint16_t program = 0;
};

class Wallet {
public:
    static constexpr const char* kServiceId = "boxoffice.ppv.Wallet/1";

    virtual ~Wallet() = default;

    // Verifies (issuer chain, holder = this device, validity, trusted clock) and stores a ticket
    // that arrived by sync, from the phone or as a gift; Error on anything invalid, nothing stored.
    // Idempotent by ticket id. Returns the ticket id.
    virtual std::string addTicket(ByteView encodedTicket) = 0;

    // Catalog entries from the server feed (sync replaces the whole set).
    virtual void replaceCatalog(const std::vector<CatalogEvent>& events) = 0;
};

} // namespace boxoffice::ppv
