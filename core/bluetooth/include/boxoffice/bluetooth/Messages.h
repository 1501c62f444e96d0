#pragma once
// Application messages carried inside session records.
//
//   envelope := type(2) id(4) replyTo(4) body
//
// `id` is chosen by the sender (non-zero, unique per session and direction);
// a reply names the request in `replyTo` (0 for unsolicited messages). Bodies
// carry the fields below in order; the opaque byte fields hold canonical wire
// objects (core/wire) that the end points sign and verify themselves: this
// layer only moves them.

#include <boxoffice/base/Bytes.h>

#include <cstdint>
#include <string>

namespace boxoffice::bluetooth {

enum class MessageType : std::uint16_t {
    SessionReady = 0x0001,       // STB -> phone, empty: the session is up
    Ping = 0x0002,               // either way, body echoed in the Pong
    Pong = 0x0003,
    Result = 0x0004,             // reply: ResultBody
    SettlementRequest = 0x0100,  // STB -> phone: approve this purchase (flow 3)
    Approval = 0x0101,           // phone -> STB: signed approval, or one to relay to the server
    OtpAcknowledge = 0x0102,     // phone -> STB: acknowledge code of a one-time password (flow 4)
    NotMe = 0x0103,              // phone -> STB: the viewer denies the purchase (flow 4)
    Receipt = 0x0104,            // STB -> phone: the server's receipt, relayed
    Acknowledgement = 0x0105,    // phone -> STB: the phone's signed acknowledgement of a receipt
    HistoryHandoff = 0x0200,     // STB -> phone: history sealed to the server (flow 5)
    SettlementResult = 0x0201,   // phone -> STB: the server's signed settlement result
    TicketTransfer = 0x0300,     // either way: a signed ticket (flows 3, 6, 7)
};

const char* toString(MessageType type) noexcept;
bool isKnown(std::uint16_t type) noexcept;

struct Message {
    MessageType type = MessageType::Ping;
    std::uint32_t id = 0;
    std::uint32_t replyTo = 0;
    Bytes body;

    // Error(LimitExceeded) for a body above kMaxBodySize.
    Bytes encode() const;
    // Error(Malformed) when short, Error(UnsupportedVersion) for an unknown type.
    static Message decode(ByteView envelope);
};

// Bodies. encode() writes the fields; decode() throws Error(Malformed) naming the type.

struct ResultBody {
    bool ok = true;
    std::string error;   // toString(ErrorCode) when !ok, e.g. "expired"
    std::string text;
    Bytes data;          // optional payload (e.g. a wire object)
    Bytes encode() const;
    static ResultBody decode(ByteView body);
};

struct SettlementRequestBody {
    std::string transactionId;
    std::uint64_t amountMinor = 0;  // in the currency's minor unit
    std::string currency;           // ISO 4217
    std::string payee;
    std::string title;
    Bytes order;                    // the canonical order / pending transfer, opaque here
    Bytes encode() const;
    static SettlementRequestBody decode(ByteView body);
};

struct ApprovalBody {
    std::string transactionId;
    bool relay = false;  // true: the phone has no line; the STB forwards `approval` (sealed to the server)
    Bytes approval;
    Bytes encode() const;
    static ApprovalBody decode(ByteView body);
};

struct OtpAcknowledgeBody {
    std::string transactionId;
    std::string code;
    Bytes encode() const;
    static OtpAcknowledgeBody decode(ByteView body);
};

struct NotMeBody {
    std::string transactionId;
    Bytes report;  // the phone's signed report
    Bytes encode() const;
    static NotMeBody decode(ByteView body);
};

struct ReceiptBody {
    std::string transactionId;
    Bytes receipt;
    // The certificate of the key that signed `receipt` (wire::Certificate) as the server gave
    // it to the STB; empty when it has none. A phone that knows only an earlier server key
    // checks it under the operator root. Optional on the wire, like SettlementResultBody's.
    Bytes serverCertificate;
    Bytes encode() const;
    static ReceiptBody decode(ByteView body);
};

struct AcknowledgementBody {
    std::string transactionId;
    Bytes acknowledgement;
    Bytes encode() const;
    static AcknowledgementBody decode(ByteView body);
};

struct HistoryHandoffBody {
    std::uint64_t fromSequence = 0;
    std::uint64_t toSequence = 0;
    Bytes history;  // signed by the STB, sealed to the server
    Bytes encode() const;
    static HistoryHandoffBody decode(ByteView body);
};

struct SettlementResultBody {
    std::uint64_t highestSequence = 0;
    Bytes result;             // signed by the server
    // The certificate of the key that signed `result` (wire::Certificate), as the server
    // gave it to the phone; empty when the phone has none. It lets a box without a line
    // check results signed by a key it has not learnt yet (the server rotated it); the
    // box trusts it only once it checks against the operator root. Optional on the
    // wire: a body that ends after `result` has none.
    Bytes serverCertificate;
    Bytes encode() const;
    static SettlementResultBody decode(ByteView body);
};

struct TicketTransferBody {
    Bytes ticket;
    Bytes encode() const;
    static TicketTransferBody decode(ByteView body);
};

} // namespace boxoffice::bluetooth
