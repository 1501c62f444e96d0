#include <boxoffice/crypto/Ed25519.h>

#include "Pkey.h"

#include <algorithm>

namespace boxoffice::crypto {

namespace {
constexpr const char* type = "ED25519";
}

Ed25519PublicKey Ed25519PublicKey::fromRaw(ByteView raw)
{
    if (raw.size() != ed25519KeySize)
        throw Error(ErrorCode::Malformed, "Ed25519 public key must be 32 bytes, got " + std::to_string(raw.size()));
    Ed25519PublicKey key;
    key.key_ = detail::rawPublic(EVP_PKEY_ED25519, raw, "Ed25519 public key");
    std::copy(raw.begin(), raw.end(), key.raw_.begin());
    return key;
}

Ed25519PublicKey Ed25519PublicKey::fromPem(std::string_view pem)
{
    auto holder = detail::readPublicPem(pem, type, "Ed25519 public key");
    return fromRaw(detail::getRawPublic(*holder));
}

std::string Ed25519PublicKey::toPem() const { return detail::writePublicPem(*key_); }

bool Ed25519PublicKey::verify(ByteView message, ByteView signature) const
{
    if (signature.size() != ed25519SignatureSize || !key_) return false;
    ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->get()) != 1)
        ossl::fail("Ed25519 verify init");
    const bool ok = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
    if (!ok) ossl::clearErrors();
    return ok;
}

Ed25519PrivateKey Ed25519PrivateKey::generate()
{
    auto holder = detail::adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, type), "Ed25519 key generation");
    Ed25519PrivateKey key;
    key.public_ = Ed25519PublicKey::fromRaw(detail::getRawPublic(*holder));
    key.key_ = std::move(holder);
    return key;
}

Ed25519PrivateKey Ed25519PrivateKey::fromSeed(ByteView seed)
{
    if (seed.size() != ed25519KeySize) throw Error(ErrorCode::Malformed, "Ed25519 secret key must be 32 bytes");
    Ed25519PrivateKey key;
    key.key_ = detail::rawPrivate(EVP_PKEY_ED25519, seed, "Ed25519 secret key");
    key.public_ = Ed25519PublicKey::fromRaw(detail::getRawPublic(*key.key_));
    return key;
}

Ed25519PrivateKey Ed25519PrivateKey::fromPem(std::string_view pem)
{
    Ed25519PrivateKey key;
    key.key_ = detail::readPrivatePem(pem, type, "Ed25519 private key");
    key.public_ = Ed25519PublicKey::fromRaw(detail::getRawPublic(*key.key_));
    return key;
}

SecretBytes Ed25519PrivateKey::seed() const { return detail::getRawPrivate(*key_); }

std::string Ed25519PrivateKey::toPem() const { return detail::writePrivatePem(*key_); }

Bytes Ed25519PrivateKey::sign(ByteView message) const
{
    ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->get()) != 1)
        ossl::fail("Ed25519 sign init");
    Bytes signature(ed25519SignatureSize);
    std::size_t size = signature.size();
    if (EVP_DigestSign(ctx.get(), signature.data(), &size, message.data(), message.size()) != 1
        || size != ed25519SignatureSize)
        ossl::fail("Ed25519 sign");
    return signature;
}

} // namespace boxoffice::crypto
