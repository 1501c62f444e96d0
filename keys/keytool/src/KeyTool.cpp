#include "KeyTool.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/crypto/X25519.h>
#include <boxoffice/crypto/X509.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Base64Url.h>

#include <algorithm>
#include <iostream>

namespace boxoffice::keytool {

namespace fs = std::filesystem;
using wire::CertificateRole;

namespace {

constexpr wire::UnixTime day = 86400;
// Certificates start an hour early so that a slightly slow clock accepts them.
constexpr wire::UnixTime backdate = 3600;

void requireId(const std::string& id, const std::string& what)
{
    if (!wire::isValidId(id))
        throw Error(ErrorCode::InvalidArgument, what + " '" + id + "' is not a valid id ([A-Za-z0-9._:@/+-], 1-64 chars)");
}

void requirePathSafe(const std::string& id, const std::string& what)
{
    requireId(id, what);
    if (id.find('/') != std::string::npos || id == "." || id == "..")
        throw Error(ErrorCode::InvalidArgument, what + " '" + id + "' cannot contain '/'");
}

template <typename Key> Bytes rawOf(const Key& key) { return Bytes(key.raw().begin(), key.raw().end()); }

// n of "<prefix><n>" (a key id <subject>/<n>, or its directory name); 0 for anything else.
int keyNumber(const std::string& name, const std::string& prefix)
{
    if (name.rfind(prefix, 0) != 0) return 0;
    try {
        return std::stoi(name.substr(prefix.size()));
    } catch (const std::exception&) {
        return 0;
    }
}

} // namespace

KeyTool::KeyTool(fs::path dir, bool force, wire::UnixTime now) : dir_(std::move(dir)), force_(force), now_(now) {}

void KeyTool::write(const fs::path& relative, std::string_view data, bool secret, bool overwrite) const
{
    trust::writeKeyFile(dir_ / relative, data, secret, overwrite || force_);
    std::cout << "wrote " << (dir_ / relative).string() << (secret ? " (secret, 0600)" : "") << "\n";
}

void KeyTool::writeWire(const fs::path& relative, const std::vector<std::uint8_t>& bytes, bool overwrite) const
{
    write(relative, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), false, overwrite);
}

void KeyTool::createRoot(const std::string& keyId, long validDays)
{
    (void)validDays;   // the root is a bare key: its lifetime is the operator's policy
    requireId(keyId, "root key id");
    if (!force_ && fs::exists(dir_ / "root" / "root.key.pem"))
        throw Error(ErrorCode::AlreadyExists, "a root key exists in " + (dir_ / "root").string() + " (use --force to replace it)");
    const auto key = crypto::Ed25519PrivateKey::generate();
    write("root/root.key.pem", key.toPem(), true, true);
    write("root/root.json",
          "{\"key_id\":\"" + keyId + "\",\"algorithm\":\"ed25519\",\"public_key\":\""
              + wire::toBase64Url(key.publicKey().raw()) + "\"}\n",
          false, true);
}

std::string KeyTool::issueIssuerKey(const std::string& issuerId, int number, long validDays, bool overwrite)
{
    const trust::SigningKey root = trust::loadRootKey(dir_ / "root");
    const std::string keyId = issuerId + "/" + std::to_string(number);
    const auto key = crypto::Ed25519PrivateKey::generate();
    wire::Certificate c;
    c.role = CertificateRole::Issuer;
    c.subject = issuerId;
    c.keyId = keyId;
    c.keyAlgorithm = wire::SignatureAlgorithm::Ed25519;
    c.publicKey = rawOf(key.publicKey());
    c.notBefore = now_ - backdate;
    c.notAfter = now_ + validDays * day;
    const wire::Certificate certificate = trust::issueCertificate(c, root);
    const fs::path sub = fs::path("issuers") / issuerId / trust::keyDirName(keyId);
    write(sub / "issuer.key.pem", key.toPem(), true, overwrite);
    writeWire(sub / "issuer.cert", certificate.encode(), overwrite);
    write(fs::path("issuers") / issuerId / "current", trust::keyDirName(keyId) + "\n", false, true);
    return keyId;
}

std::string KeyTool::createIssuer(const std::string& issuerId, long validDays)
{
    requirePathSafe(issuerId, "issuer id");
    if (!force_ && fs::exists(dir_ / "issuers" / issuerId))
        throw Error(ErrorCode::AlreadyExists,
                    "issuer '" + issuerId + "' exists (use 'issuer rotate' for a new key, or --force)");
    return issueIssuerKey(issuerId, 1, validDays, false);
}

