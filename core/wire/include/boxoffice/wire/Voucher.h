#pragma once
// A gift: the server's signed proof, returned to the buyer, that a ticket was bought
// for another account (optionally delivered at a set time, with a message sealed to
// the buyer's key).

#include <boxoffice/wire/Object.h>

namespace boxoffice::wire {

inline constexpr std::size_t maxSealedMessageSize = 4096;

struct Voucher {
    std::string voucherId;
    std::string orderId;
    std::string ticketId;
    std::string eventId;
    std::string buyerAccountId;
    std::string recipientAccountId;
    std::string recipientDeviceId;       // empty: any device of the recipient account
    UnixTime deliverAt = 0;              // 0 = immediately
    Bytes sealedMessage;                 // crypto::sealTo(buyer key, ...); may be empty
    UnixTime issuedAt = 0;

    BOXOFFICE_WIRE_OBJECT(Voucher, ObjectType::Voucher, 1);
};

} // namespace boxoffice::wire
