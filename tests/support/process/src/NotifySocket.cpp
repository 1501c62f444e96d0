#include <boxoffice/testing/NotifySocket.h>

#include <boxoffice/base/Error.h>

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace boxoffice::testing {

NotifySocket::NotifySocket(const std::filesystem::path& path) : path_(path)
{
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw Error(ErrorCode::Io, "cannot bind notify socket " + path.string() + ": " + std::strerror(errno));
    timeval timeout{0, 50000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

NotifySocket::~NotifySocket()
{
    ::close(fd_);
    ::unlink(path_.c_str());
}

bool NotifySocket::waitFor(const std::string& text, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        char buffer[4096];
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) received_ += std::string(buffer, static_cast<std::size_t>(n)) + "\n";
    }
    return true;
}

} // namespace boxoffice::testing
