#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/X509.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::crypto;

namespace {
constexpr std::int64_t t0 = 1'800'000'000;
}

TEST(X509, CaServerAndClientChain)
{
    const auto caKey = P256PrivateKey::generate();
    X509Spec caSpec{.commonName = "BoxOffice TLS CA", .organization = "BoxOffice", .dnsNames = {}, .ipAddresses = {},
                    .notBefore = t0, .notAfter = t0 + 86400 * 365, .usage = X509Usage::Ca};
    const std::string ca = issueX509(caSpec, caKey.publicKey(), caKey);
    const auto caSummary = inspectX509(ca);
    EXPECT_EQ(caSummary.subjectCommonName, "BoxOffice TLS CA");
    EXPECT_TRUE(caSummary.isCa);
    EXPECT_EQ(caSummary.notBefore, t0);

    const auto serverKey = P256PrivateKey::generate();
    X509Spec serverSpec{.commonName = "localhost", .organization = "BoxOffice", .dnsNames = {"localhost"},
                        .ipAddresses = {"127.0.0.1"}, .notBefore = t0, .notAfter = t0 + 86400,
                        .usage = X509Usage::Server};
    const std::string server = issueX509(serverSpec, serverKey.publicKey(), caKey, ca);
    const auto summary = inspectX509(server);
    EXPECT_EQ(summary.subjectCommonName, "localhost");
    EXPECT_EQ(summary.issuerCommonName, "BoxOffice TLS CA");
    EXPECT_FALSE(summary.isCa);
    EXPECT_TRUE(verifyX509(server, ca, t0 + 10));
    EXPECT_FALSE(verifyX509(server, ca, t0 + 2 * 86400));   // expired

    // Not from this CA.
    const auto otherKey = P256PrivateKey::generate();
    const std::string otherCa = issueX509(caSpec, otherKey.publicKey(), otherKey);
    EXPECT_FALSE(verifyX509(server, otherCa, t0 + 10));

    serverSpec.usage = X509Usage::Client;
    serverSpec.commonName = "stb-1";
    EXPECT_TRUE(verifyX509(issueX509(serverSpec, P256PrivateKey::generate().publicKey(), caKey, ca), ca, t0 + 10));
}

TEST(X509, RejectsInconsistentRequests)
{
    const auto key = P256PrivateKey::generate();
    X509Spec spec{.commonName = "x", .organization = "", .dnsNames = {}, .ipAddresses = {}, .notBefore = t0,
                  .notAfter = t0, .usage = X509Usage::Server};
    EXPECT_THROW(issueX509(spec, key.publicKey(), key), Error);
    spec.notAfter = t0 + 1;
    EXPECT_THROW(issueX509(spec, P256PrivateKey::generate().publicKey(), key), Error);   // self-signed by another key
    EXPECT_THROW(inspectX509("junk"), Error);
}
