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
//   DIR/phones/<phone>/              sign.key.pem (P-256), phone.cert
//   DIR/revocations.bin              root-signed revocation list
//   DIR/events/<event key id>.key    hex event key (0600)

#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/DeviceIdentity.h>
#include <boxoffice/trust/TicketIssuer.h>
#include <boxoffice/wire/RevocationList.h>

#include <filesystem>
#include <string>

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
// A phone's P-256 signing key and certificate (the reference phone).
Credentials loadPhone(const std::filesystem::path& phoneDir);
wire::Certificate loadCertificate(const std::filesystem::path& certFile);
wire::RevocationList loadRevocationList(const std::filesystem::path& file);

std::string keyDirName(std::string_view keyId);

} // namespace boxoffice::trust
