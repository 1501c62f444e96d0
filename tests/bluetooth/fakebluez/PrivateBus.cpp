#include "PrivateBus.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace boxoffice::fakebluez {

PrivateBus::PrivateBus()
{
    // --fork with --print-address and --print-pid on one pipe: two lines.
    FILE* out = ::popen("dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1", "r");
    if (!out) throw std::runtime_error("cannot run dbus-daemon: " + std::string(std::strerror(errno)));
    char line[512];
    if (std::fgets(line, sizeof line, out)) address_ = line;
    if (std::fgets(line, sizeof line, out)) pid_ = static_cast<pid_t>(std::atol(line));
    ::pclose(out);
    while (!address_.empty() && (address_.back() == '\n' || address_.back() == '\r')) address_.pop_back();
    if (address_.empty() || pid_ <= 0) throw std::runtime_error("dbus-daemon did not report its address");
}

PrivateBus::~PrivateBus()
{
    if (pid_ > 0) ::kill(pid_, SIGTERM);
}

} // namespace boxoffice::fakebluez
