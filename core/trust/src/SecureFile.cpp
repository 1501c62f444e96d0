#include "SecureFile.h"

#include <boxoffice/base/Error.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace boxoffice::trust::detail {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void ioError(const std::string& what, const fs::path& file)
{
    throw Error(ErrorCode::Io, what + " " + file.string() + ": " + std::strerror(errno));
}

void makeDirectories(const fs::path& dir, bool secret)
{
    if (dir.empty() || fs::exists(dir)) return;
    makeDirectories(dir.parent_path(), secret);
    if (::mkdir(dir.c_str(), secret ? 0700 : 0755) != 0 && errno != EEXIST) ioError("cannot create directory", dir);
}

void writeAll(int fd, std::string_view data, const fs::path& file)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ioError("cannot write", file);
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace

void writeFileAtomically(const fs::path& file, std::string_view data, bool secret)
{
    makeDirectories(file.parent_path(), secret);
    const fs::path temp = file.string() + ".tmp";
    ::unlink(temp.c_str());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0) ioError("cannot create", temp);
    try {
        writeAll(fd, data, temp);
        if (::fsync(fd) != 0) ioError("cannot sync", temp);
    } catch (...) {
        ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(temp.c_str(), file.c_str()) != 0) {
        ::unlink(temp.c_str());
        ioError("cannot replace", file);
    }
}

void appendLine(const fs::path& file, std::string_view line)
{
    makeDirectories(file.parent_path(), true);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) ioError("cannot open", file);
    try {
        writeAll(fd, std::string(line) + "\n", file);
        if (::fsync(fd) != 0) ioError("cannot sync", file);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

std::string readFile(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        if (!fs::exists(file)) throw Error(ErrorCode::NotFound, "no such file: " + file.string());
        throw Error(ErrorCode::Io, "cannot read " + file.string());
    }
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void requirePrivate(const fs::path& file)
{
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) ioError("cannot stat", file);
    if ((st.st_mode & 077) != 0)
        throw Error(ErrorCode::PermissionDenied, file.string() + " is accessible by group or others (must be 0600)");
}

} // namespace boxoffice::trust::detail
