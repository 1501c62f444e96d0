#pragma once
// The server's one database, opened by the `https` plugin and shared with every
// server plugin through the registry (SQLite file or PostgreSQL, by connection string).

#include <boxoffice/storage/Database.h>

#include <memory>

namespace boxoffice::serverapi {

struct DatabaseService {
    static constexpr const char* kServiceId = "boxoffice.server.Database/1";
    std::shared_ptr<storage::Database> database;
};

} // namespace boxoffice::serverapi
