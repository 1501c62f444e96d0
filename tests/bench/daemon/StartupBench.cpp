// boxofficed time to ready (fork to sd_notify READY=1) and resident memory at
// ready, with every plugin of the build tree against an empty plugin directory,
// measured alternately in the same run.
//
//   build-bench/bin/daemon_startup_bench [runs]     (default 10)

#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/testing/NotifySocket.h>

#include <algorithm>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <sstream>

using namespace boxoffice::testing;
using namespace std::chrono_literals;

namespace {

struct Sample {
    double readyMs;
    long rssKiB;
};

Sample startOnce(const std::filesystem::path& plugins, const TempDir& dir, int run)
{
    const auto config = dir / ("boxofficed-" + std::to_string(run) + ".json");
    writeFile(config, R"({"host": {"pluginDirectory": ")" + plugins.string() + R"(", "dataDirectory": "data"},
                         "logging": {"level": "warning"}, "rpc": {"port": 0}})");
    NotifySocket notify(dir / ("notify-" + std::to_string(run)));
    const auto start = std::chrono::steady_clock::now();
    ChildProcess daemon(BOXOFFICED, {"--config", config.string()}, {{"NOTIFY_SOCKET", notify.path().string()}});
    if (!notify.waitFor("READY=1", 60s)) throw std::runtime_error("boxofficed did not become ready:\n" + daemon.output());
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    const long rss = statusKiB(daemon.pid(), "VmRSS");
    daemon.signal(SIGTERM);
    const auto status = daemon.wait(30s);
    if (status.value_or(-1) != 0)
        throw std::runtime_error("boxofficed did not stop cleanly (status " + std::to_string(status.value_or(-1)) + "):\n" + daemon.output());
    return {elapsed.count(), rss};
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 10;
    TempDir dir("boxofficed-bench");
    std::filesystem::create_directory(dir / "empty");
    const std::filesystem::path all = PLUGIN_DIRECTORY;
    std::size_t pluginCount = 0;
    for (const auto& entry : std::filesystem::directory_iterator(all))
        pluginCount += entry.path().extension() == ".so";

    std::vector<double> readyAll, readyNone, rssAll, rssNone;
    for (int i = 0; i < runs; ++i) {  // alternate so drift hits both alike
        const auto none = startOnce(dir / "empty", dir, 2 * i);
        const auto full = startOnce(all, dir, 2 * i + 1);
        readyNone.push_back(none.readyMs);
        rssNone.push_back(static_cast<double>(none.rssKiB));
        readyAll.push_back(full.readyMs);
        rssAll.push_back(static_cast<double>(full.rssKiB));
    }
    std::cout << std::fixed << std::setprecision(1) << "boxofficed, median of " << runs << " starts\n"
              << "  no plugins:           ready in " << median(readyNone) << " ms, RSS " << median(rssNone) / 1024.0 << " MiB\n"
              << "  all " << pluginCount << " plugins (" << all.string() << "): ready in " << median(readyAll)
              << " ms, RSS " << median(rssAll) / 1024.0 << " MiB\n"
              << std::setprecision(2) << "  ratio all/none: time " << median(readyAll) / median(readyNone) << ", RSS "
              << median(rssAll) / median(rssNone) << "\n";
    return 0;
}
