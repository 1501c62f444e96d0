#include <boxoffice/trust/Certificates.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/trust/Revocation.h>

#include <exception>

namespace boxoffice::trust {

wire::Certificate issueCertificate(wire::Certificate certificate, const SigningKey& root)
{
    sign(certificate, root);
    return certificate;
}

VerifyingKey verifyCertificate(const wire::Certificate& certificate, const TrustAnchor& root, wire::CertificateRole role,
                               wire::UnixTime now, const RevocationState* revocations)
{
    try {
        verifySignature(certificate, root.verifyingKey());
    } catch (const Error& e) {
        throw Error(ErrorCode::PermissionDenied,
                    "certificate '" + certificate.keyId + "' is not from the operator root (" + e.what() + ")");
    }
    return keyInForce(certificate, role, now, revocations);
}

void checkInForce(const wire::Certificate& certificate, wire::CertificateRole role, wire::UnixTime now,
                  const RevocationState* revocations)
{
    const std::string subject = "certificate '" + certificate.keyId + "'";
    if (certificate.role != role)
        throw Error(ErrorCode::PermissionDenied, subject + " has role " + std::string(toString(certificate.role))
                                                     + ", expected " + std::string(toString(role)));
    if (now < certificate.notBefore) throw Error(ErrorCode::NotYetValid, subject + " is not yet valid");
    if (now >= certificate.notAfter) throw Error(ErrorCode::Expired, subject + " has expired");
    if (revocations && revocations->isKeyRevoked(certificate.keyId))
        throw Error(ErrorCode::Revoked, subject + " is revoked");
    if (revocations && role == wire::CertificateRole::Device && revocations->isDeviceRevoked(certificate.subject))
        throw Error(ErrorCode::Revoked, "device '" + certificate.subject + "' is revoked");
}

VerifyingKey keyInForce(const wire::Certificate& certificate, wire::CertificateRole role, wire::UnixTime now,
                        const RevocationState* revocations)
{
    checkInForce(certificate, role, now, revocations);
    return VerifyingKey::fromCertificate(certificate);
}

KnownServerCertificates signingWith(KnownServerCertificates known, const std::string& keyId)
{
    const auto signs = [&](const std::optional<wire::Certificate>& c) { return c && c->keyId == keyId; };
    if (!signs(known.presented) && !signs(known.configured)) return known;
    if (!signs(known.presented)) known.presented.reset();
    if (!signs(known.configured)) known.configured.reset();
    return known;
}

ChosenServer chooseServer(const KnownServerCertificates& known,
                          const std::function<VerifyingKey(const wire::Certificate&)>& verify, const std::string& purpose)
{
    std::exception_ptr preferredError;
    for (const auto* candidate : {&known.presented, &known.configured}) {
        if (!*candidate) continue;
        try {
            auto key = verify(**candidate);
            return {**candidate, std::move(key)};
        } catch (const Error&) {
            if (!preferredError) preferredError = std::current_exception();
        }
    }
    if (preferredError) std::rethrow_exception(preferredError);
    throw Error(ErrorCode::Unavailable, "no server certificate known to " + purpose);
}

} // namespace boxoffice::trust
