#include <boxoffice/ledger/Ledger.h>

namespace boxoffice::ledger {

const storage::Schema& Ledger::schema()
{
    // Append-only: never edit a released step.
    static const storage::Schema schema{
        "ledger",
        {
            {"accounts and transfers",
             {"CREATE TABLE ledger_account ("
              " id {text} PRIMARY KEY,"
              " kind {text} NOT NULL,"
              " currency {text} NOT NULL,"
              " floor {int64},"
              " debits_pending {int64} NOT NULL DEFAULT 0,"
              " debits_posted {int64} NOT NULL DEFAULT 0,"
              " credits_pending {int64} NOT NULL DEFAULT 0,"
              " credits_posted {int64} NOT NULL DEFAULT 0,"
              " inhibited {int64} NOT NULL DEFAULT 0,"
              " created_at {int64} NOT NULL)",
              "CREATE TABLE ledger_transfer ("
              " id {text} PRIMARY KEY,"
              " debit_account {text} NOT NULL REFERENCES ledger_account(id),"
              " credit_account {text} NOT NULL REFERENCES ledger_account(id),"
              " amount {int64} NOT NULL CHECK (amount > 0),"
              " currency {text} NOT NULL,"
              " timeout_seconds {int64} NOT NULL,"
              " reference {text} NOT NULL,"
              " state {text} NOT NULL,"
              " created_at {int64} NOT NULL,"
              " expires_at {int64} NOT NULL,"
              " resolved_at {int64} NOT NULL DEFAULT 0)",
              "CREATE INDEX ledger_transfer_debit ON ledger_transfer (debit_account)",
              "CREATE INDEX ledger_transfer_credit ON ledger_transfer (credit_account)",
              "CREATE INDEX ledger_transfer_pending ON ledger_transfer (state, expires_at)",
              // One row per resolution; the primary key makes a second one impossible.
              "CREATE TABLE ledger_resolution ("
              " transfer_id {text} PRIMARY KEY REFERENCES ledger_transfer(id),"
              " state {text} NOT NULL,"
              " at {int64} NOT NULL)"}},
        }};
    return schema;
}

} // namespace boxoffice::ledger
