#pragma once
// The ledger invariants of DESIGN §6 that the ledger alone can check. Tests run
// this after every step; an operator endpoint may run it too. Each violation
// is one human-readable line; an empty list means the ledger is consistent.
//
//  - per currency, the sums of debits and credits (pending and posted) are equal;
//  - every account's balance fields equal what its transfers add up to;
//  - every pending transfer resolved at most once: each resolved transfer has
//    exactly one resolution record matching its state, a pending one none;
//  - no account with a floor below it (available balance >= floor);
//  - amounts positive, debit != credit, currencies match the accounts.

#include <boxoffice/storage/Database.h>

#include <string>
#include <vector>

namespace boxoffice::ledger {

std::vector<std::string> checkInvariants(storage::Transaction& tx);
std::vector<std::string> checkInvariants(storage::Database& db);

} // namespace boxoffice::ledger
