#include <boxoffice/wire/Certificate.h>

#include "Object.h"

namespace boxoffice::wire {

std::string_view toString(CertificateRole role) noexcept
{
    switch (role) {
    case CertificateRole::Issuer: return "issuer";
    case CertificateRole::Device: return "device";
    case CertificateRole::Server: return "server";
    case CertificateRole::Phone: return "phone";
    }
    return {};
}

namespace {

std::size_t keySize(SignatureAlgorithm algorithm)
{
    return algorithm == SignatureAlgorithm::Ed25519 ? 32 : 65;
}

constexpr auto fields = [](auto& v, auto& o) {
    v.enumeration("role", o.role);
    v.id("subject", o.subject);
    v.id("key_id", o.keyId);
    v.enumeration("key_algorithm", o.keyAlgorithm);
    v.bytes("public_key", o.publicKey, 32, 65);
    v.bytes("agreement_key", o.agreementKey, 0, 32);
    v.time("not_before", o.notBefore);
    v.time("not_after", o.notAfter);
    v.check(o.publicKey.size() == keySize(o.keyAlgorithm), "public_key", "wrong size for key_algorithm");
    v.check(o.agreementKey.empty() || o.agreementKey.size() == 32, "agreement_key", "must be 32 bytes or empty");
    v.check(o.role != CertificateRole::Device || !o.agreementKey.empty(), "agreement_key", "required for a device");
    v.check(o.notBefore < o.notAfter, "not_after", "not after not_before");
};

} // namespace

BOXOFFICE_WIRE_OBJECT_IMPL(Certificate, fields)

} // namespace boxoffice::wire
