#pragma once
// The on-disk layout written by boxoffice-keytool, and loaders for it. Secret files
// are PEM (PKCS#8) with mode 0600; certificates and revocation lists are their
// canonical wire encoding.
//
//   DIR/root/root.key.pem            operator root private key (keep offline)
//   DIR/root/root.json               {"key_id", "algorithm", "public_key"} (trust anchor)
//   DIR/issuers/<issuer>/<k>/        issuer.key.pem, issuer.cert
//       where <k> = keyDirName(key id); DIR/issuers/<issuer>/current names the <k>
//       new tickets are signed with (rotation adds a <k>, older ones stay valid)
//   DIR/devices/<device>/            sign.key.pem, agree.key.pem, device.cert
//                                    (+ tls.key.pem, tls.crt for mTLS)
//   DIR/server/                      sign.key.pem, agree.key.pem, server.cert, tls-ca.crt, tls-ca.key.pem,
//                                    tls.key.pem, tls.crt
//   DIR/server/retired/<k>/          agree.key.pem, server.cert of a server key rotated out
//                                    (`server rotate`; <k> = keyDirName(its key id))
//   DIR/phones/<phone>/              sign.key.pem (P-256), phone.cert
//   DIR/revocations.bin              root-signed revocation list
//   DIR/events/<event key id>.key    hex event key (0600)

#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/DeviceIdentity.h>
#include <boxoffice/trust/TicketIssuer.h>
#include <boxoffice/wire/RevocationList.h>

#include <boxoffice/crypto/X25519.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::trust {

// Writes `data` to `file`, atomically (temp + rename), creating parent directories.
// `secret` files get mode 0600 (directories 0700). Refuses to replace an existing file
// unless `overwrite` (Error(AlreadyExists) naming the file).
void writeKeyFile(const std::filesystem::path& file, std::string_view data, bool secret, bool overwrite);
std::string readKeyFile(const std::filesystem::path& file);   // Error(NotFound|Io)

TrustAnchor loadTrustAnchor(const std::filesystem::path& rootJson);
SigningKey loadRootKey(const std::filesystem::path& rootDir);         // root.key.pem + root.json
Credentials loadIssuer(const std::filesystem::path& issuerKeyDir);
// The issuer key currently in use: DIR/issuers/<issuerId>/current.
Credentials loadCurrentIssuer(const std::filesystem::path& keysDir, std::string_view issuerId);
DeviceIdentity loadDeviceIdentity(const std::filesystem::path& deviceDir);
// Server signing key (for receipts, vouchers, settlement results, trusted time).
Credentials loadServerSigner(const std::filesystem::path& serverDir);
// The server's X25519 agreement key (agree.key.pem: history batches and relayed approvals are
// sealed to it), checked against `certificate`; Error(InvalidArgument) when the certificate has
// none or it does not match, Error(PermissionDenied) when the file is readable by others.
crypto::X25519PrivateKey loadServerAgreementKey(const std::filesystem::path& serverDir,
                                                const wire::Certificate& certificate);
// The server's agreement keys by the key id of their certificate: the current one and those
// rotated out (DIR/server/retired/*). What is sealed to the server (history batches carried by
// a phone, approvals relayed by an STB) names the key it is sealed to; a box that has not yet
// learnt the new certificate seals to the old one, which must still open.
class ServerAgreementKeys {
public:
    // Errors as loadCertificate and loadServerAgreementKey, for the current key and for each
    // retired one (the message names the retired directory); InvalidArgument for a key id held
    // twice. Sealed envelopes are opened with retired keys even when the root revoked them: their
    // content is signed by the device or phone, the sealing only hides it. Remove the retired
    // directory to stop a key (and restart the server).
    static ServerAgreementKeys load(const std::filesystem::path& serverDir, const wire::Certificate& current);
    // Error(WrongAudience) naming `keyId` when this server holds no key of that id.
    const crypto::X25519PrivateKey& forKeyId(const std::string& keyId) const;
    std::size_t size() const noexcept { return keys_.size(); }

private:
    std::vector<std::pair<std::string, crypto::X25519PrivateKey>> keys_;   // current first
};

// A phone's P-256 signing key and certificate (the reference phone).
Credentials loadPhone(const std::filesystem::path& phoneDir);
wire::Certificate loadCertificate(const std::filesystem::path& certFile);
wire::RevocationList loadRevocationList(const std::filesystem::path& file);

std::string keyDirName(std::string_view keyId);

} // namespace boxoffice::trust
