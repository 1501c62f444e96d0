#pragma once
// Signing and verifying wire objects. A key id has exactly one algorithm: the
// verifier rejects an object that names another key id or another algorithm
// before it looks at the signature.
//   wrong key id          -> Error(NotFound)
//   algorithm mismatch    -> Error(Conflict)
//   signature invalid     -> Error(BadSignature)

#include <boxoffice/base/Bytes.h>
#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Ed25519.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/Object.h>

#include <string>
#include <variant>

namespace boxoffice::trust {

class VerifyingKey;

class SigningKey {
public:
    SigningKey(std::string keyId, crypto::Ed25519PrivateKey key);
    SigningKey(std::string keyId, crypto::P256PrivateKey key);

    const wire::Signer& signer() const noexcept { return signer_; }
    const std::string& keyId() const noexcept { return signer_.keyId; }
    Bytes sign(ByteView message) const;
    // The matching public key under the same key id.
    VerifyingKey verifyingKey() const;

private:
    wire::Signer signer_;
    std::variant<crypto::Ed25519PrivateKey, crypto::P256PrivateKey> key_;
};

class VerifyingKey {
public:
    VerifyingKey(std::string keyId, crypto::Ed25519PublicKey key);
    VerifyingKey(std::string keyId, crypto::P256PublicKey key);
    // The certified key (does not check the certificate itself: see Certificates.h).
    static VerifyingKey fromCertificate(const wire::Certificate& certificate);

    const std::string& keyId() const noexcept { return keyId_; }
    wire::SignatureAlgorithm algorithm() const noexcept;
    // Raw public key bytes (32 for Ed25519, 65 for P-256).
    Bytes publicKey() const;

    // Checks key id, algorithm, then signature; throws as listed above. `what`
    // names the object in the message ("ticket", "approval", ...).
    void verify(const wire::Signer& signer, ByteView message, ByteView signature, std::string_view what) const;

private:
    std::string keyId_;
    std::variant<crypto::Ed25519PublicKey, crypto::P256PublicKey> key_;
};

template <wire::WireObject T> void sign(T& object, const SigningKey& key)
{
    object.signer = key.signer();
    object.signature = key.sign(object.signedBytes());
}

template <wire::WireObject T> void verifySignature(const T& object, const VerifyingKey& key)
{
    key.verify(object.signer, object.signedBytes(), object.signature, toString(T::type));
}

} // namespace boxoffice::trust
