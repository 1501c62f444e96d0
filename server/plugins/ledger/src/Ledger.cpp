#include <boxoffice/ledger/Ledger.h>

#include <boxoffice/base/Error.h>

#include <chrono>
#include <limits>

namespace boxoffice::ledger {
namespace {

using storage::Row;
using storage::Transaction;

constexpr const char* kAccountColumns =
    "id, kind, currency, floor, debits_pending, debits_posted, credits_pending, credits_posted, inhibited";
constexpr const char* kTransferColumns =
    "id, debit_account, credit_account, amount, currency, timeout_seconds, reference, state, created_at, "
    "expires_at, resolved_at";

Account accountFrom(const Row& r)
{
    Account a;
    a.spec.id = r.text(0);
    a.spec.kind = accountKindFromString(r.text(1));
    a.spec.currency = r.text(2);
    a.spec.floor = r.optInt64(3);
    a.debitsPending = r.int64(4);
    a.debitsPosted = r.int64(5);
    a.creditsPending = r.int64(6);
    a.creditsPosted = r.int64(7);
    a.inhibited = r.int64(8) != 0;
    return a;
}

Transfer transferFrom(const Row& r)
{
    Transfer t;
    t.request.id = r.text(0);
    t.request.debit = r.text(1);
    t.request.credit = r.text(2);
    t.request.amount = r.int64(3);
    t.request.currency = r.text(4);
    t.request.timeoutSeconds = r.int64(5);
    t.request.reference = r.text(6);
    t.state = transferStateFromString(r.text(7));
    t.createdAt = r.int64(8);
    t.expiresAt = r.int64(9);
    t.resolvedAt = r.int64(10);
    return t;
}

// Guards the balance columns against overflow: a sum that does not fit is refused.
// Each side of an account (debits, credits) keeps posted + pending within int64,
// checked when a transfer is created: posting only moves an amount from pending
// to posted and voiding lowers pending, so neither can overflow a column later.
void checkAddition(std::int64_t posted, std::int64_t pending, std::int64_t amount, const std::string& account)
{
    if (posted > std::numeric_limits<std::int64_t>::max() - pending - amount)
        throw Error(ErrorCode::LimitExceeded, "balance of account " + account + " would overflow");
}

void checkRequest(const TransferRequest& r)
{
    checkId(r.id, "transfer id");
    checkId(r.debit, "debit account id");
    checkId(r.credit, "credit account id");
    checkCurrency(r.currency);
    if (r.amount <= 0) throw Error(ErrorCode::InvalidArgument, "amount must be a positive number of minor units");
    if (r.debit == r.credit) throw Error(ErrorCode::InvalidArgument, "debit and credit accounts must differ");
    if (r.timeoutSeconds < 0 || r.timeoutSeconds > 366LL * 24 * 3600)
        throw Error(ErrorCode::InvalidArgument, "timeout must be 0..31622400 seconds");
    if (r.reference.size() > 200) throw Error(ErrorCode::InvalidArgument, "reference is longer than 200 bytes");
}

// How one transfer step changes the balances of its two accounts.
struct BalanceChange {
    std::int64_t debitsPending = 0, debitsPosted = 0, creditsPending = 0, creditsPosted = 0;
};

// Both accounts of a transfer in one statement: one round trip to the database, not two.
void changeBalances(Transaction& tx, const TransferRequest& r, const BalanceChange& c)
{
    const auto changed = tx.execute(
        "UPDATE ledger_account SET"
        " debits_pending = debits_pending + CASE WHEN id = ? THEN CAST(? AS {int64}) ELSE 0 END,"
        " debits_posted = debits_posted + CASE WHEN id = ? THEN CAST(? AS {int64}) ELSE 0 END,"
        " credits_pending = credits_pending + CASE WHEN id = ? THEN CAST(? AS {int64}) ELSE 0 END,"
        " credits_posted = credits_posted + CASE WHEN id = ? THEN CAST(? AS {int64}) ELSE 0 END"
        " WHERE id IN (?, ?)",
        {r.debit, c.debitsPending, r.debit, c.debitsPosted, r.credit, c.creditsPending, r.credit, c.creditsPosted,
         r.debit, r.credit});
    if (changed != 2)
        throw Error(ErrorCode::Internal, "transfer " + r.id + " changed " + std::to_string(changed) +
                                             " account rows instead of its two");
}

} // namespace

std::int64_t Ledger::systemClock()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Ledger::Ledger(storage::Database& db, Clock clock) : db_(db), clock_(std::move(clock))
{
    db_.migrate(schema());
}

// A unique-key race lost to a concurrent duplicate (possible on PostgreSQL when
// both inserted before either committed) is answered by running the request
// again: it then finds the winner's row and answers idempotently.
template <class F>
auto Ledger::writeIdempotent(F&& work)
{
    try {
        return db_.write(work);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::AlreadyExists) throw;
        return db_.write(work);
    }
}

