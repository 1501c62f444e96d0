#pragma once
// Runs a server test on each backend: a fresh SQLite file, or a fresh database
// on the `postgres` fixture's server.

#include <boxoffice/base/Error.h>
#include <boxoffice/storage/Database.h>
#include <boxoffice/testsupport/Postgres.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <unistd.h>

namespace boxoffice {
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << toString(code); }
} // namespace boxoffice

namespace boxoffice::server::test {

class ScratchDir {
public:
    ScratchDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("boxoffice-server-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class BackendTest : public ::testing::TestWithParam<storage::Backend> {
protected:
    void SetUp() override {
        if (GetParam() == storage::Backend::Sqlite) {
            dir_ = std::make_unique<ScratchDir>();
            connection_ = "sqlite:" + (dir_->path() / "server.db").string();
        } else {
            pg_ = std::make_unique<testsupport::PostgresDatabase>();
            connection_ = pg_->connection();
        }
        db_ = std::make_unique<storage::Database>(connection_);
    }
    void TearDown() override { db_.reset(); }

    storage::Database& db() { return *db_; }
    const std::string& connection() const { return connection_; }

private:
    std::unique_ptr<ScratchDir> dir_;
    std::unique_ptr<testsupport::PostgresDatabase> pg_;
    std::string connection_;
    std::unique_ptr<storage::Database> db_;
};

inline std::string backendName(const ::testing::TestParamInfo<storage::Backend>& info) {
    return info.param == storage::Backend::Sqlite ? "Sqlite" : "Postgres";
}

#define BOXOFFICE_SERVER_ON_BOTH_BACKENDS(suite)                                                         \
    INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                            \
                             ::testing::Values(::boxoffice::storage::Backend::Sqlite,                    \
                                               ::boxoffice::storage::Backend::Postgres),                 \
                             ::boxoffice::server::test::backendName)

// Expects `statement` to throw boxoffice::Error with code `expected`; returns its message.
#define EXPECT_BOX_ERROR(statement, expected)                                                             \
    [&]() -> std::string {                                                                                \
        try {                                                                                             \
            statement;                                                                                    \
        } catch (const ::boxoffice::Error& boxError) {                                                    \
            EXPECT_EQ(boxError.code(), expected) << boxError.what();                                                 \
            return boxError.what();                                                                       \
        }                                                                                                 \
        ADD_FAILURE() << #statement " did not throw";                                                     \
        return {};                                                                                        \
    }()

} // namespace boxoffice::server::test
