#include <boxoffice/trust/KeyStore.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/wire/Reader.h>
#include <boxoffice/wire/Writer.h>

#include "SecureFile.h"

#include <Poco/Logger.h>

#include <sys/stat.h>

namespace boxoffice::trust {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view identityLabel = "device-identity";
constexpr std::string_view identityFile = "device-identity.sealed";
constexpr std::string_view eventPrefix = "event-";
constexpr std::string_view eventSuffix = ".sealed";

Poco::Logger& logger() { return Poco::Logger::get("boxoffice.trust.keystore"); }

std::string eventLabel(std::string_view id) { return "event-key:" + std::string(id); }

// File names carry the id in hex: ids may contain '/' and ':'.
fs::path eventFile(const fs::path& dir, std::string_view id)
{
    return dir / (std::string(eventPrefix) + toHex(ByteView(reinterpret_cast<const std::uint8_t*>(id.data()), id.size()))
                  + std::string(eventSuffix));
}

std::string_view asText(ByteView bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
ByteView asBytes(std::string_view text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

void checkId(std::string_view id)
{
    if (!wire::isValidId(id)) throw Error(ErrorCode::InvalidArgument, "key store: invalid event key id");
}

// Plain contents wiped as soon as they are sealed.
struct Plain {
    Bytes bytes;
    ~Plain() { crypto::wipe(bytes); }
};

} // namespace

KeyStore::KeyStore(fs::path directory, std::shared_ptr<const KeySealer> sealer)
    : directory_(std::move(directory)), sealer_(std::move(sealer))
{
    if (!sealer_) throw Error(ErrorCode::InvalidArgument, "key store needs a sealer");
    if (!fs::exists(directory_)) {
        fs::create_directories(directory_);
    }
    ::chmod(directory_.c_str(), 0700);
}

bool KeyStore::hasDeviceIdentity() const
{
    std::lock_guard lock(mutex_);
    return fs::exists(directory_ / identityFile);
}

void KeyStore::putDeviceIdentity(const DeviceIdentity& identity)
{
    Plain plain;
    {
        wire::Writer w("device identity");
        w.id("device_id", identity.deviceId);
        const crypto::SecretBytes seed = identity.signingKey.seed();
        const crypto::SecretBytes agree = identity.agreementKey.raw();
        w.fixed(seed);
        w.fixed(agree);
        w.bytes("certificate", identity.certificate.encode(), 1, 16384);
        plain.bytes = w.take();
    }
    const Bytes sealed = sealer_->seal(plain.bytes, identityLabel);
    std::lock_guard lock(mutex_);
    detail::writeFileAtomically(directory_ / identityFile, asText(sealed), true);
    logger().information("stored device identity for '%s'", identity.deviceId);
}

DeviceIdentity KeyStore::deviceIdentity() const
{
    std::string sealed;
    {
        std::lock_guard lock(mutex_);
        const fs::path file = directory_ / identityFile;
        if (!fs::exists(file)) throw Error(ErrorCode::NotFound, "key store: no device identity provisioned");
        sealed = detail::readFile(file);
    }
    const crypto::SecretBytes plain = sealer_->unseal(asBytes(sealed), identityLabel);
    wire::Reader r("device identity", plain);
    std::string deviceId = r.id("device_id");
    auto signingKey = crypto::Ed25519PrivateKey::fromSeed(r.fixed("signing_key", 32));
    auto agreementKey = crypto::X25519PrivateKey::fromRaw(r.fixed("agreement_key", 32));
    auto certificate = wire::Certificate::decode(r.bytes("certificate", 1, 16384));
    r.finish();
    return DeviceIdentity{std::move(deviceId), std::move(signingKey), std::move(agreementKey), std::move(certificate)};
}

void KeyStore::putEventKey(std::string_view eventKeyId, ByteView key, wire::UnixTime expires)
{
    checkId(eventKeyId);
    if (key.size() != 16 && key.size() != 32) throw Error(ErrorCode::InvalidArgument, "event key must be 16 or 32 bytes");
    Plain plain;
    {
        wire::Writer w("event key");
        w.i64(expires);
        w.fixed(key);
        plain.bytes = w.take();
    }
    const Bytes sealed = sealer_->seal(plain.bytes, eventLabel(eventKeyId));
    std::lock_guard lock(mutex_);
    detail::writeFileAtomically(eventFile(directory_, eventKeyId), asText(sealed), true);
    logger().information("stored event key '%s'", std::string(eventKeyId));
}

std::optional<crypto::SecretBytes> KeyStore::eventKey(std::string_view eventKeyId) const
{
    checkId(eventKeyId);
    std::string sealed;
    {
        std::lock_guard lock(mutex_);
        const fs::path file = eventFile(directory_, eventKeyId);
        if (!fs::exists(file)) return std::nullopt;
        sealed = detail::readFile(file);
    }
    const crypto::SecretBytes plain = sealer_->unseal(asBytes(sealed), eventLabel(eventKeyId));
    if (plain.size() != 8 + 16 && plain.size() != 8 + 32)
        throw Error(ErrorCode::Storage, "key store: event key '" + std::string(eventKeyId) + "' is corrupt");
    return crypto::SecretBytes(plain.view().subspan(8));
}

void KeyStore::removeEventKey(std::string_view eventKeyId)
{
    checkId(eventKeyId);
    std::lock_guard lock(mutex_);
    fs::remove(eventFile(directory_, eventKeyId));
    logger().information("removed event key '%s'", std::string(eventKeyId));
}

std::vector<std::string> KeyStore::eventKeyIds() const
{
    std::vector<std::string> ids;
    std::lock_guard lock(mutex_);
    for (const auto& entry : fs::directory_iterator(directory_)) {
        const std::string name = entry.path().filename().string();
        if (name.size() <= eventPrefix.size() + eventSuffix.size() || !name.starts_with(eventPrefix)
            || !name.ends_with(eventSuffix))
            continue;
        const std::string hex = name.substr(eventPrefix.size(), name.size() - eventPrefix.size() - eventSuffix.size());
        try {
            const Bytes raw = fromHex(hex);
            ids.emplace_back(raw.begin(), raw.end());
        } catch (const Error&) {
            // not ours
        }
    }
    return ids;
}

std::size_t KeyStore::removeExpired(wire::UnixTime now)
{
    std::size_t removed = 0;
    for (const std::string& id : eventKeyIds()) {
        std::string sealed;
        try {
            sealed = detail::readFile(eventFile(directory_, id));
        } catch (const Error&) {
            continue;
        }
        const crypto::SecretBytes plain = sealer_->unseal(asBytes(sealed), eventLabel(id));
        wire::Reader r("event key", plain);
        const auto expires = r.signedField("expires", INT64_MIN, INT64_MAX);
        if (expires <= now) {
            removeEventKey(id);
            ++removed;
        }
    }
    return removed;
}

} // namespace boxoffice::trust
