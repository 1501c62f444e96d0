#pragma once
// Phone request nonces seen within the accepted clock window, in the database
// so that every server process sharing it refuses the same replay.

#include <boxoffice/storage/Database.h>

#include <atomic>
#include <string>

namespace boxoffice::serverapi {

class NonceStore {
public:
    explicit NonceStore(storage::Database& db);
    // Records the nonce; Error(Replayed) if this phone used it before.
    void use(const std::string& phoneId, const std::string& nonce, std::int64_t now);

private:
    storage::Database& db_;
    std::atomic<unsigned> uses_{0};
};

} // namespace boxoffice::serverapi
