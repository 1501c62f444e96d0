#include <boxoffice/ledger/Invariants.h>

#include <map>
#include <tuple>

namespace boxoffice::ledger {

std::vector<std::string> checkInvariants(storage::Transaction& tx)
{
    std::vector<std::string> bad;

    // Each account's balance fields equal the sum of its transfers.
    using Sums = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>; // dp, dP, cp, cP
    std::map<std::string, Sums> sums;
    for (const auto& r : tx.query("SELECT debit_account, credit_account, amount, state FROM ledger_transfer")) {
        const auto amount = r.int64(2);
        const auto state = r.text(3);
        auto& d = sums[r.text(0)];
        auto& c = sums[r.text(1)];
        if (state == "pending") {
            std::get<0>(d) += amount;
            std::get<2>(c) += amount;
        } else if (state == "posted") {
            std::get<1>(d) += amount;
            std::get<3>(c) += amount;
        }
    }
    // Per currency: total debits equal total credits (summed wide: no overflow).
    __extension__ typedef __int128 Wide;
    std::map<std::string, std::tuple<Wide, Wide, Wide, Wide>> totals;
    for (const auto& r : tx.query("SELECT id, debits_pending, debits_posted, credits_pending, credits_posted, floor,"
                                  " currency FROM ledger_account")) {
        auto& total = totals[r.text(6)];
        std::get<0>(total) += r.int64(1);
        std::get<1>(total) += r.int64(2);
        std::get<2>(total) += r.int64(3);
        std::get<3>(total) += r.int64(4);
        const auto id = r.text(0);
        const Sums stored{r.int64(1), r.int64(2), r.int64(3), r.int64(4)};
        const Sums derived = sums.count(id) ? sums[id] : Sums{};
        if (stored != derived) bad.push_back("account " + id + ": balance fields differ from its transfers");
        if (auto floor = r.optInt64(5)) {
            const auto available = r.int64(4) - r.int64(2) - r.int64(1);
            if (available < *floor)
                bad.push_back("account " + id + ": available " + std::to_string(available) + " below floor " +
                              std::to_string(*floor));
        }
    }

    for (const auto& [currency, t] : totals) {
        if (std::get<0>(t) != std::get<2>(t)) bad.push_back(currency + ": pending debits != pending credits");
        if (std::get<1>(t) != std::get<3>(t)) bad.push_back(currency + ": posted debits != posted credits");
    }

    // Resolutions: exactly one per resolved transfer, matching its state; none for pending ones.
    for (const auto& r : tx.query("SELECT t.id, t.state, CAST(count(r.transfer_id) AS BIGINT), max(r.state)"
                                  " FROM ledger_transfer t LEFT JOIN ledger_resolution r ON r.transfer_id = t.id"
                                  " GROUP BY t.id, t.state")) {
        const auto state = r.text(1);
        const auto count = r.int64(2);
        if (state == "pending" && count != 0) bad.push_back("transfer " + r.text(0) + ": pending but resolved");
        if (state != "pending" && (count != 1 || r.optText(3).value_or("") != state))
            bad.push_back("transfer " + r.text(0) + ": " + state + " with " + std::to_string(count) +
                          " resolution record(s)");
    }

    // Shape of every transfer.
    for (const auto& r : tx.query("SELECT t.id FROM ledger_transfer t"
                                  " JOIN ledger_account d ON d.id = t.debit_account"
                                  " JOIN ledger_account c ON c.id = t.credit_account"
                                  " WHERE t.amount <= 0 OR t.debit_account = t.credit_account"
                                  " OR d.currency <> t.currency OR c.currency <> t.currency"))
        bad.push_back("transfer " + r.text(0) + ": malformed (amount, accounts or currency)");
    return bad;
}

std::vector<std::string> checkInvariants(storage::Database& db)
{
    return db.read([](storage::Transaction& tx) { return checkInvariants(tx); });
}

} // namespace boxoffice::ledger
