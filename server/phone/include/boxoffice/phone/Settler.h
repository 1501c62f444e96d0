#pragma once
// The phone's side of the impulse purchase (DESIGN §5 flow 3) and of receipts:
// what a phone app does with a SettlementRequest or a Receipt arriving from
// the STB over Bluetooth.
//
// SettlementRequest, phone with a line: the phone asks the server what the
// transaction is (it trusts the server's amount and payee, not the STB's, and
// refuses a request that disagrees), shows it, signs the user's decision and
// posts it over its own line; an approval's receipt is acknowledged at once.
// Reply: Result ok (the STB then fetches its ticket) or Result !ok naming why.
// Without a line (or with the server unreachable) the signed approval goes
// back to the STB to relay (Approval, relay = true), sealed to the server's
// agreement key (trust/SealedApproval.h) from the server certificate the phone
// app was provisioned with; without one the phone cannot relay (Result unavailable).
// Receipt: the phone signs an acknowledgement, posts it when it has a line,
// and answers with it (Acknowledgement) either way.
// HistoryHandoff (flow 5): the phone uploads the STB's sealed history batch over
// its own line (POST /v1/phone/history-batches) and answers with the server's
// signed SettlementResult; without a line, or when the server refuses the batch,
// with Result !ok naming why (the STB keeps its records and tries again later).

#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/phone/ServerLine.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Certificate.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace boxoffice::phone {

class Settler {
public:
    // Shows the order (server's word when there is a line) and returns the user's answer.
    using Confirm = std::function<bool(const ServerOrder&)>;

    // `phoneId` is the phone's id at the server (its certificate subject), `key` its registered key,
    // `serverCertificate` the operator server's (relayed approvals are sealed to it).
    Settler(std::string phoneId, trust::SigningKey key, std::shared_ptr<ServerLine> line, Confirm confirm,
            std::optional<wire::Certificate> serverCertificate = {}, std::function<std::int64_t()> clock = {});

    // The reply for a message from the STB; nothing for messages it does not handle.
    std::optional<bluetooth::Message> handle(const bluetooth::Message& message);

private:
    bluetooth::Message settle(const bluetooth::SettlementRequestBody& request);
    bluetooth::Message acknowledge(const bluetooth::ReceiptBody& receipt);
    bluetooth::Message carry(const bluetooth::HistoryHandoffBody& handoff);
    wire::Approval approval(const ServerOrder& order, bool approve) const;

    std::string phoneId_;
    trust::SigningKey key_;
    std::shared_ptr<ServerLine> line_;
    Confirm confirm_;
    std::optional<wire::Certificate> serverCertificate_;
    std::function<std::int64_t()> clock_;
};

} // namespace boxoffice::phone
