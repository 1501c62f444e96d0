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

namespace fs = std::filesystem;

namespace {

constexpr int kVersion = 2;

// A plaintext buffer wiped when it goes out of scope (best effort: the JSON
// library keeps its own short-lived copies).
struct Plain {
    std::string text;
    ~Plain() { crypto::wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()}); }
};

std::string readAll(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::Io, "cannot read " + file.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// Writes beside the file with 0600 from the start, syncs, renames over it.
void writeAtomically(const fs::path& file, ByteView data)
{
    const auto temporary = file.string() + ".tmp";
    ::unlink(temporary.c_str());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(ErrorCode::Storage, "cannot write " + temporary + ": " + std::strerror(errno));
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
    if (!synced || ::rename(temporary.c_str(), file.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(temporary.c_str());
        throw Error(ErrorCode::Storage, "cannot replace " + file.string() + ": " + why);
    }
}

// Overwrites a file's bytes with zeros before unlinking it (the plaintext keys
// should not stay readable in the file's blocks longer than needed).
void erase(const fs::path& file)
{
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (!ec) {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            const std::string zeros(size, '\0');
            [[maybe_unused]] const auto n = ::write(fd, zeros.data(), zeros.size());
            ::fsync(fd);
            ::close(fd);
        }
    }
    if (::unlink(file.c_str()) != 0 && errno != ENOENT)
        throw Error(ErrorCode::Storage, "cannot erase " + file.string() + ": " + std::strerror(errno));
}

TrustedPhone phoneFrom(const Poco::JSON::Object::Ptr& o)
{
    TrustedPhone p;
    p.id = o->getValue<std::string>("id");
    p.name = o->getValue<std::string>("name");
    p.publicKey = fromHex(o->getValue<std::string>("publicKey"), "publicKey");
    Plain key{o->getValue<std::string>("pairingKey")};
    auto raw = fromHex(key.text, "pairingKey");
    p.pairingKey = crypto::SecretBytes(raw);
    crypto::wipe(raw);
    p.pairedAt = o->getValue<std::int64_t>("pairedAt");
    if (p.publicKey.size() != 65 || p.pairingKey.size() != 32)
        throw Error(ErrorCode::Malformed, "phone " + p.id + " has keys of the wrong size");
    return p;
}

} // namespace

TrustedPhones::TrustedPhones(fs::path file, std::shared_ptr<const trust::KeySealer> sealer, fs::path legacyPlaintext)
    : file_(std::move(file)), legacy_(std::move(legacyPlaintext)), sealer_(std::move(sealer))
{
    if (!sealer_) throw Error(ErrorCode::InvalidArgument, "the trusted phone list needs a key sealer");
    if (!legacy_.empty() && fs::exists(legacy_)) refuseLegacy();
    if (fs::exists(file_)) load();
}

void TrustedPhones::refuseLegacy()
{
    erase(legacy_);
    problem_ = "refused the plaintext trusted phone list " + legacy_.string() +
               " of an older version (it could have been planted by anyone able to write the data directory) and "
               "erased it: pair the phones again";
}

void TrustedPhones::load()
{
    try {
        const std::string sealed = readAll(file_);
        const auto opened = sealer_->unseal(ByteView(reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size()), kLabel);
        Plain text{std::string(reinterpret_cast<const char*>(opened.data()), opened.size())};
        Poco::JSON::Parser parser;
        auto root = parser.parse(text.text).extract<Poco::JSON::Object::Ptr>();
        if (root->getValue<int>("version") != kVersion)
            throw Error(ErrorCode::UnsupportedVersion, "unknown version " + root->get("version").toString());
        auto list = root->getArray("phones");
        if (!list) throw Error(ErrorCode::Malformed, "no phones array");
        std::vector<TrustedPhone> phones;
        for (std::size_t i = 0; i < list->size(); ++i) {
            auto o = list->getObject(static_cast<unsigned>(i));
            if (!o) throw Error(ErrorCode::Malformed, "phone " + std::to_string(i) + " is not an object");
            phones.push_back(phoneFrom(o));
        }
        phones_ = std::move(phones);
        return;
    } catch (const Error& e) {
        problem_ = e.code() == ErrorCode::BadSignature
                       ? std::string("failed authentication (tampered with, or sealed under another machine secret)")
                       : std::string(e.what());
    } catch (const std::exception& e) {
        problem_ = std::string("does not decode: ") + e.what();
    }
    // Kept for inspection, out of the way of the next pairing.
    const auto rejected = file_.string() + ".rejected";
    if (::rename(file_.c_str(), rejected.c_str()) != 0)
        throw Error(ErrorCode::Storage, "trusted phone list " + file_.string() + " refused (" + problem_ +
                                            ") and cannot be moved aside: " + std::strerror(errno));
    problem_ = "refused the trusted phone list " + file_.string() + ": " + problem_ + "; moved to " + rejected +
               ", no phone is trusted until paired again";
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
    root.set("version", kVersion);
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
    Plain text;
    {
        std::ostringstream out;
        root.stringify(out);
        text.text = out.str();
    }
    // The JSON object's own copy of the hex keys goes with it.
    for (std::size_t i = 0; i < list->size(); ++i) list->getObject(static_cast<unsigned>(i))->set("pairingKey", "");
    const Bytes sealed =
        sealer_->seal(ByteView(reinterpret_cast<const std::uint8_t*>(text.text.data()), text.text.size()), kLabel);
    writeAtomically(file_, sealed);
}

} // namespace boxoffice::plugins::bluetooth