Account Ledger::open(AccountSpec spec)
{
    checkId(spec.id, "account id");
    checkCurrency(spec.currency);
    if (spec.kind == AccountKind::Wallet && !spec.floor) spec.floor = 0;
    if (spec.kind == AccountKind::Postpaid && !spec.floor)
        throw Error(ErrorCode::InvalidArgument, "a post-paid account needs a floor (minus its credit limit)");
    if (spec.floor && *spec.floor > 0) throw Error(ErrorCode::InvalidArgument, "an account floor must be <= 0");
    return writeIdempotent([&](Transaction& tx) {
        if (auto existing = findAccount(tx, spec.id)) {
            if (existing->spec != spec)
                throw Error(ErrorCode::Conflict, "account " + spec.id + " already exists with other parameters");
            return *existing;
        }
        tx.execute("INSERT INTO ledger_account (id, kind, currency, floor, created_at) VALUES (?, ?, ?, ?, ?)",
                   {spec.id, toString(spec.kind), spec.currency, spec.floor, now()});
        return *findAccount(tx, spec.id);
    });
}

std::optional<Account> Ledger::findAccount(Transaction& tx, const std::string& id)
{
    auto row = tx.query(std::string("SELECT ") + kAccountColumns + " FROM ledger_account WHERE id = ?", {id}).single();
    if (!row) return std::nullopt;
    return accountFrom(*row);
}

Account Ledger::account(const std::string& id)
{
    auto a = db_.read([&](Transaction& tx) { return findAccount(tx, id); });
    if (!a) throw Error(ErrorCode::NotFound, "no account " + id);
    return *a;
}

std::optional<Transfer> Ledger::findTransfer(Transaction& tx, const std::string& id)
{
    auto row =
        tx.query(std::string("SELECT ") + kTransferColumns + " FROM ledger_transfer WHERE id = ?", {id}).single();
    if (!row) return std::nullopt;
    return transferFrom(*row);
}

Transfer Ledger::transfer(const std::string& id)
{
    auto t = db_.read([&](Transaction& tx) { return findTransfer(tx, id); });
    if (!t) throw Error(ErrorCode::NotFound, "no transfer " + id);
    return *t;
}

std::vector<Transfer> Ledger::transfersOf(const std::string& accountId, std::size_t limit)
{
    std::vector<Transfer> out;
    for (const auto& r : db_.query(std::string("SELECT ") + kTransferColumns +
                                       " FROM ledger_transfer WHERE debit_account = ? OR credit_account = ?"
                                       " ORDER BY created_at DESC, id LIMIT ?",
                                   {accountId, accountId, static_cast<std::int64_t>(limit)}))
        out.push_back(transferFrom(r));
    return out;
}

Transfer Ledger::create(const TransferRequest& request)
{
    return writeIdempotent([&](Transaction& tx) { return create(tx, request); });
}

Transfer Ledger::create(Transaction& tx, const TransferRequest& request)
{
    checkRequest(request);
    if (auto existing = findTransfer(tx, request.id)) {
        if (existing->request != request)
            throw Error(ErrorCode::Conflict, "transfer id " + request.id + " was already used with other parameters");
        return *existing;
    }
    // Both accounts in one round trip.
    std::optional<Account> debit, credit;
    for (const auto& row : tx.query(std::string("SELECT ") + kAccountColumns + " FROM ledger_account WHERE id IN (?, ?)",
                                    {request.debit, request.credit})) {
        auto account = accountFrom(row);
        if (account.spec.id == request.debit) debit = std::move(account);
        else if (account.spec.id == request.credit) credit = std::move(account);
    }
    if (!debit) throw Error(ErrorCode::NotFound, "no account " + request.debit);
    if (!credit) throw Error(ErrorCode::NotFound, "no account " + request.credit);
    if (debit->spec.currency != request.currency || credit->spec.currency != request.currency)
        throw Error(ErrorCode::InvalidArgument, "transfer currency " + request.currency + " does not match the accounts");
    if (debit->inhibited)
        throw Error(ErrorCode::PermissionDenied, "accounting on account " + request.debit + " is inhibited");
    const bool pending = request.timeoutSeconds > 0;
    checkAddition(debit->debitsPosted, debit->debitsPending, request.amount, request.debit);
    checkAddition(credit->creditsPosted, credit->creditsPending, request.amount, request.credit);
    // Within int64 after the check above: credits - (debits posted + pending + amount).
    if (debit->spec.floor &&
        debit->creditsPosted - (debit->debitsPosted + debit->debitsPending + request.amount) < *debit->spec.floor)
        throw Error(ErrorCode::LimitExceeded, "insufficient funds on account " + request.debit);

    const std::int64_t t = now();
    const std::int64_t expires = pending ? t + request.timeoutSeconds * 1000 : 0;
    const auto state = pending ? TransferState::Pending : TransferState::Posted;
    // The inserts go to the database with the balance update (executeDeferred), whose row count is checked.
    tx.executeDeferred("INSERT INTO ledger_transfer (id, debit_account, credit_account, amount, currency,"
                       " timeout_seconds, reference, state, created_at, expires_at, resolved_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {request.id, request.debit, request.credit, request.amount, request.currency,
                        request.timeoutSeconds, request.reference, toString(state), t, expires, pending ? 0 : t});
    if (pending) {
        changeBalances(tx, request, {.debitsPending = request.amount, .creditsPending = request.amount});
    } else {
        tx.executeDeferred("INSERT INTO ledger_resolution (transfer_id, state, at) VALUES (?, ?, ?)",
                           {request.id, toString(state), t});
        changeBalances(tx, request, {.debitsPosted = request.amount, .creditsPosted = request.amount});
    }
    // Exactly the row just inserted: no need to read it back.
    return Transfer{request, state, t, expires, pending ? 0 : t};
}

