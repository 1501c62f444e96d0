#pragma once
// Runs a test against each backend: a fresh SQLite file in a temporary
// directory, or a fresh database on the `postgres` ctest fixture's server.

#include <boxoffice/storage/Database.h>
#include <boxoffice/testsupport/Postgres.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>

namespace boxoffice {
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << toString(code); }
} // namespace boxoffice

namespace boxoffice::storage {
inline void PrintTo(Backend backend, std::ostream* os) { *os << (backend == Backend::Sqlite ? "SQLite" : "PostgreSQL"); }
} // namespace boxoffice::storage

namespace boxoffice::storage::test {

// A temporary directory removed with everything in it.
class TempDir {
public:
    TempDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("boxoffice-storage-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class BackendTest : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override {
        if (GetParam() == Backend::Sqlite) {
            dir_ = std::make_unique<TempDir>();
            connection_ = "sqlite:" + (dir_->path() / "test.db").string();
        } else {
            pg_ = std::make_unique<testsupport::PostgresDatabase>();
            connection_ = pg_->connection();
        }
        db_ = std::make_unique<Database>(connection_);
    }
    void TearDown() override { db_.reset(); }

    // Another Database on the same data: as a second process would see it.
    std::unique_ptr<Database> reopen() const { return std::make_unique<Database>(connection_); }

    Database& db() { return *db_; }
    const std::string& connection() const { return connection_; }

private:
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<testsupport::PostgresDatabase> pg_;
    std::string connection_;
    std::unique_ptr<Database> db_;
};

inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::Sqlite ? "Sqlite" : "Postgres";
}

#define BOXOFFICE_ON_BOTH_BACKENDS(suite)                                                                \
    INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                            \
                             ::testing::Values(::boxoffice::storage::Backend::Sqlite,                    \
                                               ::boxoffice::storage::Backend::Postgres),                 \
                             ::boxoffice::storage::test::backendName)

// Expects `statement` to throw boxoffice::Error with `expected` code; returns its message.
#define EXPECT_STORAGE_ERROR(statement, expected)                                                         \
    [&]() -> std::string {                                                                                \
        try {                                                                                             \
            statement;                                                                                    \
        } catch (const ::boxoffice::Error& e) {                                                           \
            EXPECT_EQ(e.code(), expected) << e.what();                                                    \
            return e.what();                                                                              \
        }                                                                                                 \
        ADD_FAILURE() << #statement " did not throw";                                                     \
        return {};                                                                                        \
    }()

} // namespace boxoffice::storage::test
