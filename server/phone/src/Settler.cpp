#include <boxoffice/phone/Settler.h>

#include <boxoffice/trust/SealedApproval.h>
#include <boxoffice/wire/SettlementResult.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <ctime>

namespace boxoffice::phone {

namespace bt = boxoffice::bluetooth;

namespace {

bt::Message result(bool ok, ErrorCode code, const std::string& text)
{
    return {bt::MessageType::Result, 0, 0, bt::ResultBody{ok, ok ? std::string() : std::string(toString(code)), text, {}}.encode()};
}

// The server's order as the STB passed it on (the JSON the STB got from the server).
ServerOrder orderFromRequest(const bt::SettlementRequestBody& request)
{
    Poco::JSON::Parser parser;
    Poco::JSON::Object::Ptr o;
    try {
        o = parser.parse(std::string(request.order.begin(), request.order.end())).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception& e) {
        throw Error(ErrorCode::Malformed, std::string("the STB's order is not JSON: ") + e.what());
    }
    auto text = [&](const char* f) { return o->has(f) ? o->getValue<std::string>(f) : std::string(); };
    ServerOrder order;
    order.orderId = text("orderId");
    order.transactionNumber = text("transactionNumber");
    order.accountId = text("accountId");
    order.payee = text("payee");
    order.currency = text("currency");
    order.eventId = text("eventId");
    order.amount = o->has("amount") ? o->getValue<std::int64_t>("amount") : 0;
    if (order.orderId.empty() || order.transactionNumber != request.transactionId)
        throw Error(ErrorCode::Malformed, "the STB's order does not match its transaction " + request.transactionId);
    return order;
}

} // namespace

Settler::Settler(std::string phoneId, trust::SigningKey key, std::shared_ptr<ServerLine> line, Confirm confirm,
                 std::optional<wire::Certificate> serverCertificate, std::function<std::int64_t()> clock)
    : phoneId_(std::move(phoneId)), key_(std::move(key)), line_(line ? std::move(line) : std::make_shared<OfflineServerLine>()),
      confirm_(std::move(confirm)), serverCertificate_(std::move(serverCertificate)), clock_(clock ? std::move(clock) : [] { return static_cast<std::int64_t>(::time(nullptr)); })
{
}

std::optional<wire::Certificate> Settler::serverCertificate() const
{
    std::lock_guard lock(serverMutex_);
    return serverCertificate_;
}

trust::VerifyingKey Settler::checkServer(const wire::Certificate& certificate) const
{
    // Without the root the provisioned certificate is taken as it is (nothing presented is).
    if (!root_) return trust::VerifyingKey::fromCertificate(certificate);
    return trust::verifyCertificate(certificate, *root_, wire::CertificateRole::Server, clock_());
}

void Settler::useServer(const wire::Certificate& certificate)
{
    // Only forward: a certificate issued before the one in use (say an STB relays an older
    // receipt with its certificate) does not take its place.
    std::lock_guard lock(serverMutex_);
    if (!serverCertificate_ || certificate.notBefore > serverCertificate_->notBefore) serverCertificate_ = certificate;
}

std::optional<bt::Message> Settler::handle(const bt::Message& message)
{
    try {
        if (message.type == bt::MessageType::SettlementRequest)
            return settle(bt::SettlementRequestBody::decode(message.body));
        if (message.type == bt::MessageType::Receipt) return relayedReceipt(bt::ReceiptBody::decode(message.body));
        if (message.type == bt::MessageType::HistoryHandoff) return carry(bt::HistoryHandoffBody::decode(message.body));
    } catch (const Error& e) {
        return result(false, e.code(), e.what());
    } catch (const std::exception& e) {
        return result(false, ErrorCode::Internal, e.what());
    }
    return std::nullopt;
}

wire::Approval Settler::approval(const ServerOrder& order, wire::Decision decision) const
{
    wire::Approval a;
    a.transactionNumber = order.transactionNumber;
    a.orderId = order.orderId;
    a.accountId = order.accountId;
    a.phoneId = phoneId_;
    a.payee = order.payee;
    a.amount = order.amount;
    a.currency = order.currency;
    a.decision = decision;
    a.decidedAt = clock_();
    trust::sign(a, key_);
    return a;
}

bt::Message Settler::settle(const bt::SettlementRequestBody& request)
{
    if (line_->available()) {
        std::optional<ServerOrder> order;
        try {
            order = line_->transaction(request.transactionId);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::Unavailable) throw;
        }
        if (order) {
            // The STB is not trusted to describe the purchase: the server's word is shown and signed.
            if (static_cast<std::int64_t>(request.amountMinor) != order->amount || request.currency != order->currency ||
                request.payee != order->payee)
                return result(false, ErrorCode::Conflict,
                              "the STB's request differs from the server's transaction " + request.transactionId);
            const auto decision = confirm_(*order);
            const auto answer = line_->approve(approval(*order, decision));
            if (decision == wire::Decision::Decline) return result(false, ErrorCode::PermissionDenied, "declined on the phone");
            if (decision == wire::Decision::NotMe) return result(true, ErrorCode::Internal, "reported as not me over the phone's line");
            if (answer.receipt) acknowledge(request.transactionId, *answer.receipt);
            return result(true, ErrorCode::Internal, "approved over the phone's line");
        }
    }
    // No line: the STB relays the signed decision, sealed to the server (its amount and payee are what
    // the user sees and signs; the server refuses an approval that does not match its transaction).
    const auto server = serverCertificate();
    if (!server)
        return result(false, ErrorCode::Unavailable,
                      "the phone has no line and no server certificate to seal a relayed approval to");
    const auto order = orderFromRequest(request);
    // Every decision is relayed: a decline or "not me" releases the held amount at the server at once.
    const auto decision = confirm_(order);
    return {bt::MessageType::Approval, 0, 0,
            bt::ApprovalBody{request.transactionId, true, trust::sealApproval(approval(order, decision), *server)}.encode()};
}

