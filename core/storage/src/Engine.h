#pragma once
// What a Database owns: the parsed target and the session pools. Shared with
// every Transaction so a transaction can never outlive its sessions.

#include "ConnectionString.h"
#include "PostgresStatements.h"
#include "SqliteStatements.h"

#include <boxoffice/storage/Database.h>

#include <Poco/Data/Session.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace boxoffice::storage {

// How a transaction begins; Migrate is a write that also takes the migration lock;
// Statement is one read statement (Database::query), on PostgreSQL without a
// transaction block.
enum class Begin { Read, Write, Migrate, Statement };

// A pooled session: SQLite's Poco session and the statements prepared on it, or
// PostgreSQL's connection with its statements (PostgresStatements owns it).
struct Connection {
    std::unique_ptr<Poco::Data::Session> session;
    std::unique_ptr<detail::SqliteStatements> statements; // declared after: finalized before the session closes
    std::unique_ptr<detail::PostgresStatements> postgres;
};

struct Database::Engine {
    Engine(detail::ConnectionTarget target, Options options);

    std::unique_ptr<Connection> openSession(bool writer);

    // Leases a session; give it back with release(). `healthy` false drops it.
    std::unique_ptr<Connection> acquire(bool writer);
    void release(std::unique_ptr<Connection> connection, bool writer, bool healthy) noexcept;

    detail::ConnectionTarget target;
    Options options;

    std::mutex poolMutex;
    std::condition_variable poolFreed;
    std::vector<std::unique_ptr<Connection>> idle; // PostgreSQL: all; SQLite: readers
    unsigned leased = 0;

    // SQLite's one writer: its session and the lock that makes it one.
    std::timed_mutex writerMutex;
    std::atomic<std::thread::id> writerThread{};
    std::unique_ptr<Connection> writerSession;

    // Group commit: write() units waiting for the next commit, and whether a
    // caller is leading one right now.
    struct GroupUnit {
        const std::function<void(Transaction&)>* work = nullptr;
        std::exception_ptr error;
        bool done = false;
        // Its own, so a commit wakes only the callers it finished and the next
        // leader, not every waiting caller.
        std::condition_variable wake;
    };
    std::mutex groupMutex;
    std::deque<GroupUnit*> groupQueue;
    bool groupLeader = false;
};

Transaction beginTransaction(const std::shared_ptr<Database::Engine>& engine, Begin how);

} // namespace boxoffice::storage
