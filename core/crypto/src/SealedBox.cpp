#include <boxoffice/crypto/SealedBox.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Aead.h>
#include <boxoffice/crypto/Hash.h>

#include <string_view>

namespace boxoffice::crypto {

namespace {

constexpr std::string_view salt = "BoxOffice sealed box v1";

struct BoxKey {
    SecretBytes material;   // key(32) || nonce(12)
    ByteView key() const { return material.view().first(32); }
    ByteView nonce() const { return material.view().subspan(32, gcmNonceSize); }
};

BoxKey deriveBoxKey(const SecretBytes& shared, const X25519PublicKey& ephemeral, const X25519PublicKey& recipient)
{
    Bytes info(ephemeral.raw().begin(), ephemeral.raw().end());
    info.insert(info.end(), recipient.raw().begin(), recipient.raw().end());
    const ByteView saltBytes(reinterpret_cast<const std::uint8_t*>(salt.data()), salt.size());
    return {hkdfSha256(shared, saltBytes, info, 32 + gcmNonceSize)};
}

} // namespace

Bytes sealTo(const X25519PublicKey& recipient, ByteView plaintext, ByteView context)
{
    const X25519PrivateKey ephemeral = X25519PrivateKey::generate();
    const BoxKey k = deriveBoxKey(ephemeral.agree(recipient), ephemeral.publicKey(), recipient);
    Bytes box(ephemeral.publicKey().raw().begin(), ephemeral.publicKey().raw().end());
    const Bytes sealed = AesGcm(k.key()).seal(k.nonce(), plaintext, context);
    box.insert(box.end(), sealed.begin(), sealed.end());
    return box;
}

SecretBytes openSealed(const X25519PrivateKey& recipient, ByteView box, ByteView context)
{
    if (box.size() < sealedBoxOverhead) throw Error(ErrorCode::Malformed, "sealed box too short");
    const X25519PublicKey ephemeral = X25519PublicKey::fromRaw(box.first(x25519KeySize));
    SecretBytes shared;
    try {
        shared = recipient.agree(ephemeral);
    } catch (const Error&) {
        throw Error(ErrorCode::BadSignature, "sealed box: invalid ephemeral key");
    }
    const BoxKey k = deriveBoxKey(shared, ephemeral, recipient.publicKey());
    return AesGcm(k.key()).open(k.nonce(), box.subspan(x25519KeySize), context);
}

} // namespace boxoffice::crypto
