#include <boxoffice/bluetooth/Messages.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Codec.h>
#include <boxoffice/bluetooth/Protocol.h>

namespace boxoffice::bluetooth {

namespace {
constexpr std::size_t kMaxId = 128;
constexpr std::size_t kMaxText = 1024;
} // namespace

const char* toString(MessageType type) noexcept
{
    switch (type) {
    case MessageType::SessionReady: return "SessionReady";
    case MessageType::Ping: return "Ping";
    case MessageType::Pong: return "Pong";
    case MessageType::Result: return "Result";
    case MessageType::SettlementRequest: return "SettlementRequest";
    case MessageType::Approval: return "Approval";
    case MessageType::OtpAcknowledge: return "OtpAcknowledge";
    case MessageType::NotMe: return "NotMe";
    case MessageType::Receipt: return "Receipt";
    case MessageType::Acknowledgement: return "Acknowledgement";
    case MessageType::HistoryHandoff: return "HistoryHandoff";
    case MessageType::SettlementResult: return "SettlementResult";
    case MessageType::TicketTransfer: return "TicketTransfer";
    }
    return "unknown";
}

bool isKnown(std::uint16_t type) noexcept
{
    return std::string_view(toString(static_cast<MessageType>(type))) != "unknown";
}

Bytes Message::encode() const
{
    if (body.size() > kMaxBodySize)
        throw Error(ErrorCode::LimitExceeded, std::string(toString(type)) + " body of " + std::to_string(body.size()) +
                                                  " bytes exceeds the limit of " + std::to_string(kMaxBodySize));
    FieldWriter w;
    w.u16(static_cast<std::uint16_t>(type)).u32(id).u32(replyTo).fixed(body);
    return w.take();
}

Message Message::decode(ByteView envelope)
{
    FieldReader in(envelope, "message envelope");
    const std::uint16_t type = in.u16();
    if (!isKnown(type)) throw Error(ErrorCode::UnsupportedVersion, "unknown message type " + std::to_string(type));
    Message m;
    m.type = static_cast<MessageType>(type);
    m.id = in.u32();
    m.replyTo = in.u32();
    const auto rest = in.rest();
    if (rest.size() > kMaxBodySize) throw Error(ErrorCode::LimitExceeded, "message body too large");
    m.body.assign(rest.begin(), rest.end());
    return m;
}

Bytes ResultBody::encode() const
{
    return FieldWriter().u8(ok ? 1 : 0).text(error).text(text).bytes(data).take();
}

ResultBody ResultBody::decode(ByteView body)
{
    FieldReader in(body, "Result");
    ResultBody r;
    r.ok = in.u8() != 0;
    r.error = in.text(kMaxId);
    r.text = in.text(kMaxText);
    r.data = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

Bytes SettlementRequestBody::encode() const
{
    return FieldWriter().text(transactionId).u64(amountMinor).text(currency).text(payee).text(title).bytes(order).take();
}

SettlementRequestBody SettlementRequestBody::decode(ByteView body)
{
    FieldReader in(body, "SettlementRequest");
    SettlementRequestBody r;
    r.transactionId = in.text(kMaxId);
    r.amountMinor = in.u64();
    r.currency = in.text(3);
    r.payee = in.text(kMaxText);
    r.title = in.text(kMaxText);
    r.order = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

Bytes ApprovalBody::encode() const
{
    return FieldWriter().text(transactionId).u8(relay ? 1 : 0).bytes(approval).take();
}

ApprovalBody ApprovalBody::decode(ByteView body)
{
    FieldReader in(body, "Approval");
    ApprovalBody r;
    r.transactionId = in.text(kMaxId);
    r.relay = in.u8() != 0;
    r.approval = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

Bytes OtpAcknowledgeBody::encode() const { return FieldWriter().text(transactionId).text(code).take(); }

OtpAcknowledgeBody OtpAcknowledgeBody::decode(ByteView body)
{
    FieldReader in(body, "OtpAcknowledge");
    OtpAcknowledgeBody r;
    r.transactionId = in.text(kMaxId);
    r.code = in.text(kMaxId);
    in.finish();
    return r;
}

Bytes NotMeBody::encode() const { return FieldWriter().text(transactionId).bytes(report).take(); }

NotMeBody NotMeBody::decode(ByteView body)
{
    FieldReader in(body, "NotMe");
    NotMeBody r;
    r.transactionId = in.text(kMaxId);
    r.report = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

Bytes ReceiptBody::encode() const
{
    // Without a certificate the body is the one a receiver from before the field reads.
    FieldWriter out;
    out.text(transactionId).bytes(receipt);
    if (!serverCertificate.empty()) out.bytes(serverCertificate);
    return out.take();
}

ReceiptBody ReceiptBody::decode(ByteView body)
{
    FieldReader in(body, "Receipt");
    ReceiptBody r;
    r.transactionId = in.text(kMaxId);
    r.receipt = in.bytes(kMaxBodySize);
    if (in.remaining() > 0) r.serverCertificate = in.bytes(kMaxBodySize);   // STBs before it was added send none
    in.finish();
    return r;
}

Bytes AcknowledgementBody::encode() const { return FieldWriter().text(transactionId).bytes(acknowledgement).take(); }

AcknowledgementBody AcknowledgementBody::decode(ByteView body)
{
    FieldReader in(body, "Acknowledgement");
    AcknowledgementBody r;
    r.transactionId = in.text(kMaxId);
    r.acknowledgement = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

Bytes HistoryHandoffBody::encode() const
{
    return FieldWriter().u64(fromSequence).u64(toSequence).bytes(history).take();
}

HistoryHandoffBody HistoryHandoffBody::decode(ByteView body)
{
    FieldReader in(body, "HistoryHandoff");
    HistoryHandoffBody r;
    r.fromSequence = in.u64();
    r.toSequence = in.u64();
    if (r.toSequence < r.fromSequence) throw Error(ErrorCode::Malformed, "HistoryHandoff: sequence range inverted");
    r.history = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

Bytes SettlementResultBody::encode() const
{
    FieldWriter out;
    out.u64(highestSequence).bytes(result);
    if (!serverCertificate.empty()) out.bytes(serverCertificate);   // as for ReceiptBody
    return out.take();
}

SettlementResultBody SettlementResultBody::decode(ByteView body)
{
    FieldReader in(body, "SettlementResult");
    SettlementResultBody r;
    r.highestSequence = in.u64();
    r.result = in.bytes(kMaxBodySize);
    if (in.remaining() > 0) r.serverCertificate = in.bytes(kMaxBodySize);   // phones before it was added send none
    in.finish();
    return r;
}

Bytes TicketTransferBody::encode() const { return FieldWriter().bytes(ticket).take(); }

TicketTransferBody TicketTransferBody::decode(ByteView body)
{
    FieldReader in(body, "TicketTransfer");
    TicketTransferBody r;
    r.ticket = in.bytes(kMaxBodySize);
    in.finish();
    return r;
}

} // namespace boxoffice::bluetooth
