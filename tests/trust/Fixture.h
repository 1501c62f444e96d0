#pragma once
// A complete small key hierarchy (root, issuer, device) generated per test, a
// controllable system clock and a scratch directory.

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/trust/DeviceIdentity.h>
#include <boxoffice/trust/TicketIssuer.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

namespace boxoffice::trust::testing {

inline constexpr wire::UnixTime t0 = 1'800'000'000;

struct ScratchDir {
    std::filesystem::path path;
    ScratchDir()
    {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path = std::filesystem::temp_directory_path()
               / ("boxoffice-trust-" + std::string(info->test_suite_name()) + "-" + info->name() + "-"
                  + std::to_string(::getpid()));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~ScratchDir() { std::filesystem::remove_all(path); }
};

inline SigningKey makeRoot(const std::string& keyId = "root-1")
{
    return SigningKey(keyId, crypto::Ed25519PrivateKey::generate());
}

inline TrustAnchor anchorOf(const SigningKey& root)
{
    const Bytes raw = root.verifyingKey().publicKey();
    return {root.keyId(), crypto::Ed25519PublicKey::fromRaw(raw)};
}

inline Credentials makeIssuer(const SigningKey& root, const std::string& keyId = "issuer-a/1",
                              wire::UnixTime notAfter = t0 + 365 * 86400)
{
    const auto key = crypto::Ed25519PrivateKey::generate();
    wire::Certificate c;
    c.role = wire::CertificateRole::Issuer;
    c.subject = "issuer-a";
    c.keyId = keyId;
    c.keyAlgorithm = wire::SignatureAlgorithm::Ed25519;
    c.publicKey.assign(key.publicKey().raw().begin(), key.publicKey().raw().end());
    c.notBefore = t0 - 86400;
    c.notAfter = notAfter;
    return {SigningKey(keyId, key), issueCertificate(c, root)};
}

inline DeviceIdentity makeDevice(const SigningKey& root, const std::string& deviceId = "stb-1")
{
    auto sign = crypto::Ed25519PrivateKey::generate();
    auto agree = crypto::X25519PrivateKey::generate();
    wire::Certificate c;
    c.role = wire::CertificateRole::Device;
    c.subject = deviceId;
    c.keyId = deviceId;
    c.publicKey.assign(sign.publicKey().raw().begin(), sign.publicKey().raw().end());
    c.agreementKey.assign(agree.publicKey().raw().begin(), agree.publicKey().raw().end());
    c.notBefore = t0 - 86400;
    c.notAfter = t0 + 10 * 365 * 86400;
    return {deviceId, sign, agree, issueCertificate(c, root)};
}

inline wire::Ticket draftTicket(const std::string& ticketId, const std::string& deviceId = "stb-1")
{
    wire::Ticket t;
    t.ticketId = ticketId;
    t.kind = wire::TicketKind::Ppv;
    t.eventId = "ev-1";
    t.serviceProviderId = "sp-1";
    t.holderDeviceId = deviceId;
    t.orderId = "o-" + ticketId;
    t.issuedAt = t0;
    t.notBefore = t0;
    t.notAfter = t0 + 86400;
    t.playbackWindow = 3 * 3600;
    t.viewsLeft = 2;
    t.previewSeconds = 60;
    t.eventKeyId = "ev-1/k1";
    return t;
}

template <typename F> Error errorOf(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error thrown";
    return Error(ErrorCode::Internal, "no error thrown");
}

} // namespace boxoffice::trust::testing
