#include <boxoffice/crypto/X509.h>

#include "Pkey.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace boxoffice::crypto {

struct KeyAccess {
    static EVP_PKEY* get(const P256PublicKey& key) { return key.key_->get(); }
    static EVP_PKEY* get(const P256PrivateKey& key) { return key.key_->get(); }
};

namespace {

struct NameFree {
    void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
    void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
    void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
    void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
template <typename T> using Own = std::unique_ptr<T, NameFree>;

ossl::Ptr<X509> readCertificate(std::string_view pem)
{
    ossl::Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), ossl::intSize(pem.size(), "certificate PEM")));
    if (!bio) ossl::fail("certificate PEM");
    ossl::Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) ossl::fail("not a PEM X.509 certificate", ErrorCode::Malformed);
    return cert;
}

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value)
{
    Own<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) ossl::fail("X.509 extension " + value);
}

void setName(X509_NAME* name, const X509Spec& spec)
{
    auto add = [&](const char* field, const std::string& value) {
        if (value.empty()) return;
        if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                       -1, -1, 0)
            != 1)
            ossl::fail("X.509 name");
    };
    add("O", spec.organization);
    add("CN", spec.commonName);
}

std::string commonName(const X509_NAME* name)
{
    const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0) return {};
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::int64_t toUnix(const ASN1_TIME* time)
{
    struct tm tm {};
    if (ASN1_TIME_to_tm(time, &tm) != 1) ossl::fail("X.509 time");
    return static_cast<std::int64_t>(timegm(&tm));
}

} // namespace

std::string issueX509(const X509Spec& spec, const P256PublicKey& subjectKey, const P256PrivateKey& issuerKey,
                      std::string_view issuerCertificatePem)
{
    if (spec.commonName.empty()) throw Error(ErrorCode::InvalidArgument, "X.509: common name required");
    if (spec.notAfter <= spec.notBefore) throw Error(ErrorCode::InvalidArgument, "X.509: empty validity period");
    const bool selfSigned = issuerCertificatePem.empty();
    if (selfSigned && !(subjectKey == issuerKey.publicKey()))
        throw Error(ErrorCode::InvalidArgument, "X.509: a self-signed certificate is signed by its own key");

    ossl::Ptr<X509> cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1) ossl::fail("X.509 new");

    Own<BIGNUM> serial(BN_new());
    if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1
        || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
        ossl::fail("X.509 serial");
    if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.notBefore))
        || !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.notAfter)))
        ossl::fail("X.509 validity");
    if (X509_set_pubkey(cert.get(), KeyAccess::get(subjectKey)) != 1) ossl::fail("X.509 public key");
    setName(X509_get_subject_name(cert.get()), spec);

    ossl::Ptr<X509> issuer;
    if (selfSigned) {
        if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) ossl::fail("X.509 issuer");
    } else {
        issuer = readCertificate(issuerCertificatePem);
        if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.get())) != 1) ossl::fail("X.509 issuer");
        if (X509_check_private_key(issuer.get(), KeyAccess::get(issuerKey)) != 1)
            ossl::fail("X.509: issuer key does not match the issuer certificate", ErrorCode::InvalidArgument);
    }

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, selfSigned ? cert.get() : issuer.get(), cert.get(), nullptr, nullptr, 0);
    switch (spec.usage) {
    case X509Usage::Ca:
        addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        addExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        break;
    case X509Usage::Server:
        addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
        addExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
        addExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
        break;
    case X509Usage::Client:
        addExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
        addExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
        addExtension(cert.get(), &ctx, NID_ext_key_usage, "clientAuth");
        break;
    }
    std::string altNames;
    for (const auto& dns : spec.dnsNames) altNames += (altNames.empty() ? "DNS:" : ",DNS:") + dns;
    for (const auto& ip : spec.ipAddresses) altNames += (altNames.empty() ? "IP:" : ",IP:") + ip;
    if (!altNames.empty()) addExtension(cert.get(), &ctx, NID_subject_alt_name, altNames);
    addExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    if (!selfSigned) addExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");

    if (X509_sign(cert.get(), KeyAccess::get(issuerKey), EVP_sha256()) <= 0) ossl::fail("X.509 sign");

    ossl::Ptr<BIO> out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) ossl::fail("X.509 PEM");
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

X509Summary inspectX509(std::string_view certificatePem)
{
    const auto cert = readCertificate(certificatePem);
    X509Summary summary;
    summary.subjectCommonName = commonName(X509_get_subject_name(cert.get()));
    summary.issuerCommonName = commonName(X509_get_issuer_name(cert.get()));
    summary.notBefore = toUnix(X509_get0_notBefore(cert.get()));
    summary.notAfter = toUnix(X509_get0_notAfter(cert.get()));
    summary.isCa = X509_check_ca(cert.get()) != 0;
    return summary;
}

bool verifyX509(std::string_view certificatePem, std::string_view caPem, std::int64_t atTime)
{
    const auto cert = readCertificate(certificatePem);
    const auto ca = readCertificate(caPem);
    Own<X509_STORE> store(X509_STORE_new());
    Own<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
    if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1
        || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1)
        ossl::fail("X.509 verify setup");
    X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(atTime));
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    ossl::clearErrors();
    return ok;
}

} // namespace boxoffice::crypto