std::string KeyTool::rotateIssuer(const std::string& issuerId, long validDays)
{
    requirePathSafe(issuerId, "issuer id");
    const fs::path issuerDir = dir_ / "issuers" / issuerId;
    if (!fs::exists(issuerDir)) throw Error(ErrorCode::NotFound, "no issuer '" + issuerId + "' (use 'issuer create')");
    int highest = 0;
    const std::string prefix = trust::keyDirName(issuerId + "/");
    for (const auto& entry : fs::directory_iterator(issuerDir))
        if (entry.is_directory()) highest = std::max(highest, keyNumber(entry.path().filename().string(), prefix));
    // The old keys stay: tickets they signed carry their certificates and keep
    // verifying until they expire. Only 'current' moves.
    return issueIssuerKey(issuerId, highest + 1, validDays, false);
}

void KeyTool::issueDevice(const std::string& deviceId, long validDays, bool withTlsClient)
{
    requirePathSafe(deviceId, "device id");
    const fs::path sub = fs::path("devices") / deviceId;
    if (!force_ && fs::exists(dir_ / sub / "device.cert"))
        throw Error(ErrorCode::AlreadyExists, "device '" + deviceId + "' exists (use --force to replace it)");
    const trust::SigningKey root = trust::loadRootKey(dir_ / "root");
    const auto sign = crypto::Ed25519PrivateKey::generate();
    const auto agree = crypto::X25519PrivateKey::generate();
    wire::Certificate c;
    c.role = CertificateRole::Device;
    c.subject = deviceId;
    c.keyId = deviceId;
    c.keyAlgorithm = wire::SignatureAlgorithm::Ed25519;
    c.publicKey = rawOf(sign.publicKey());
    c.agreementKey = rawOf(agree.publicKey());
    c.notBefore = now_ - backdate;
    c.notAfter = now_ + validDays * day;
    write(sub / "sign.key.pem", sign.toPem(), true, false);
    write(sub / "agree.key.pem", agree.toPem(), true, false);
    writeWire(sub / "device.cert", trust::issueCertificate(c, root).encode(), false);
    if (withTlsClient) issueTlsClient(deviceId, validDays);
}

void KeyTool::issuePhone(const std::string& phoneId, long validDays)
{
    requirePathSafe(phoneId, "phone id");
    const fs::path sub = fs::path("phones") / phoneId;
    if (!force_ && fs::exists(dir_ / sub / "phone.cert"))
        throw Error(ErrorCode::AlreadyExists, "phone '" + phoneId + "' exists (use --force to replace it)");
    const trust::SigningKey root = trust::loadRootKey(dir_ / "root");
    const auto key = crypto::P256PrivateKey::generate();
    wire::Certificate c;
    c.role = CertificateRole::Phone;
    c.subject = phoneId;
    c.keyId = phoneId;
    c.keyAlgorithm = wire::SignatureAlgorithm::EcdsaP256Sha256;
    c.publicKey = rawOf(key.publicKey());
    c.notBefore = now_ - backdate;
    c.notAfter = now_ + validDays * day;
    write(sub / "sign.key.pem", key.toPem(), true, false);
    writeWire(sub / "phone.cert", trust::issueCertificate(c, root).encode(), false);
}

void KeyTool::issueServer(const std::string& serverId, long validDays)
{
    requirePathSafe(serverId, "server id");
    if (!force_ && fs::exists(dir_ / "server" / "server.cert"))
        throw Error(ErrorCode::AlreadyExists,
                    "the server signing key exists (use 'server rotate' for a new key, or --force to replace it)");
    // Starting over at <id>/1 would drop the current agreement key unretired and reuse a key id
    // a retired key (or a revocation) already names.
    if (fs::exists(dir_ / "server" / "retired"))
        throw Error(ErrorCode::AlreadyExists, "the server key has been rotated: use 'server rotate' (or remove " +
                                                  (dir_ / "server" / "retired").string() + " to start over)");
    issueServerKey(trust::loadRootKey(dir_ / "root"), serverId, serverId + "/1", validDays, false, now_ - backdate);
}

