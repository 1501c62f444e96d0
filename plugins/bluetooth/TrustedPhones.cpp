#include "TrustedPhones.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/ConstantTime.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace boxoffice::plugins::bluetooth {

TrustedPhones::TrustedPhones(std::filesystem::path file) : file_(std::move(file))
{
    if (!std::filesystem::exists(file_)) return;
    try {
        std::ifstream in(file_);
        std::stringstream text;
        text << in.rdbuf();
        Poco::JSON::Parser parser;
        auto root = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
        if (root->getValue<int>("version") != 1) throw Error(ErrorCode::Storage, "unknown version");
        auto list = root->getArray("phones");
        for (std::size_t i = 0; list && i < list->size(); ++i) {
            auto o = list->getObject(static_cast<unsigned>(i));
            TrustedPhone p;
            p.id = o->getValue<std::string>("id");
            p.name = o->getValue<std::string>("name");
            p.publicKey = fromHex(o->getValue<std::string>("publicKey"), "publicKey");
            auto key = fromHex(o->getValue<std::string>("pairingKey"), "pairingKey");
            p.pairingKey = crypto::SecretBytes(key);
            crypto::wipe(key);
            p.pairedAt = o->getValue<std::int64_t>("pairedAt");
            if (p.publicKey.size() != 65 || p.pairingKey.size() != 32)
                throw Error(ErrorCode::Storage, "phone " + p.id + " has keys of the wrong size");
            phones_.push_back(std::move(p));
        }
    } catch (const Error& e) {
        throw Error(ErrorCode::Storage, "trusted phone list " + file_.string() + " is corrupt: " + e.what());
    } catch (const std::exception& e) {
        throw Error(ErrorCode::Storage, "trusted phone list " + file_.string() + " is corrupt: " + e.what());
    }
}

std::optional<TrustedPhone> TrustedPhones::find(const std::string& id) const
{
    std::lock_guard lock(mutex_);
    for (const auto& p : phones_)
        if (p.id == id) return p;
    return std::nullopt;
}

std::vector<TrustedPhone> TrustedPhones::list() const
{
    std::lock_guard lock(mutex_);
    return phones_;
}

bool TrustedPhones::empty() const
{
    std::lock_guard lock(mutex_);
    return phones_.empty();
}

void TrustedPhones::add(TrustedPhone phone)
{
    std::lock_guard lock(mutex_);
    auto previous = phones_;
    std::erase_if(phones_, [&](const TrustedPhone& p) { return p.id == phone.id; });
    phones_.push_back(std::move(phone));
    try {
        save();
    } catch (...) {
        phones_ = std::move(previous);
        throw;
    }
}

bool TrustedPhones::remove(const std::string& id)
{
    std::lock_guard lock(mutex_);
    auto previous = phones_;
    if (std::erase_if(phones_, [&](const TrustedPhone& p) { return p.id == id; }) == 0) return false;
    try {
        save();
    } catch (...) {
        phones_ = std::move(previous);
        throw;
    }
    return true;
}

void TrustedPhones::save() const
{
    Poco::JSON::Object root;
    root.set("version", 1);
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& p : phones_) {
        Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
        o->set("id", p.id);
        o->set("name", p.name);
        o->set("publicKey", toHex(p.publicKey));
        o->set("pairingKey", toHex(p.pairingKey.view()));
        o->set("pairedAt", p.pairedAt);
        list->add(o);
    }
    root.set("phones", list);
    std::ostringstream text;
    root.stringify(text, 2);
    const std::string data = text.str();

    // Written beside the file with 0600 from the start, then renamed over it.
    const auto temporary = file_.string() + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(ErrorCode::Storage, "cannot write " + temporary + ": " + std::strerror(errno));
    ::fchmod(fd, 0600);
    std::size_t written = 0;
    while (written < data.size()) {
        const auto n = ::write(fd, data.data() + written, data.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(temporary.c_str());
            throw Error(ErrorCode::Storage, "cannot write " + temporary + ": " + why);
        }
        written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(temporary.c_str(), file_.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(temporary.c_str());
        throw Error(ErrorCode::Storage, "cannot replace " + file_.string() + ": " + why);
    }
}

} // namespace boxoffice::plugins::bluetooth
