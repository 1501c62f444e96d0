#pragma once
// The phone's side of the impulse purchase (DESIGN §5 flow 3) and of receipts:
// what a phone app does with a SettlementRequest or a Receipt arriving from
// the STB over Bluetooth.
//
// SettlementRequest, phone with a line: the phone asks the server what the
// transaction is (it trusts the server's amount and payee, not the STB's, and
// refuses a request that disagrees), shows it, signs the user's decision
// (approve, decline or "not me") and posts it over its own line; an approval's
// receipt is acknowledged at once. Reply: Result ok when the server took an
// approval or a "not me" (the STB then asks the server for the outcome: its
// ticket, or the not-me refusal), Result !ok for a decline or naming why it failed.
// Without a line (or with the server unreachable) the signed decision goes
// back to the STB to relay (Approval, relay = true), sealed to the server's
// agreement key (trust/SealedApproval.h) from the server certificate the phone
// app was provisioned with; without one the phone cannot relay (Result unavailable).
// Receipt (relayed by the STB): the phone checks the server's signature (it
// needs the server certificate for that), signs an acknowledgement, posts it
// when it has a line, and answers with it (Acknowledgement) either way; a
// receipt that does not verify gets Result !ok and no acknowledgement.
// Server key rotation: with the operator root (trustRoot), a server certificate
// presented to the phone (by the server with a history settlement, by the STB
// with a relayed receipt) that checks under the root as a server certificate
// valid now, and verifies the result or receipt it came with, replaces the one in
// use when it was issued later: receipts of the new key verify, and relayed
// approvals are sealed to it. The phone has no revocation lists: an earlier
// certificate never takes the place of a later one.
// HistoryHandoff (flow 5): the phone uploads the STB's sealed history batch over
// its own line (POST /v1/phone/history-batches) and answers with the server's
// signed SettlementResult; without a line, or when the server refuses the batch,
// with Result !ok naming why (the STB keeps its records and tries again later).

#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/phone/ServerLine.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/Receipt.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace boxoffice::phone {

class Settler {
public:
    // Shows the order (server's word when there is a line) and returns the user's decision.
    using Confirm = std::function<wire::Decision(const ServerOrder&)>;

    // `phoneId` is the phone's id at the server (its certificate subject), `key` its registered key,
    // `serverCertificate` the operator server's (relayed approvals are sealed to it).
    Settler(std::string phoneId, trust::SigningKey key, std::shared_ptr<ServerLine> line, Confirm confirm,
            std::optional<wire::Certificate> serverCertificate = {}, std::function<std::int64_t()> clock = {});

    // The reply for a message from the STB; nothing for messages it does not handle.
    std::optional<bluetooth::Message> handle(const bluetooth::Message& message);

    // Where the app keeps each receipt it acknowledged (from its line or relayed by the STB);
    // called on the thread of handle(). Set before the first message.
    void onReceipt(std::function<void(const wire::Receipt&)> keep) { keepReceipt_ = std::move(keep); }

    // The operator root the app was provisioned with: server certificates presented to the
    // phone are checked under it and followed (see above). Set before the first message.
    void trustRoot(trust::TrustAnchor root) { root_ = std::move(root); }

    // The server certificate in use (the provisioned one, or one learnt since).
    std::optional<wire::Certificate> serverCertificate() const;

private:
    bluetooth::Message settle(const bluetooth::SettlementRequestBody& request);
    bluetooth::Message relayedReceipt(const bluetooth::ReceiptBody& body);
    bluetooth::Message acknowledge(const std::string& transactionId, const wire::Receipt& receipt);
    bluetooth::Message carry(const bluetooth::HistoryHandoffBody& handoff);
    wire::Approval approval(const ServerOrder& order, wire::Decision decision) const;
    trust::VerifyingKey checkServer(const wire::Certificate& certificate) const;
    void useServer(const wire::Certificate& certificate);

    std::string phoneId_;
    trust::SigningKey key_;
    std::shared_ptr<ServerLine> line_;
    Confirm confirm_;
    std::optional<trust::TrustAnchor> root_;
    mutable std::mutex serverMutex_;   // guards serverCertificate_
    std::optional<wire::Certificate> serverCertificate_;
    std::function<std::int64_t()> clock_;
    std::function<void(const wire::Receipt&)> keepReceipt_;
};

} // namespace boxoffice::phone