std::string KeyTool::rotateServer(long validDays)
{
    const fs::path serverDir = dir_ / "server";
    if (!fs::exists(serverDir / "server.cert")) throw Error(ErrorCode::NotFound, "no server key (use 'server issue')");
    const auto current = trust::loadCertificate(serverDir / "server.cert");
    // Everything that can fail before the first write (an offline root, a wrong key file): a
    // rotation that stops half way can be run again.
    const trust::SigningKey root = trust::loadRootKey(dir_ / "root");
    const std::string agreement = trust::readKeyFile(serverDir / "agree.key.pem");
    trust::loadServerAgreementKey(serverDir, current);
    // The next number after the current key's and every retired one's (<subject>/<n>).
    const std::string prefix = current.subject + "/";
    int highest = keyNumber(current.keyId, prefix);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(serverDir / "retired", ec))
        if (fs::exists(entry.path() / "server.cert"))
            highest = std::max(highest, keyNumber(trust::loadCertificate(entry.path() / "server.cert").keyId, prefix));
    // The old agreement key stays (retired/): history and approvals sealed to it by boxes that
    // have not learnt the new certificate yet still open. Its signing key goes: what it signed
    // verifies with its certificate, and nothing new may be signed with it.
    // (Written over: the same files again when an earlier run stopped after them.)
    const fs::path retired = fs::path("server") / "retired" / trust::keyDirName(current.keyId);
    write(retired / "agree.key.pem", agreement, true, true);
    writeWire(retired / "server.cert", current.encode(), true);
    const std::string keyId = current.subject + "/" + std::to_string(highest + 1);
    // Strictly after the key it replaces, even within the same second: a phone follows a
    // presented server certificate only when it starts later than the one it holds.
    issueServerKey(root, current.subject, keyId, validDays, true, std::max(now_ - backdate, current.notBefore + 1));
    return keyId;
}

void KeyTool::issueServerKey(const trust::SigningKey& root, const std::string& serverId, const std::string& keyId,
                             long validDays, bool overwrite, wire::UnixTime notBefore)
{
    const auto key = crypto::Ed25519PrivateKey::generate();
    // The agreement key lets an STB without a line seal its history to the server
    // (billing::sealBatch); the phone that carries it cannot read it.
    const auto agree = crypto::X25519PrivateKey::generate();
    wire::Certificate c;
    c.role = CertificateRole::Server;
    c.subject = serverId;
    c.keyId = keyId;
    c.keyAlgorithm = wire::SignatureAlgorithm::Ed25519;
    c.publicKey = rawOf(key.publicKey());
    c.agreementKey = rawOf(agree.publicKey());
    c.notBefore = notBefore;
    c.notAfter = now_ + validDays * day;
    write("server/sign.key.pem", key.toPem(), true, overwrite);
    write("server/agree.key.pem", agree.toPem(), true, overwrite);
    writeWire("server/server.cert", trust::issueCertificate(c, root).encode(), overwrite);
}

bool KeyTool::hasTlsCa() const { return fs::exists(dir_ / "server" / "tls-ca.crt"); }

void KeyTool::createTlsCa(long validDays)
{
    if (!force_ && hasTlsCa()) throw Error(ErrorCode::AlreadyExists, "the TLS CA exists (use --force to replace it)");
    const auto key = crypto::P256PrivateKey::generate();
    crypto::X509Spec spec;
    spec.commonName = "BoxOffice TLS CA";
    spec.notBefore = now_ - backdate;
    spec.notAfter = now_ + validDays * day;
    spec.usage = crypto::X509Usage::Ca;
    write("server/tls-ca.key.pem", key.toPem(), true, true);
    write("server/tls-ca.crt", crypto::issueX509(spec, key.publicKey(), key), false, true);
}

void KeyTool::issueTlsServer(const std::vector<std::string>& names, const std::vector<std::string>& ips, long validDays)
{
    if (names.empty()) throw Error(ErrorCode::InvalidArgument, "a server certificate needs at least one --name");
    if (!force_ && fs::exists(dir_ / "server" / "tls.crt"))
        throw Error(ErrorCode::AlreadyExists, "the server TLS certificate exists (use --force to replace it)");
    if (!hasTlsCa()) createTlsCa(3650);
    const auto caKey = crypto::P256PrivateKey::fromPem(trust::readKeyFile(dir_ / "server" / "tls-ca.key.pem"));
    const std::string caCert = trust::readKeyFile(dir_ / "server" / "tls-ca.crt");
    const auto key = crypto::P256PrivateKey::generate();
    crypto::X509Spec spec;
    spec.commonName = names.front();
    spec.dnsNames = names;
    spec.ipAddresses = ips;
    spec.notBefore = now_ - backdate;
    spec.notAfter = now_ + validDays * day;
    spec.usage = crypto::X509Usage::Server;
    const std::string cert = crypto::issueX509(spec, key.publicKey(), caKey, caCert);
    write("server/tls.key.pem", key.toPem(), true, true);
    write("server/tls.crt", cert, false, true);
}

