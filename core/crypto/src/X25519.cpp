#include <boxoffice/crypto/X25519.h>

#include <boxoffice/crypto/ConstantTime.h>

#include "Pkey.h"

#include <algorithm>

namespace boxoffice::crypto {

namespace {
constexpr const char* type = "X25519";
}

X25519PublicKey X25519PublicKey::fromRaw(ByteView raw)
{
    if (raw.size() != x25519KeySize)
        throw Error(ErrorCode::Malformed, "X25519 public key must be 32 bytes, got " + std::to_string(raw.size()));
    X25519PublicKey key;
    key.key_ = detail::rawPublic(EVP_PKEY_X25519, raw, "X25519 public key");
    std::copy(raw.begin(), raw.end(), key.raw_.begin());
    return key;
}

X25519PublicKey X25519PublicKey::fromPem(std::string_view pem)
{
    auto holder = detail::readPublicPem(pem, type, "X25519 public key");
    return fromRaw(detail::getRawPublic(*holder));
}

std::string X25519PublicKey::toPem() const { return detail::writePublicPem(*key_); }

X25519PrivateKey X25519PrivateKey::generate()
{
    X25519PrivateKey key;
    key.key_ = detail::adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, type), "X25519 key generation");
    key.public_ = X25519PublicKey::fromRaw(detail::getRawPublic(*key.key_));
    return key;
}

X25519PrivateKey X25519PrivateKey::fromRaw(ByteView raw)
{
    if (raw.size() != x25519KeySize) throw Error(ErrorCode::Malformed, "X25519 private key must be 32 bytes");
    X25519PrivateKey key;
    key.key_ = detail::rawPrivate(EVP_PKEY_X25519, raw, "X25519 private key");
    key.public_ = X25519PublicKey::fromRaw(detail::getRawPublic(*key.key_));
    return key;
}

X25519PrivateKey X25519PrivateKey::fromPem(std::string_view pem)
{
    X25519PrivateKey key;
    key.key_ = detail::readPrivatePem(pem, type, "X25519 private key");
    key.public_ = X25519PublicKey::fromRaw(detail::getRawPublic(*key.key_));
    return key;
}

SecretBytes X25519PrivateKey::raw() const { return detail::getRawPrivate(*key_); }

std::string X25519PrivateKey::toPem() const { return detail::writePrivatePem(*key_); }

SecretBytes X25519PrivateKey::agree(const X25519PublicKey& peer) const
{
    ossl::Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key_->get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) ossl::fail("X25519 init");
    if (EVP_PKEY_derive_set_peer(ctx.get(), peer.key_->get()) != 1) ossl::fail("X25519 peer key");
    SecretBytes shared(x25519KeySize);
    std::size_t size = shared.size();
    if (EVP_PKEY_derive(ctx.get(), shared.data(), &size) != 1 || size != x25519KeySize)
        ossl::fail("X25519 key agreement");
    // RFC 7748 section 6.1: an all-zero output means a low-order peer point.
    if (constantTimeEqual(shared, SecretBytes(x25519KeySize)))
        throw Error(ErrorCode::Crypto, "X25519: low-order peer public key");
    return shared;
}

} // namespace boxoffice::crypto
