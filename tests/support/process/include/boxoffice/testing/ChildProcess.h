#pragma once
// Runs a program for a test: arguments, extra environment, stdout and stderr
// captured to a file the test can read at any time, signals, bounded waits.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace boxoffice::testing {

class ChildProcess {
public:
    ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& environment = {});
    ~ChildProcess();  // kills the child if it still runs
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int signo) const;

    // The exit status (or 128 + signal), or nothing if still running at the deadline.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();

    // Everything the child wrote to stdout and stderr so far.
    std::string output() const;
    // Waits until output() contains `text`; false at the deadline or if the child exited first.
    bool waitForOutput(const std::string& text, std::chrono::milliseconds timeout);

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path outputFile_;
};

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "boxoffice-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// Polls `predicate` until true or the deadline; returns its last value.
template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) return true;
        struct timespec pause{0, 20'000'000};
        nanosleep(&pause, nullptr);
    }
    return predicate();
}

// Unix seconds from std::chrono::system_clock, the clock the server and the plugins
// use. Not ::time(): glibc reads that from the coarse clock, which can still show
// the previous second after system_clock has passed it.
inline std::int64_t unixNow()
{
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string readFile(const std::filesystem::path& file);
void writeFile(const std::filesystem::path& file, const std::string& text);

// A "<field>: <n> kB" line of /proc/<pid>/status (VmRSS, VmHWM, ...) in KiB; -1 if absent.
long statusKiB(pid_t pid, const std::string& field);

} // namespace boxoffice::testing
