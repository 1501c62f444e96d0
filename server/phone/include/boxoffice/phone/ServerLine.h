#pragma once
// The phone's own line to the operator's server: the phone API of
// boxoffice-server (server/openapi/boxoffice-server.yaml, "phone" tag), every
// request signed with the phone's registered P-256 key. HttpsServerLine is the
// real line; OfflineServerLine is a phone without one, which makes the STB
// relay (approval with relay = true, history handoff).
//
// Errors: the server's refusal as Error(code named by the server, its message),
// e.g. NotFound for another account's transaction, BadSignature for an approval
// that does not verify; Error(Unavailable) when the server cannot be reached.

#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Receipt.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::serverapi {
struct ClientOptions;
}

namespace boxoffice::phone {

// An order as the server states it to the phone (its account's orders only).
struct ServerOrder {
    std::string orderId;
    std::string transactionNumber;
    std::string deviceId;
    std::string accountId;
    std::string eventId;
    std::string payee;
    std::int64_t amount = 0;
    std::string currency;
    std::string state;                   // pending, approved, closed, declined, not-me, expired, ...
    std::string method;                  // phone | otp
    std::int64_t expiresAt = 0;
    std::optional<wire::Receipt> receipt;  // once approved
};

// A device-code registration (DESIGN §5 flow 1) as completed by the phone.
struct ServerRegistration {
    std::string code;
    std::string deviceId;
    std::string accountId;
    std::string state;                   // completed
    std::int64_t expiresAt = 0;
};

// The server's answer to a history batch the phone carried (DESIGN §5 flow 5).
struct HistorySettlement {
    std::string deviceId;
    std::uint64_t settledThrough = 0;
    Bytes result;                        // encoded wire::SettlementResult, signed by the server
    Bytes serverCertificate;             // encoded wire::Certificate of the signing key
};

class ServerLine {
public:
    virtual ~ServerLine() = default;
    virtual bool available() const = 0;

    // GET /v1/phone/transactions/{number}: what the phone shows before approving.
    virtual ServerOrder transaction(const std::string& number) = 0;
    // POST /v1/phone/approvals: the signed decision; the order after it (with the receipt when approved).
    virtual ServerOrder approve(const wire::Approval& approval) = 0;
    // POST /v1/phone/acknowledgements: the signed acknowledgement of a receipt (closes the order).
    virtual ServerOrder acknowledge(const wire::Acknowledgement& acknowledgement) = 0;
    // POST /v1/phone/registrations {code}: binds the STB showing `code` to the phone's account.
    virtual ServerRegistration registerStb(const std::string& code) = 0;
    // GET /v1/phone/purchases: the account's orders with their receipts.
    virtual std::vector<ServerOrder> purchases() = 0;
    // POST /v1/phone/history-batches {batch}: an STB's history, sealed to the server,
    // settled there; the signed result for the STB. The phone cannot open the batch.
    virtual HistorySettlement settleHistory(ByteView batch) = 0;
};

class OfflineServerLine final : public ServerLine {
public:
    bool available() const override { return false; }
    ServerOrder transaction(const std::string&) override { throw offline(); }
    ServerOrder approve(const wire::Approval&) override { throw offline(); }
    ServerOrder acknowledge(const wire::Acknowledgement&) override { throw offline(); }
    ServerRegistration registerStb(const std::string&) override { throw offline(); }
    std::vector<ServerOrder> purchases() override { throw offline(); }
    HistorySettlement settleHistory(ByteView) override { throw offline(); }

private:
    static Error offline() { return Error(ErrorCode::Unavailable, "the phone has no line to the server"); }
};

// The line over HTTPS (serverapi::Client). `options` names the server, its CA,
// and the phone's id (its certificate subject) and key. Thread-safe: one
// request at a time on one kept-alive connection.
class HttpsServerLine final : public ServerLine {
public:
    explicit HttpsServerLine(const serverapi::ClientOptions& options);
    ~HttpsServerLine() override;

    bool available() const override { return true; }
    ServerOrder transaction(const std::string& number) override;
    ServerOrder approve(const wire::Approval& approval) override;
    ServerOrder acknowledge(const wire::Acknowledgement& acknowledgement) override;
    ServerRegistration registerStb(const std::string& code) override;
    std::vector<ServerOrder> purchases() override;
    HistorySettlement settleHistory(ByteView batch) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace boxoffice::phone
