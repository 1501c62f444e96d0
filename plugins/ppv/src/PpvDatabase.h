#pragma once
// The ppv plugin's SQLite file (WAL, one writer): tickets (as received: the event
// key inside stays sealed to the device), the catalog, orders and the PIN state.

#include <boxoffice/storage/Database.h>

#include <filesystem>
#include <memory>

namespace boxoffice::plugins::ppv {

std::shared_ptr<storage::Database> openPpvDatabase(const std::filesystem::path& file);

} // namespace boxoffice::plugins::ppv
