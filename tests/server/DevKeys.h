#pragma once
// The development key set for server tests, written once per test process by
// the real boxoffice-keytool: `dev` plus a revoked STB ("stb-revoked"), and a
// second, foreign key set whose certificates the server must refuse.

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace boxoffice::server::test {

inline std::filesystem::path keytool()
{
    const char* build = std::getenv("BOXOFFICE_BUILD_DIR");
    if (!build) throw std::runtime_error("BOXOFFICE_BUILD_DIR is not set (run through ctest)");
    return std::filesystem::path(build) / "bin" / "boxoffice-keytool";
}

inline void runKeytool(const std::string& args)
{
    const auto command = keytool().string() + " " + args + " > /dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("keytool failed: " + args);
}

struct DevKeys {
    std::filesystem::path dir;      // the operator's keys
    std::filesystem::path foreign;  // another operator's keys
    DevKeys()
    {
        const auto base = std::filesystem::temp_directory_path() /
                          ("boxoffice-server-keys-" + std::to_string(::getpid()) + "-" +
                           std::to_string(std::random_device{}()));
        dir = base / "operator";
        foreign = base / "foreign";
        runKeytool("dev --out " + dir.string());
        runKeytool("device issue --dir " + dir.string() + " --id stb-revoked");
        runKeytool("revoke --dir " + dir.string() + " --device stb-revoked");
        runKeytool("dev --out " + foreign.string());
    }
    ~DevKeys()
    {
        std::error_code ignored;
        std::filesystem::remove_all(dir.parent_path(), ignored);
    }
    static const DevKeys& get()
    {
        static DevKeys keys;
        return keys;
    }
};

// The development keys copied to `into`, then `boxoffice-keytool server rotate` there: the
// server signs with <server>/2 and keeps the old agreement key retired. Returns `into`.
inline std::filesystem::path rotatedServerKeys(const std::filesystem::path& into)
{
    std::filesystem::remove_all(into);
    std::filesystem::copy(DevKeys::get().dir, into, std::filesystem::copy_options::recursive);
    runKeytool("server rotate --dir " + into.string());
    return into;
}

} // namespace boxoffice::server::test
