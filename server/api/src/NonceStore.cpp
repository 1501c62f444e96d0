#include "NonceStore.h"

#include <boxoffice/serverapi/PhoneSignature.h>

namespace boxoffice::serverapi {

NonceStore::NonceStore(storage::Database& db) : db_(db)
{
    db_.migrate({"serverapi",
                 {{"phone nonces",
                   {"CREATE TABLE api_phone_nonce (phone_id {text} NOT NULL, nonce {text} NOT NULL,"
                    " seen_at {int64} NOT NULL, PRIMARY KEY (phone_id, nonce))",
                    "CREATE INDEX api_phone_nonce_seen ON api_phone_nonce (seen_at)"}}}});
}

void NonceStore::use(const std::string& phoneId, const std::string& nonce, std::int64_t now)
{
    const bool purge = (++uses_ % 512) == 0;
    const auto added = db_.write([&](storage::Transaction& tx) {
        // Older nonces cannot come back: their timestamps are outside the window.
        if (purge) tx.execute("DELETE FROM api_phone_nonce WHERE seen_at < ?", {now - 2 * kPhoneClockSkew});
        return tx.execute("INSERT INTO api_phone_nonce (phone_id, nonce, seen_at) VALUES (?, ?, ?)"
                          " ON CONFLICT (phone_id, nonce) DO NOTHING",
                          {phoneId, nonce, now});
    });
    if (added != 1) throw Error(ErrorCode::Replayed, "this request nonce was already used");
}

} // namespace boxoffice::serverapi
