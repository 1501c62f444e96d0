// Connection strings: backend selection, clear errors, no password in any message;
// opening sessions when the server takes no more.

#include "BackendFixture.h"

#include <boxoffice/storage/Transaction.h>

#include <chrono>
#include <future>

namespace boxoffice::storage::test {
namespace {

std::string fixturePort() {
    const std::string server = testsupport::postgresServer(); // postgresql://user@127.0.0.1:PORT/db
    auto colon = server.rfind(':');
    return server.substr(colon + 1, server.find('/', colon) - colon - 1);
}

TEST(StorageConnectionTest, RejectsBadStringsClearly) {
    struct Case {
        const char* text;
        const char* mentions;
    };
    for (const Case& c : {Case{"", "expected sqlite:"}, Case{"mysql://u@h/db", "unknown scheme 'mysql'"},
                          Case{"sqlite:", "needs a file path"}, Case{"sqlite::memory:", "in-memory"},
                          Case{"postgresql://u@127.0.0.1:99999/db", "1..65535"},
                          Case{"postgresql://u@127.0.0.1:54x/db", "'54x'"},
                          Case{"host=127.0.0.1 colour=blue", "unknown PostgreSQL connection option 'colour'"},
                          Case{"host=127.0.0.1 dbname", "expected key=value"},
                          Case{"postgresql://u@[::1/db", "unterminated '['"}}) {
        SCOPED_TRACE(c.text);
        auto message = EXPECT_STORAGE_ERROR(Database{c.text}, ErrorCode::InvalidArgument);
        EXPECT_NE(message.find(c.mentions), std::string::npos) << message;
    }
}

TEST(StorageConnectionTest, NeverEchoesAPassword) {
    // Malformed: "sesame" is no key=value pair.
    auto message = EXPECT_STORAGE_ERROR(Database("host=127.0.0.1 password=open sesame dbname=x"),
                                        ErrorCode::InvalidArgument);
    EXPECT_EQ(message.find("sesame"), std::string::npos) << message;
    // Well formed (a quoted value with a space), but nothing listens on port 1.
    message = EXPECT_STORAGE_ERROR(Database("host=127.0.0.1 port=1 password='open sesame' dbname=x"),
                                   ErrorCode::Unavailable);
    EXPECT_EQ(message.find("sesame"), std::string::npos) << message;
    // Unreachable: nothing listens on port 1.
    message = EXPECT_STORAGE_ERROR(Database("postgresql://boxoffice:Sup3rSecret@127.0.0.1:1/db"), ErrorCode::Unavailable);
    EXPECT_EQ(message.find("Sup3rSecret"), std::string::npos) << message;
    EXPECT_NE(message.find("postgresql://boxoffice@127.0.0.1:1/db"), std::string::npos) << message;
    message = EXPECT_STORAGE_ERROR(Database("host=127.0.0.1 port=1 user=boxoffice password=Sup3rSecret dbname=db"),
                                   ErrorCode::Unavailable);
    EXPECT_EQ(message.find("Sup3rSecret"), std::string::npos) << message;
}

TEST(StorageConnectionTest, SelectsTheBackendFromTheString) {
    TempDir dir;
    Database sqlite("sqlite:" + (dir.path() / "a.db").string());
    EXPECT_EQ(sqlite.backend(), Backend::Sqlite);
    EXPECT_EQ(sqlite.description(), "sqlite:" + (dir.path() / "a.db").string());
    Database uriForm("sqlite://" + (dir.path() / "a.db").string());
    EXPECT_EQ(uriForm.backend(), Backend::Sqlite);

    // The fixture trusts loopback, so a password is accepted and ignored: it
    // must still stay out of the description.
    Database pg("postgresql://boxoffice:hunter2@127.0.0.1:" + fixturePort() + "/boxoffice_test?application_name=storage-test");
    EXPECT_EQ(pg.backend(), Backend::Postgres);
    EXPECT_EQ(pg.description().find("hunter2"), std::string::npos) << pg.description();
    EXPECT_EQ(pg.read([](Transaction& tx) { return tx.query("SELECT current_setting('application_name')").single()->text(0); }),
              "storage-test");

    Database keywords("host=127.0.0.1 port=" + fixturePort() + " user=boxoffice dbname='boxoffice_test'");
    EXPECT_EQ(keywords.backend(), Backend::Postgres);
    EXPECT_EQ(keywords.read([](Transaction& tx) { return tx.query("SELECT current_database()").single()->text(0); }),
              "boxoffice_test");
}

// Values with spaces, quotes and backslashes reach the server exactly, from the
// key=value form (quoted, escaped) and from the URI form (%-escaped).
TEST(StorageConnectionTest, ValuesWithSpacesQuotesAndBackslashesArriveIntact) {
    const auto applicationName = [](Database& db) {
        return db.query("SELECT current_setting('application_name')").single()->text(0);
    };
    Database keywords("host=127.0.0.1 port=" + fixturePort() + " user=boxoffice dbname=boxoffice_test "
                      "password='open sesame' application_name='box office \\'s \\\\ test'");
    EXPECT_EQ(applicationName(keywords), "box office 's \\ test");
    Database uri("postgresql://boxoffice:open%20sesame@127.0.0.1:" + fixturePort() +
                 "/boxoffice_test?application_name=it%27s%20a%5Ctest");
    EXPECT_EQ(applicationName(uri), "it's a\\test");
    EXPECT_EQ(uri.description().find("sesame"), std::string::npos) << uri.description();
}

TEST(StorageConnectionTest, UnopenableSqliteFileIsAStorageError) {
    auto message = EXPECT_STORAGE_ERROR(Database("sqlite:/nonexistent-dir/sub/x.db"), ErrorCode::Storage);
    EXPECT_NE(message.find("/nonexistent-dir/sub/x.db"), std::string::npos) << message;
}

TEST(StorageConnectionTest, UnknownPostgresDatabaseIsUnavailable) {
    auto message = EXPECT_STORAGE_ERROR(
        Database("postgresql://boxoffice@127.0.0.1:" + fixturePort() + "/no_such_database"), ErrorCode::Unavailable);
    EXPECT_NE(message.find("no_such_database"), std::string::npos) << message;
}

// A role allowed one connection on a fresh database: the pool's second session cannot be opened.
class OneConnectionRole {
public:
    OneConnectionRole()
        : role_("pool_limited_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}())),
          admin_(database_.connection()) {
        admin_.write([&](Transaction& tx) { tx.execute("CREATE ROLE " + role_ + " LOGIN CONNECTION LIMIT 1"); });
    }
    ~OneConnectionRole() {
        try {
            admin_.write([&](Transaction& tx) { tx.execute("DROP ROLE IF EXISTS " + role_); });
        } catch (...) {
        }
    }
    std::string connection() const {
        return "postgresql://" + role_ + "@127.0.0.1:" + fixturePort() + "/" + database_.name();
    }

private:
    std::string role_;
    testsupport::PostgresDatabase database_;
    Database admin_;
};

TEST(StorageConnectionTest, WaitsForABusySessionWhenNoNewOneCanBeOpened) {
    OneConnectionRole role;
    Database db(role.connection()); // opens and pools the one session the role may have
    // Another client of the role is refused clearly, at once: it has no session to wait for.
    auto message = EXPECT_STORAGE_ERROR(Database(role.connection()), ErrorCode::Unavailable);
    EXPECT_NE(message.find("too many connections"), std::string::npos) << message;

    std::future<std::optional<Row>> reader;
    {
        Transaction held = db.begin(Access::Read);
        reader = std::async(std::launch::async, [&] { return db.query("SELECT 41 + 1").single(); });
        // Long enough for the reader to have tried, and failed, to open a second session.
        EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout);
        held.commit();
    } // the session goes back to the pool: the reader runs on it
    const auto row = reader.get();
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->int64(0), 42);
}

TEST(StorageConnectionTest, WaitingForABusySessionEndsWithTheConnectErrorAfterSessionWait) {
    OneConnectionRole role;
    Options options;
    options.sessionWait = std::chrono::milliseconds(300);
    Database db(role.connection(), options);
    {
        Transaction held = db.begin(Access::Read); // not given back while the query waits
        const auto started = std::chrono::steady_clock::now();
        auto message = EXPECT_STORAGE_ERROR(db.query("SELECT 1"), ErrorCode::Unavailable);
        EXPECT_GE(std::chrono::steady_clock::now() - started, options.sessionWait);
        EXPECT_NE(message.find("too many connections"), std::string::npos) << message;
        held.commit();
    }
    EXPECT_EQ(db.query("SELECT 1").single()->int64(0), 1); // the pool still works
}

} // namespace
} // namespace boxoffice::storage::test
