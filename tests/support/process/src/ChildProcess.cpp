#include <boxoffice/testing/ChildProcess.h>

#include <boxoffice/base/Error.h>

#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace boxoffice::testing {

ChildProcess::ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& environment)
{
    char pattern[] = "/tmp/boxoffice-child-XXXXXX";
    const int fd = ::mkstemp(pattern);
    if (fd < 0) throw Error(ErrorCode::Io, std::string("mkstemp: ") + std::strerror(errno));
    outputFile_ = pattern;

    std::vector<std::string> argStrings{program.string()};
    argStrings.insert(argStrings.end(), args.begin(), args.end());
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [key, value] : environment) env[key] = value;
    std::vector<std::string> envStrings;
    for (const auto& [key, value] : env) envStrings.push_back(key + "=" + value);
    std::vector<char*> argv;
    for (auto& a : argStrings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : envStrings) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) throw Error(ErrorCode::Io, std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
        ::setpgid(0, 0);
        ::execve(argv[0], argv.data(), envp.data());
        const char* message = "exec failed\n";
        (void)!::write(STDERR_FILENO, message, std::strlen(message));
        ::_exit(127);
    }
    ::close(fd);
}

ChildProcess::~ChildProcess()
{
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(std::chrono::seconds(10));
    }
    std::error_code ec;
    std::filesystem::remove(outputFile_, ec);
}

void ChildProcess::signal(int signo) const
{
    ::kill(pid_, signo);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout)
{
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        int raw = 0;
        const pid_t done = ::waitpid(pid_, &raw, WNOHANG);
        if (done == pid_) {
            status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
            return status_;
        }
        struct timespec pause{0, 10'000'000};
        nanosleep(&pause, nullptr);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
}

bool ChildProcess::running()
{
    return !wait(std::chrono::milliseconds(0)).has_value();
}

std::string ChildProcess::output() const
{
    return readFile(outputFile_);
}

bool ChildProcess::waitForOutput(const std::string& text, std::chrono::milliseconds timeout)
{
    return eventually([&] { return output().find(text) != std::string::npos || !running(); }, timeout) &&
           output().find(text) != std::string::npos;
}

TempDir::TempDir(const std::string& prefix)
{
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw Error(ErrorCode::Io, std::string("mkdtemp: ") + std::strerror(errno));
    path_ = pattern;
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string readFile(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void writeFile(const std::filesystem::path& file, const std::string& text)
{
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw Error(ErrorCode::Io, "cannot write " + file.string());
}

long statusKiB(pid_t pid, const std::string& field)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    const auto prefix = field + ":";
    for (std::string line; std::getline(status, line);)
        if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
    return -1;
}

} // namespace boxoffice::testing
