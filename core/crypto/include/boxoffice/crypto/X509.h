#pragma once
// X.509 certificates for TLS: the operator's TLS CA, the server's HTTPS certificate
// and device client certificates for mutual TLS. Keys are P-256 (ECDSA with SHA-256),
// which every TLS stack accepts. PEM in, PEM out.

#include <boxoffice/crypto/P256.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::crypto {

enum class X509Usage { Ca, Server, Client };

struct X509Spec {
    std::string commonName;
    std::string organization = "BoxOffice";
    std::vector<std::string> dnsNames;      // subjectAltName DNS entries
    std::vector<std::string> ipAddresses;   // subjectAltName IP entries
    std::int64_t notBefore = 0;             // seconds since the epoch
    std::int64_t notAfter = 0;
    X509Usage usage = X509Usage::Server;
};

// Signs a v3 certificate for `subjectKey` with `issuerKey`. With an empty
// `issuerCertificatePem` the certificate is self-signed (issuerKey must then be the
// subject's own key). Error(InvalidArgument) for an inconsistent spec.
std::string issueX509(const X509Spec& spec, const P256PublicKey& subjectKey, const P256PrivateKey& issuerKey,
                      std::string_view issuerCertificatePem = {});

struct X509Summary {
    std::string subjectCommonName;
    std::string issuerCommonName;
    std::int64_t notBefore = 0;
    std::int64_t notAfter = 0;
    bool isCa = false;
};
X509Summary inspectX509(std::string_view certificatePem);

// True when `certificatePem` chains to `caPem` (with purpose checks off) at `atTime`.
bool verifyX509(std::string_view certificatePem, std::string_view caPem, std::int64_t atTime);

} // namespace boxoffice::crypto
