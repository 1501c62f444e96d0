#include <boxoffice/trust/KeyFiles.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Base64Url.h>

#include "SecureFile.h"

#include <Poco/JSON/Parser.h>

namespace boxoffice::trust {

namespace fs = std::filesystem;

namespace {

ByteView asBytes(const std::string& text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

std::string readSecret(const fs::path& file)
{
    std::string text = readKeyFile(file);
    detail::requirePrivate(file);
    return text;
}

void requireMatch(bool ok, const fs::path& file)
{
    if (!ok) throw Error(ErrorCode::InvalidArgument, file.string() + ": private key does not match its certificate");
}

} // namespace

void writeKeyFile(const fs::path& file, std::string_view data, bool secret, bool overwrite)
{
    if (!overwrite && fs::exists(file))
        throw Error(ErrorCode::AlreadyExists, file.string() + " exists (use --force to replace it)");
    detail::writeFileAtomically(file, data, secret);
}

std::string readKeyFile(const fs::path& file) { return detail::readFile(file); }

TrustAnchor loadTrustAnchor(const fs::path& rootJson)
{
    const std::string text = readKeyFile(rootJson);
    try {
        Poco::JSON::Parser parser;
        const auto json = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
        if (json->getValue<std::string>("algorithm") != "ed25519")
            throw Error(ErrorCode::InvalidArgument, rootJson.string() + ": root key must be ed25519");
        const std::string keyId = json->getValue<std::string>("key_id");
        if (!wire::isValidId(keyId)) throw Error(ErrorCode::Malformed, rootJson.string() + ": invalid key_id");
        return {keyId, crypto::Ed25519PublicKey::fromRaw(
                           wire::fromBase64Url(json->getValue<std::string>("public_key"), "root.public_key"))};
    } catch (const Poco::Exception& e) {
        throw Error(ErrorCode::Malformed, rootJson.string() + ": " + e.displayText());
    }
}

SigningKey loadRootKey(const fs::path& rootDir)
{
    const TrustAnchor anchor = loadTrustAnchor(rootDir / "root.json");
    const auto key = crypto::Ed25519PrivateKey::fromPem(readSecret(rootDir / "root.key.pem"));
    requireMatch(key.publicKey() == anchor.key, rootDir / "root.key.pem");
    return SigningKey(anchor.keyId, key);
}

wire::Certificate loadCertificate(const fs::path& certFile)
{
    return wire::Certificate::decode(asBytes(readKeyFile(certFile)));
}

wire::RevocationList loadRevocationList(const fs::path& file)
{
    return wire::RevocationList::decode(asBytes(readKeyFile(file)));
}

Credentials loadIssuer(const fs::path& issuerKeyDir)
{
    wire::Certificate certificate = loadCertificate(issuerKeyDir / "issuer.cert");
    const auto key = crypto::Ed25519PrivateKey::fromPem(readSecret(issuerKeyDir / "issuer.key.pem"));
    requireMatch(Bytes(key.publicKey().raw().begin(), key.publicKey().raw().end()) == certificate.publicKey,
                 issuerKeyDir / "issuer.key.pem");
    return {SigningKey(certificate.keyId, key), std::move(certificate)};
}

Credentials loadCurrentIssuer(const fs::path& keysDir, std::string_view issuerId)
{
    const fs::path dir = keysDir / "issuers" / std::string(issuerId);
    std::string current = readKeyFile(dir / "current");
    while (!current.empty() && (current.back() == '\n' || current.back() == '\r')) current.pop_back();
    if (current.empty() || current.find('/') != std::string::npos || current == "..")
        throw Error(ErrorCode::Malformed, (dir / "current").string() + ": not a key directory name");
    return loadIssuer(dir / current);
}

Credentials loadServerSigner(const fs::path& serverDir)
{
    wire::Certificate certificate = loadCertificate(serverDir / "server.cert");
    const auto key = crypto::Ed25519PrivateKey::fromPem(readSecret(serverDir / "sign.key.pem"));
    requireMatch(Bytes(key.publicKey().raw().begin(), key.publicKey().raw().end()) == certificate.publicKey,
                 serverDir / "sign.key.pem");
    return {SigningKey(certificate.keyId, key), std::move(certificate)};
}

crypto::X25519PrivateKey loadServerAgreementKey(const fs::path& serverDir, const wire::Certificate& certificate)
{
    if (certificate.agreementKey.size() != crypto::x25519KeySize)
        throw Error(ErrorCode::InvalidArgument,
                    "the server certificate has no X25519 agreement key (re-issue it with 'boxoffice-keytool server issue')");
    auto key = crypto::X25519PrivateKey::fromPem(readSecret(serverDir / "agree.key.pem"));
    requireMatch(Bytes(key.publicKey().raw().begin(), key.publicKey().raw().end()) == certificate.agreementKey,
                 serverDir / "agree.key.pem");
    return key;
}

ServerAgreementKeys ServerAgreementKeys::load(const fs::path& serverDir, const wire::Certificate& current)
{
    ServerAgreementKeys keys;
    keys.keys_.emplace_back(current.keyId, loadServerAgreementKey(serverDir, current));
    const fs::path retired = serverDir / "retired";
    if (!fs::exists(retired)) return keys;
    for (const auto& entry : fs::directory_iterator(retired)) {
        if (!entry.is_directory()) continue;
        try {
            const auto certificate = loadCertificate(entry.path() / "server.cert");
            for (const auto& [id, key] : keys.keys_)
                if (id == certificate.keyId)
                    throw Error(ErrorCode::InvalidArgument, "key id " + id + " is held twice (current and retired, or retired twice)");
            keys.keys_.emplace_back(certificate.keyId, loadServerAgreementKey(entry.path(), certificate));
        } catch (const Error& e) {
            // A broken key store is not started on, as for the current key; the message says where.
            throw Error(e.code(), "retired server key " + entry.path().string() + ": " + e.what());
        }
    }
    return keys;
}

const crypto::X25519PrivateKey& ServerAgreementKeys::forKeyId(const std::string& keyId) const
{
    for (const auto& [id, key] : keys_)
        if (id == keyId) return key;
    throw Error(ErrorCode::WrongAudience, "sealed to server key '" + keyId + "', which this server does not hold");
}

Credentials loadPhone(const fs::path& phoneDir)
{
    wire::Certificate certificate = loadCertificate(phoneDir / "phone.cert");
    const auto key = crypto::P256PrivateKey::fromPem(readSecret(phoneDir / "sign.key.pem"));
    requireMatch(Bytes(key.publicKey().raw().begin(), key.publicKey().raw().end()) == certificate.publicKey,
                 phoneDir / "sign.key.pem");
    return {SigningKey(certificate.keyId, key), std::move(certificate)};
}

DeviceIdentity loadDeviceIdentity(const fs::path& deviceDir)
{
    wire::Certificate certificate = loadCertificate(deviceDir / "device.cert");
    auto signingKey = crypto::Ed25519PrivateKey::fromPem(readSecret(deviceDir / "sign.key.pem"));
    auto agreementKey = crypto::X25519PrivateKey::fromPem(readSecret(deviceDir / "agree.key.pem"));
    requireMatch(Bytes(signingKey.publicKey().raw().begin(), signingKey.publicKey().raw().end()) == certificate.publicKey
                     && Bytes(agreementKey.publicKey().raw().begin(), agreementKey.publicKey().raw().end())
                            == certificate.agreementKey,
                 deviceDir);
    std::string deviceId = certificate.subject;
    return {std::move(deviceId), std::move(signingKey), std::move(agreementKey), std::move(certificate)};
}

std::string keyDirName(std::string_view keyId)
{
    std::string name(keyId);
    for (char& c : name)
        if (c == '/' || c == ':') c = '_';
    return name;
}

} // namespace boxoffice::trust
