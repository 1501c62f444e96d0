#include <boxoffice/crypto/P256.h>

#include "Pkey.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace boxoffice::crypto {

namespace {

constexpr const char* type = "EC";
constexpr std::size_t scalarSize = 32;

struct SigFree {
    void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

void checkCurve(const detail::Pkey& key, std::string_view what)
{
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1
        || std::string_view(group, len) != "prime256v1")
        throw Error(ErrorCode::InvalidArgument, std::string(what) + ": not a P-256 key");
}

std::array<std::uint8_t, p256PublicKeySize> encodedPoint(const detail::Pkey& key)
{
    std::array<std::uint8_t, p256PublicKeySize> out{};
    std::size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(), out.size(), &len)
            != 1
        || len != out.size() || out[0] != 0x04)
        ossl::fail("P-256 public point");
    return out;
}

} // namespace

P256PublicKey P256PublicKey::fromRaw(ByteView raw)
{
    if (raw.size() != p256PublicKeySize || raw[0] != 0x04)
        throw Error(ErrorCode::Malformed, "P-256 public key must be a 65-byte uncompressed point");
    // An import through OpenSSL 3's providers (fetch, decode, on-curve check)
    // costs about as much as a verification, and a server imports the same
    // phones' keys on every request. Imported keys are immutable and may be
    // shared between threads, so the last few thousand are kept by their bytes.
    static std::mutex importedMutex;
    static std::map<std::array<std::uint8_t, p256PublicKeySize>, P256PublicKey> imported;
    std::array<std::uint8_t, p256PublicKeySize> bytes{};
    std::copy(raw.begin(), raw.end(), bytes.begin());
    {
        std::lock_guard lock(importedMutex);
        if (auto it = imported.find(bytes); it != imported.end()) return it->second;
    }
    ossl::Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) ossl::fail("P-256 import");
    char group[] = "prime256v1";
    Bytes point(raw.begin(), raw.end());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY* pkey = nullptr;
    // Decoding the point checks that it lies on the curve.
    if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 || !pkey)
        ossl::fail("P-256 public key: not a point on the curve", ErrorCode::Malformed);
    P256PublicKey key;
    key.key_ = detail::adopt(pkey, "P-256 public key");
    key.raw_ = bytes;
    std::lock_guard lock(importedMutex);
    if (imported.size() >= 4096) imported.clear();
    imported.emplace(bytes, key);
    return key;
}

P256PublicKey P256PublicKey::fromPem(std::string_view pem)
{
    auto holder = detail::readPublicPem(pem, type, "P-256 public key");
    checkCurve(*holder, "P-256 public key");
    P256PublicKey key;
    key.raw_ = encodedPoint(*holder);
    key.key_ = std::move(holder);
    return key;
}

std::string P256PublicKey::toPem() const { return detail::writePublicPem(*key_); }

bool P256PublicKey::verify(ByteView message, ByteView signature) const
{
    if (signature.size() != p256SignatureSize || !key_) return false;
    std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(signature.data(), scalarSize, nullptr);
    BIGNUM* s = BN_bin2bn(signature.data() + scalarSize, scalarSize, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ossl::fail("ECDSA signature");
    }
    unsigned char* der = nullptr;
    const int derLen = i2d_ECDSA_SIG(sig.get(), &der);
    if (derLen <= 0) ossl::fail("ECDSA signature encoding");
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> derHolder(der, [](unsigned char* p) { OPENSSL_free(p); });
    ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->get()) != 1)
        ossl::fail("ECDSA verify init");
    const bool ok = EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(derLen), message.data(), message.size()) == 1;
    if (!ok) ossl::clearErrors();
    return ok;
}

P256PrivateKey P256PrivateKey::generate()
{
    P256PrivateKey key;
    key.key_ = detail::adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, type, "P-256"), "P-256 key generation");
    key.public_.raw_ = encodedPoint(*key.key_);
    key.public_.key_ = key.key_;   // a private EVP_PKEY verifies as well
    return key;
}

P256PrivateKey P256PrivateKey::fromPem(std::string_view pem)
{
    P256PrivateKey key;
    key.key_ = detail::readPrivatePem(pem, type, "P-256 private key");
    checkCurve(*key.key_, "P-256 private key");
    key.public_.raw_ = encodedPoint(*key.key_);
    key.public_.key_ = key.key_;
    return key;
}

std::string P256PrivateKey::toPem() const { return detail::writePrivatePem(*key_); }

Bytes P256PrivateKey::sign(ByteView message) const
{
    ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->get()) != 1)
        ossl::fail("ECDSA sign init");
    std::size_t derLen = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &derLen, message.data(), message.size()) != 1) ossl::fail("ECDSA sign");
    Bytes der(derLen);
    if (EVP_DigestSign(ctx.get(), der.data(), &derLen, message.data(), message.size()) != 1) ossl::fail("ECDSA sign");
    const unsigned char* p = der.data();
    std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(derLen)));
    if (!sig) ossl::fail("ECDSA signature decoding");
    Bytes out(p256SignatureSize);
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), scalarSize) != scalarSize
        || BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + scalarSize, scalarSize) != scalarSize)
        ossl::fail("ECDSA signature encoding");
    return out;
}

} // namespace boxoffice::crypto
