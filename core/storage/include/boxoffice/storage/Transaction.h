#pragma once
// A transaction on one pooled session. Statements are written in one dialect:
// `?` placeholders, bound in order (translated to $1..$n for PostgreSQL), and
// the type placeholders {id_pk} {blob} {int64} {text} (see Schema.h).
// SQLite: read blobs only from columns declared {blob}; Poco 1.11 reads an
// expression's blob as C text (cut at the first zero byte).
//
// Semantics shared by both backends:
// - A write transaction is serializable (SQLite: the one writer, BEGIN IMMEDIATE;
//   PostgreSQL: ISOLATION LEVEL SERIALIZABLE); a read transaction sees one
//   consistent snapshot and cannot write.
// - The first failing statement aborts the transaction (as PostgreSQL does):
//   later statements and commit() throw; the destructor rolls back.
// - Errors: unique/primary key violation -> Error(AlreadyExists); other
//   constraint violations -> Error(Conflict); busy/serialization/deadlock ->
//   TransientError (Unavailable); anything else -> Error(Storage).
// A Transaction keeps its Database alive, belongs to one thread at a time and
// must not be nested with another write transaction on the same thread.

#include <boxoffice/storage/Result.h>
#include <boxoffice/storage/Value.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace boxoffice::storage {

enum class Access { Read, Write };

class Transaction {
public:
    struct State;
    explicit Transaction(std::unique_ptr<State> state);
    Transaction(Transaction&&) noexcept;
    Transaction& operator=(Transaction&&) noexcept;
    ~Transaction(); // rolls back unless committed

    // Runs a statement that returns no rows; returns the number of rows it changed.
    std::uint64_t execute(std::string_view sql, const std::vector<Value>& params = {});
    // Runs a write whose row count the caller does not need, without waiting
    // for it: PostgreSQL sends it in one pipeline with the next statement of
    // this transaction, at the latest the release of the unit's savepoint or
    // the commit, and a failure is thrown by that statement (as the error the
    // write itself would have thrown). SQLite runs it at once.
    void executeDeferred(std::string_view sql, const std::vector<Value>& params = {});
    // Runs a statement that returns rows (SELECT, or INSERT/UPDATE ... RETURNING).
    Result query(std::string_view sql, const std::vector<Value>& params = {});

    void commit();
    void rollback();

    // A nested unit of work (one level): savepoint() marks where it starts;
    // rollbackToSavepoint() undoes everything since and lifts the aborted state
    // an error left; releaseSavepoint() keeps the unit's effects. Database's
    // group commit runs each caller's work this way.
    void savepoint();
    void rollbackToSavepoint();
    void releaseSavepoint();

    Access access() const noexcept;
    bool active() const noexcept;

private:
    std::unique_ptr<State> state_;
};

} // namespace boxoffice::storage
