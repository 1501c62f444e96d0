#pragma once
// Double-entry ledger with two-phase transfers (after TigerBeetle's model:
// pending -> posted | voided | expired, each pending transfer resolved at most
// once, balances kept per account as pending/posted debits and credits).
//
// Every request is idempotent by its client-generated id: the same id with the
// same parameters answers what the first call answered; the same id with other
// parameters throws Error(Conflict); concurrent duplicates have one effect (the
// storage layer's serializable writes, retried).
//
// The Transaction& overloads let another component (settlement) change the
// ledger and its own tables in ONE transaction; they must then run inside
// Database::write so that transient errors are retried.
//
// Time is the server's (Clock, ms since the epoch), never the client's.

#include <boxoffice/ledger/Types.h>
#include <boxoffice/storage/Database.h>

#include <functional>
#include <optional>
#include <vector>

namespace boxoffice::ledger {

class Ledger {
public:
    using Clock = std::function<std::int64_t()>;
    static std::int64_t systemClock();

    // Migrates the ledger schema on db (component "ledger").
    explicit Ledger(storage::Database& db, Clock clock = &Ledger::systemClock);

    static const storage::Schema& schema();
    storage::Database& database() noexcept { return db_; }
    std::int64_t now() const { return clock_(); }

    // Opens an account; the same spec again is a no-op; another spec for the
    // same id throws Error(Conflict). A wallet without a floor gets floor 0.
    Account open(AccountSpec spec);
    Account account(const std::string& id);                       // NotFound
    std::optional<Account> findAccount(storage::Transaction& tx, const std::string& id);

    // Creates a transfer (posted at once if timeoutSeconds == 0, else pending).
    // Refused: unknown account (NotFound), currency mismatch or bad amount
    // (InvalidArgument), debit account inhibited (PermissionDenied), below the
    // debit account's floor (LimitExceeded), id reused differently (Conflict).
    Transfer create(const TransferRequest& request);
    Transfer create(storage::Transaction& tx, const TransferRequest& request);

    // Resolves a pending transfer. Idempotent: posting a posted transfer (or
    // voiding a voided one) returns it unchanged. Posting a voided/expired
    // transfer, or voiding a posted one, throws Error(Conflict). Posting a
    // pending transfer past its expiry expires it and throws Error(Expired)
    // (the expiry is committed).
    Transfer post(const std::string& id);
    Transfer voidTransfer(const std::string& id);
    // In-transaction forms: never throw for the expired case, return the
    // transfer in state Expired instead (the caller decides).
    Transfer post(storage::Transaction& tx, const std::string& id);
    Transfer voidTransfer(storage::Transaction& tx, const std::string& id);

    // Expires every pending transfer whose time is up; returns how many.
    std::size_t expireDue();

    Transfer transfer(const std::string& id);                      // NotFound
    std::optional<Transfer> findTransfer(storage::Transaction& tx, const std::string& id);
    // Transfers touching an account, newest first.
    std::vector<Transfer> transfersOf(const std::string& accountId, std::size_t limit = 100);

    // "Not me": an inhibited account accepts no new debits until cleared.
    void setInhibited(const std::string& accountId, bool inhibited);
    void setInhibited(storage::Transaction& tx, const std::string& accountId, bool inhibited);

private:
    Transfer resolve(storage::Transaction& tx, const std::string& id, TransferState target);
    template <class F>
    auto writeIdempotent(F&& work);

    storage::Database& db_;
    Clock clock_;
};

} // namespace boxoffice::ledger
