#pragma once
// A certificate from the operator root for a ticket issuer, a device (STB), the
// server or a phone: binds a subject id and key id to a signing key (and, for
// devices, an X25519 key that tickets are sealed to) for a validity window.

#include <boxoffice/wire/Object.h>

#include <string>

namespace boxoffice::wire {

enum class CertificateRole : std::uint8_t { Issuer = 1, Device = 2, Server = 3, Phone = 4 };
std::string_view toString(CertificateRole role) noexcept;

struct Certificate {
    CertificateRole role = CertificateRole::Device;
    std::string subject;                 // device id, issuer id, server name, phone id
    std::string keyId;                   // id this key signs under (tickets name it)
    SignatureAlgorithm keyAlgorithm = SignatureAlgorithm::Ed25519;
    Bytes publicKey;                     // 32 bytes (Ed25519) or 65 (P-256 uncompressed)
    Bytes agreementKey;                  // X25519, 32 bytes; required for devices, else empty
    UnixTime notBefore = 0;
    UnixTime notAfter = 0;

    BOXOFFICE_WIRE_OBJECT(Certificate, ObjectType::Certificate, 1);
};

} // namespace boxoffice::wire
