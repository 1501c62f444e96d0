#pragma once
// The store-and-forward queue of outgoing uploads, in SQLite (survives restarts and
// hours without a line). Strictly first in, first out: history uploads must reach
// the server in sequence order. Each item waits until its next attempt time, set by
// the sender's backoff after a failure.

#include <boxoffice/storage/Database.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace boxoffice::plugins::sync {

struct OutboxItem {
    std::int64_t id = 0;
    std::string kind;                  // "history"
    std::string method;                // "POST"
    std::string path;                  // "/v1/stb/history"
    std::string body;                  // JSON text
    std::uint64_t lastSequence = 0;    // history items: the last record they carry
    std::int64_t attempts = 0;         // failed so far
    std::int64_t nextAttemptMs = 0;    // unix ms; 0: at once
};

class Outbox {
public:
    explicit Outbox(const std::filesystem::path& file);

    void push(const OutboxItem& item);
    std::optional<OutboxItem> front();
    void remove(std::int64_t id);
    void retryLater(std::int64_t id, std::int64_t nextAttemptMs);
    void makeAllDue();
    std::uint64_t size();
    std::uint64_t lastQueuedSequence(const std::string& kind);

private:
    storage::Database db_;
};

} // namespace boxoffice::plugins::sync
