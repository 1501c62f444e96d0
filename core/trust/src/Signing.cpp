#include <boxoffice/trust/Signing.h>

namespace boxoffice::trust {

using wire::SignatureAlgorithm;

SigningKey::SigningKey(std::string keyId, crypto::Ed25519PrivateKey key)
    : signer_{std::move(keyId), SignatureAlgorithm::Ed25519}, key_(std::move(key))
{
}

SigningKey::SigningKey(std::string keyId, crypto::P256PrivateKey key)
    : signer_{std::move(keyId), SignatureAlgorithm::EcdsaP256Sha256}, key_(std::move(key))
{
}

Bytes SigningKey::sign(ByteView message) const
{
    return std::visit([&](const auto& key) { return key.sign(message); }, key_);
}

VerifyingKey SigningKey::verifyingKey() const
{
    return std::visit([&](const auto& key) { return VerifyingKey(signer_.keyId, key.publicKey()); }, key_);
}

VerifyingKey::VerifyingKey(std::string keyId, crypto::Ed25519PublicKey key) : keyId_(std::move(keyId)), key_(std::move(key))
{
}

VerifyingKey::VerifyingKey(std::string keyId, crypto::P256PublicKey key) : keyId_(std::move(keyId)), key_(std::move(key))
{
}

VerifyingKey VerifyingKey::fromCertificate(const wire::Certificate& certificate)
{
    if (certificate.keyAlgorithm == SignatureAlgorithm::Ed25519)
        return VerifyingKey(certificate.keyId, crypto::Ed25519PublicKey::fromRaw(certificate.publicKey));
    return VerifyingKey(certificate.keyId, crypto::P256PublicKey::fromRaw(certificate.publicKey));
}

SignatureAlgorithm VerifyingKey::algorithm() const noexcept
{
    return std::holds_alternative<crypto::Ed25519PublicKey>(key_) ? SignatureAlgorithm::Ed25519
                                                                  : SignatureAlgorithm::EcdsaP256Sha256;
}

Bytes VerifyingKey::publicKey() const
{
    return std::visit([](const auto& key) { return Bytes(key.raw().begin(), key.raw().end()); }, key_);
}

void VerifyingKey::verify(const wire::Signer& signer, ByteView message, ByteView signature, std::string_view what) const
{
    const std::string name(what);
    if (signer.keyId != keyId_)
        throw Error(ErrorCode::NotFound, name + ".signer.key_id: '" + signer.keyId + "' is not the expected key '" + keyId_ + "'");
    if (signer.algorithm != algorithm())
        throw Error(ErrorCode::Conflict, name + ".signer.algorithm: " + std::string(toString(signer.algorithm))
                                             + " does not match key '" + keyId_ + "' (" + std::string(toString(algorithm())) + ")");
    const bool ok = std::visit([&](const auto& key) { return key.verify(message, signature); }, key_);
    if (!ok) throw Error(ErrorCode::BadSignature, name + ".signature: does not verify with key '" + keyId_ + "'");
}

} // namespace boxoffice::trust
