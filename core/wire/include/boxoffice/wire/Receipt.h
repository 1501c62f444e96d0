#pragma once
// The server's signed receipt for a posted transfer, sent to the phone.

#include <boxoffice/wire/Object.h>

namespace boxoffice::wire {

struct Receipt {
    std::string receiptId;
    std::string orderId;
    std::string transactionNumber;
    std::string ticketId;
    std::string accountId;
    std::string payee;
    Amount amount = 0;
    std::string currency = "EUR";
    UnixTime issuedAt = 0;

    BOXOFFICE_WIRE_OBJECT(Receipt, ObjectType::Receipt, 1);
};

} // namespace boxoffice::wire