bt::Message Settler::carry(const bt::HistoryHandoffBody& handoff)
{
    // The batch is sealed to the server and signed by the STB: the phone only moves it.
    // No line: Result unavailable, and the STB keeps the records for a later handoff.
    // The certificate goes along: a box without a line may not know the key that signed.
    const auto settled = line_->settleHistory(handoff.history);
    if (root_ && !settled.serverCertificate.empty()) {
        try {
            // Followed once it checks under the root and verifies the result it came with.
            const auto presented = wire::Certificate::decode(settled.serverCertificate);
            trust::verifySignature(wire::SettlementResult::decode(settled.result), checkServer(presented));
            useServer(presented);
        } catch (const Error&) {
            // Not followed; the STB checks the result for itself.
        }
    }
    return {bt::MessageType::SettlementResult, 0, 0,
            bt::SettlementResultBody{settled.settledThrough, settled.result, settled.serverCertificate}.encode()};
}

bt::Message Settler::relayedReceipt(const bt::ReceiptBody& body)
{
    // The STB carries it: only the server's signature makes it worth keeping and acknowledging.
    const auto receipt = wire::Receipt::decode(body.receipt);
    trust::KnownServerCertificates known;
    if (root_ && !body.serverCertificate.empty()) known.presented = wire::Certificate::decode(body.serverCertificate);
    known.configured = serverCertificate();
    const auto server = trust::chooseServer(trust::signingWith(known, receipt.signer.keyId),
                                            [this](const wire::Certificate& c) { return checkServer(c); },
                                            "check a receipt relayed by the STB with");
    trust::verifySignature(receipt, server.key);
    useServer(server.certificate);
    return acknowledge(body.transactionId, receipt);
}

bt::Message Settler::acknowledge(const std::string& transactionId, const wire::Receipt& receipt)
{
    wire::Acknowledgement k;
    k.receiptId = receipt.receiptId;
    k.orderId = receipt.orderId;
    k.phoneId = phoneId_;
    k.acknowledgedAt = clock_();
    trust::sign(k, key_);
    if (keepReceipt_) keepReceipt_(receipt);
    if (line_->available()) {
        try {
            line_->acknowledge(k);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::Unavailable) throw;
        }
    }
    return {bt::MessageType::Acknowledgement, 0, 0, bt::AcknowledgementBody{transactionId, k.encode()}.encode()};
}

} // namespace boxoffice::phone