Transfer Ledger::resolve(Transaction& tx, const std::string& id, TransferState target)
{
    checkId(id, "transfer id");
    auto t = findTransfer(tx, id);
    if (!t) throw Error(ErrorCode::NotFound, "no transfer " + id);
    if (t->state == target) return *t; // a retry: same answer
    if (t->state != TransferState::Pending)
        throw Error(ErrorCode::Conflict,
                    "transfer " + id + " is already " + std::string(toString(t->state)));
    const std::int64_t at = now();
    if (target == TransferState::Posted && at >= t->expiresAt) target = TransferState::Expired;

    // The state guard makes the resolution happen once even if two resolvers raced. Posting
    // also needs the debit account's accounting not inhibited ("not me"): checked in the same
    // statement, and asked about only when it refused.
    const std::string update = "UPDATE ledger_transfer SET state = ?, resolved_at = ? WHERE id = ? AND state = ?";
    const auto changed =
        target == TransferState::Posted
            ? tx.execute(update + " AND NOT EXISTS (SELECT 1 FROM ledger_account a"
                                  " WHERE a.id = ledger_transfer.debit_account AND a.inhibited <> 0)",
                         {toString(target), at, id, toString(TransferState::Pending)})
            : tx.execute(update, {toString(target), at, id, toString(TransferState::Pending)});
    if (changed != 1) {
        if (target == TransferState::Posted &&
            tx.query("SELECT 1 FROM ledger_account WHERE id = ? AND inhibited <> 0", {t->request.debit}).single())
            throw Error(ErrorCode::PermissionDenied, "accounting on account " + t->request.debit + " is inhibited");
        throw Error(ErrorCode::Conflict, "transfer " + id + " was resolved concurrently");
    }
    tx.executeDeferred("INSERT INTO ledger_resolution (transfer_id, state, at) VALUES (?, ?, ?)",
                       {id, toString(target), at});
    const auto& r = t->request;
    if (target == TransferState::Posted)
        changeBalances(tx, r,
                       {.debitsPending = -r.amount, .debitsPosted = r.amount, .creditsPending = -r.amount,
                        .creditsPosted = r.amount});
    else
        changeBalances(tx, r, {.debitsPending = -r.amount, .creditsPending = -r.amount});
    // The row as updated above: no need to read it back.
    t->state = target;
    t->resolvedAt = at;
    return *t;
}

Transfer Ledger::post(Transaction& tx, const std::string& id) { return resolve(tx, id, TransferState::Posted); }

Transfer Ledger::voidTransfer(Transaction& tx, const std::string& id)
{
    auto t = findTransfer(tx, id);
    // Voiding something that already expired is what the caller wanted anyway.
    if (t && t->state == TransferState::Expired) return *t;
    return resolve(tx, id, TransferState::Voided);
}

Transfer Ledger::post(const std::string& id)
{
    auto t = db_.write([&](Transaction& tx) { return post(tx, id); });
    if (t.state == TransferState::Expired) throw Error(ErrorCode::Expired, "transfer " + id + " has expired");
    return t;
}

Transfer Ledger::voidTransfer(const std::string& id)
{
    return db_.write([&](Transaction& tx) { return voidTransfer(tx, id); });
}

std::size_t Ledger::expireDue()
{
    const std::int64_t at = now();
    std::vector<std::string> due;
    for (const auto& r : db_.query("SELECT id FROM ledger_transfer WHERE state = ? AND expires_at <= ? LIMIT 1000",
                                   {toString(TransferState::Pending), at}))
        due.push_back(r.text(0));
    std::size_t expired = 0;
    for (const auto& id : due) {
        // One short transaction each: a sweep never holds the writer for long.
        expired += db_.write([&](Transaction& tx) -> std::size_t {
            auto t = findTransfer(tx, id);
            if (!t || t->state != TransferState::Pending || t->expiresAt > now()) return 0;
            return resolve(tx, id, TransferState::Expired).state == TransferState::Expired ? 1 : 0;
        });
    }
    return expired;
}

void Ledger::setInhibited(Transaction& tx, const std::string& accountId, bool inhibited)
{
    if (tx.execute("UPDATE ledger_account SET inhibited = ? WHERE id = ?", {inhibited ? 1 : 0, accountId}) != 1)
        throw Error(ErrorCode::NotFound, "no account " + accountId);
}

void Ledger::setInhibited(const std::string& accountId, bool inhibited)
{
    db_.write([&](Transaction& tx) { setInhibited(tx, accountId, inhibited); });
}

} // namespace boxoffice::ledger