void KeyTool::issueTlsClient(const std::string& deviceId, long validDays)
{
    requirePathSafe(deviceId, "device id");
    if (!hasTlsCa()) throw Error(ErrorCode::NotFound, "no TLS CA yet (run 'tls ca' or 'tls server-cert' first)");
    const fs::path sub = fs::path("devices") / deviceId;
    if (!force_ && fs::exists(dir_ / sub / "tls.crt"))
        throw Error(ErrorCode::AlreadyExists, "device '" + deviceId + "' has a TLS certificate (use --force)");
    const auto caKey = crypto::P256PrivateKey::fromPem(trust::readKeyFile(dir_ / "server" / "tls-ca.key.pem"));
    const std::string caCert = trust::readKeyFile(dir_ / "server" / "tls-ca.crt");
    const auto key = crypto::P256PrivateKey::generate();
    crypto::X509Spec spec;
    spec.commonName = deviceId;   // the server maps the client certificate's CN to the device id
    spec.notBefore = now_ - backdate;
    spec.notAfter = now_ + validDays * day;
    spec.usage = crypto::X509Usage::Client;
    write(sub / "tls.key.pem", key.toPem(), true, true);
    write(sub / "tls.crt", crypto::issueX509(spec, key.publicKey(), caKey, caCert), false, true);
    write(sub / "tls-ca.crt", caCert, false, true);
}

std::uint64_t KeyTool::revoke(const std::vector<std::string>& keyIds, const std::vector<std::string>& deviceIds,
                              const std::vector<std::string>& ticketIds, long validDays)
{
    const trust::SigningKey root = trust::loadRootKey(dir_ / "root");
    wire::RevocationList list;
    const fs::path file = dir_ / "revocations.bin";
    if (fs::exists(file)) {
        list = trust::loadRevocationList(file);
        trust::verifySignature(list, root.verifyingKey());
        ++list.sequence;
    }
    auto merge = [](std::vector<std::string>& into, const std::vector<std::string>& add, const std::string& what) {
        for (const auto& id : add) {
            requireId(id, what);
            if (std::find(into.begin(), into.end(), id) == into.end()) into.push_back(id);
        }
        std::sort(into.begin(), into.end());
    };
    merge(list.revokedKeyIds, keyIds, "key id");
    merge(list.revokedDeviceIds, deviceIds, "device id");
    merge(list.revokedTicketIds, ticketIds, "ticket id");
    list.issuedAt = now_;
    list.nextUpdate = now_ + validDays * day;
    trust::sign(list, root);
    writeWire("revocations.bin", list.encode(), true);
    return list.sequence;
}

void KeyTool::createEventKey(const std::string& eventKeyId, int bits)
{
    requireId(eventKeyId, "event key id");
    if (bits != 128 && bits != 256) throw Error(ErrorCode::InvalidArgument, "event keys are 128 or 256 bits");
    const Bytes key = crypto::randomBytes(static_cast<std::size_t>(bits / 8));
    write(fs::path("events") / (trust::keyDirName(eventKeyId) + ".key"), toHex(key) + "\n", true, false);
}

void KeyTool::createDevelopmentSet()
{
    if (!force_ && fs::exists(dir_ / "root" / "root.json"))
        throw Error(ErrorCode::AlreadyExists, dir_.string() + " already holds a key set (use --force to replace it)");
    createRoot("root/1", 0);
    createIssuer("issuer-dev", 730);
    if (force_) fs::remove_all(dir_ / "server" / "retired");   // a new development set starts over
    issueServer("server", 730);
    createTlsCa(3650);
    issueTlsServer({"localhost"}, {"127.0.0.1", "::1"}, 730);
    issueDevice("stb-1", 3650, true);
    issueDevice("stb-2", 3650, true);
    issuePhone("phone-1", 730);
    if (force_) std::filesystem::remove(dir_ / "revocations.bin");
    revoke({}, {}, {}, 3650);
    createEventKey("ev-demo/1", 128);
    write("README.txt",
          "BoxOffice DEVELOPMENT key set, written by 'boxoffice-keytool dev'. Never use it in production.\n"
          "Layout: see core/trust/include/boxoffice/trust/KeyFiles.h.\n"
          "  root/                         operator root (root.json is the trust anchor)\n"
          "  issuers/issuer-dev/           ticket issuer ('current' names the key in use)\n"
          "  server/                       server signing + agreement keys and certificate, TLS CA, HTTPS certificate (localhost)\n"
          "  devices/stb-1, devices/stb-2  STB identities + mTLS client certificates\n"
          "  phones/phone-1                reference phone (P-256)\n"
          "  revocations.bin               root-signed revocation list (empty)\n"
          "  events/                       event keys (hex)\n",
          false, true);
}

} // namespace boxoffice::keytool
