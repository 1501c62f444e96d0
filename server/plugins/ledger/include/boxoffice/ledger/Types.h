#pragma once
// The ledger's vocabulary. Money is integer minor units plus an ISO 4217 code;
// ids are chosen by the clients (idempotency keys), never by the server.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace boxoffice::ledger {

enum class AccountKind {
    Wallet,    // a viewer's prepaid wallet: floor 0 unless configured
    Postpaid,  // a viewer's post-paid account: floor = -credit limit
    Merchant,  // an event provider / merchant (payee): no floor
    Revenue,   // the operator's revenue: no floor
    Funding,   // where deposits come from (cash desk, payment gateway): no floor
};

enum class TransferState { Pending, Posted, Voided, Expired };

std::string_view toString(AccountKind kind) noexcept;
std::string_view toString(TransferState state) noexcept;
// Inverses; an unknown keyword throws Error(InvalidArgument).
AccountKind accountKindFromString(std::string_view keyword);
TransferState transferStateFromString(std::string_view keyword);

struct AccountSpec {
    std::string id;
    AccountKind kind = AccountKind::Wallet;
    std::string currency;             // "EUR"
    std::optional<std::int64_t> floor; // lowest allowed available balance; none: unbounded

    friend bool operator==(const AccountSpec&, const AccountSpec&) = default;
};

struct Account {
    AccountSpec spec;
    std::int64_t debitsPending = 0;
    std::int64_t debitsPosted = 0;
    std::int64_t creditsPending = 0;
    std::int64_t creditsPosted = 0;
    bool inhibited = false;           // "not me": no new debits until cleared

    std::int64_t balance() const noexcept { return creditsPosted - debitsPosted; }
    // What can still be spent: pending debits are reserved (pessimistic, as TigerBeetle).
    std::int64_t available() const noexcept { return balance() - debitsPending; }
};

struct TransferRequest {
    std::string id;                   // client-generated idempotency key
    std::string debit;                // account paying
    std::string credit;               // account paid
    std::int64_t amount = 0;          // minor units, > 0
    std::string currency;
    std::int64_t timeoutSeconds = 0;  // 0: posted at once; > 0: pending, expires after this
    std::string reference;            // free text for people (order id, reason)

    friend bool operator==(const TransferRequest&, const TransferRequest&) = default;
};

struct Transfer {
    TransferRequest request;
    TransferState state = TransferState::Pending;
    std::int64_t createdAt = 0;       // server time, ms since the epoch
    std::int64_t expiresAt = 0;       // 0 when created posted
    std::int64_t resolvedAt = 0;      // 0 while pending
};

// Checks an id ([A-Za-z0-9._:-], 1..80 characters); throws Error(InvalidArgument) naming `what`.
void checkId(std::string_view id, std::string_view what);
// Checks a currency code (three upper-case letters); throws Error(InvalidArgument).
void checkCurrency(std::string_view currency);

} // namespace boxoffice::ledger
