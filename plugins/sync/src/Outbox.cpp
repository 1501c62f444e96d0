#include "Outbox.h"

namespace boxoffice::plugins::sync {

using storage::Transaction;

namespace {

const storage::Schema& schema()
{
    static const storage::Schema s{
        "sync-outbox",
        {{"outgoing uploads",
          {"CREATE TABLE sync_outbox (id {id_pk}, kind {text} NOT NULL, method {text} NOT NULL, path {text} NOT NULL,"
           " body {text} NOT NULL, last_sequence {int64} NOT NULL, attempts {int64} NOT NULL,"
           " next_attempt_ms {int64} NOT NULL)"}}}};
    return s;
}

} // namespace

Outbox::Outbox(const std::filesystem::path& file) : db_("sqlite:" + file.string())
{
    db_.migrate(schema());
}

void Outbox::push(const OutboxItem& item)
{
    db_.write([&](Transaction& tx) {
        tx.execute("INSERT INTO sync_outbox (kind, method, path, body, last_sequence, attempts, next_attempt_ms)"
                   " VALUES (?, ?, ?, ?, ?, 0, ?)",
                   {item.kind, item.method, item.path, item.body, static_cast<std::int64_t>(item.lastSequence),
                    item.nextAttemptMs});
    });
}

std::optional<OutboxItem> Outbox::front()
{
    auto row = db_.query("SELECT id, kind, method, path, body, last_sequence, attempts, next_attempt_ms"
                         " FROM sync_outbox ORDER BY id LIMIT 1")
                   .single();
    if (!row) return std::nullopt;
    return OutboxItem{row->int64(0), row->text(1), row->text(2), row->text(3), row->text(4),
                      static_cast<std::uint64_t>(row->int64(5)), row->int64(6), row->int64(7)};
}

void Outbox::remove(std::int64_t id)
{
    db_.write([&](Transaction& tx) { tx.execute("DELETE FROM sync_outbox WHERE id = ?", {id}); });
}

void Outbox::retryLater(std::int64_t id, std::int64_t nextAttemptMs)
{
    db_.write([&](Transaction& tx) {
        tx.execute("UPDATE sync_outbox SET attempts = attempts + 1, next_attempt_ms = ? WHERE id = ?",
                   {nextAttemptMs, id});
    });
}

void Outbox::makeAllDue()
{
    db_.write([&](Transaction& tx) { tx.execute("UPDATE sync_outbox SET next_attempt_ms = 0"); });
}

std::uint64_t Outbox::size()
{
    return static_cast<std::uint64_t>(db_.query("SELECT COUNT(*) FROM sync_outbox").single()->int64(0));
}

std::uint64_t Outbox::lastQueuedSequence(const std::string& kind)
{
    auto row = db_.query("SELECT COALESCE(MAX(last_sequence), 0) FROM sync_outbox WHERE kind = ?", {kind}).single();
    return static_cast<std::uint64_t>(row->int64(0));
}

} // namespace boxoffice::plugins::sync
