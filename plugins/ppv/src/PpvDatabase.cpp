#include "PpvDatabase.h"

namespace boxoffice::plugins::ppv {

std::shared_ptr<storage::Database> openPpvDatabase(const std::filesystem::path& file)
{
    auto db = std::make_shared<storage::Database>("sqlite:" + file.string());
    db->migrate({"ppv", {
        {"tickets, catalog, orders, pin", {
            "CREATE TABLE ppv_ticket (ticket_id {text} PRIMARY KEY, event_id {text} NOT NULL, "
            "not_before {int64} NOT NULL, not_after {int64} NOT NULL, encoded {blob} NOT NULL, added_at {int64} NOT NULL)",
            "CREATE INDEX ppv_ticket_event ON ppv_ticket (event_id)",
            "CREATE TABLE ppv_catalog (event_id {text} PRIMARY KEY, position {int64} NOT NULL, title {text} NOT NULL, "
            "payee {text} NOT NULL, price {int64} NOT NULL, currency {text} NOT NULL, sale_from {int64} NOT NULL, "
            "sale_until {int64} NOT NULL, starts_at {int64} NOT NULL, ends_at {int64} NOT NULL, "
            "preview_seconds {int64} NOT NULL, blackout {int64} NOT NULL, event_key_id {text} NOT NULL, "
            "dvb_event_id {int64} NOT NULL, play_uri {text} NOT NULL, program {int64} NOT NULL)",
            "CREATE TABLE ppv_order (order_id {text} PRIMARY KEY, event_id {text} NOT NULL, amount {int64} NOT NULL, "
            "currency {text} NOT NULL, payee {text} NOT NULL, transaction_number {text} NOT NULL, "
            "method {text} NOT NULL, state {text} NOT NULL, reason {text} NOT NULL, ticket_id {text} NOT NULL, "
            "created_at {int64} NOT NULL)",
            "CREATE TABLE ppv_pin (id {int64} PRIMARY KEY CHECK (id = 1), salt {blob} NOT NULL, hash {blob} NOT NULL, "
            "iterations {int64} NOT NULL, failures {int64} NOT NULL, locked_until {int64} NOT NULL)",
        }},
        // Flow 5: a dormant ticket stays unplayable until a purchase record activates it
        // (activation = that billing record's sequence, checked against the history).
        {"dormant tickets", {
            "ALTER TABLE ppv_ticket ADD COLUMN dormant {int64} NOT NULL DEFAULT 0",
            "ALTER TABLE ppv_ticket ADD COLUMN activation {int64} NOT NULL DEFAULT 0",
        }},
        // A rental: playable for the ticket's playback window after its first play.
        // playback_window NULL: a ticket stored before, filled in from its bytes on open.
        {"playback window", {
            "ALTER TABLE ppv_ticket ADD COLUMN playback_window {int64}",
            "ALTER TABLE ppv_ticket ADD COLUMN first_played_at {int64} NOT NULL DEFAULT 0",
        }},
        // Views a ticket allows (views_allowed NULL: stored before, filled in from its bytes
        // on open) and a cache of the plays the billing history holds.
        {"views", {
            "ALTER TABLE ppv_ticket ADD COLUMN views_allowed {int64}",
            "ALTER TABLE ppv_ticket ADD COLUMN views_used {int64} NOT NULL DEFAULT 0",
            "ALTER TABLE ppv_catalog ADD COLUMN views {int64} NOT NULL DEFAULT 0",
            "ALTER TABLE ppv_catalog ADD COLUMN playback_window {int64} NOT NULL DEFAULT 0",
        }},
        // An approved order whose purchase record the billing history did not take (yet).
        {"unrecorded purchases", {
            "ALTER TABLE ppv_order ADD COLUMN unrecorded {int64} NOT NULL DEFAULT 0",
        }},
    }});
    return db;
}

} // namespace boxoffice::plugins::ppv
