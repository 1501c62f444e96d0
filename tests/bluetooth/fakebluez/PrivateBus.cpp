#include "PrivateBus.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace boxoffice::fakebluez {

namespace {
int& sequence()
{
    static int value = 0;
    return value;
}
} // namespace

PrivateBus::PrivateBus()
    : path_("/tmp/bo-bus-" + std::to_string(::getpid()) + "-" + std::to_string(sequence()++))
{
    start();
}

void PrivateBus::start()
{
    ::unlink(path_.c_str());
    // --fork with --print-address and --print-pid on one pipe: two lines.
    const std::string command =
        "dbus-daemon --session --fork --nopidfile --address=unix:path=" + path_ + " --print-address=1 --print-pid=1";
    FILE* out = ::popen(command.c_str(), "r");
    if (!out) throw std::runtime_error("cannot run dbus-daemon: " + std::string(std::strerror(errno)));
    char line[512];
    address_.clear();
    pid_ = -1;
    if (std::fgets(line, sizeof line, out)) address_ = line;
    if (std::fgets(line, sizeof line, out)) pid_ = static_cast<pid_t>(std::atol(line));
    ::pclose(out);
    while (!address_.empty() && (address_.back() == '\n' || address_.back() == '\r')) address_.pop_back();
    if (address_.empty() || pid_ <= 0) throw std::runtime_error("dbus-daemon did not report its address");
    // Clients connect by path; the guid of a restarted daemon differs.
    address_ = "unix:path=" + path_;
}

void PrivateBus::kill()
{
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    // Not our child (it forked): wait until it is gone.
    for (int i = 0; i < 500 && ::kill(pid_, 0) == 0; ++i) ::usleep(10000);
    pid_ = -1;
}

void PrivateBus::restart()
{
    kill();
    start();
}

PrivateBus::~PrivateBus()
{
    kill();
    ::unlink(path_.c_str());
}

} // namespace boxoffice::fakebluez
