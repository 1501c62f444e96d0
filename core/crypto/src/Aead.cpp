#include <boxoffice/crypto/Aead.h>

#include <boxoffice/crypto/Random.h>

#include "OpenSsl.h"

namespace boxoffice::crypto {

namespace {

const EVP_CIPHER* gcmCipher(std::size_t keySize)
{
    return keySize == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

void checkNonce(ByteView nonce)
{
    if (nonce.size() != gcmNonceSize) throw Error(ErrorCode::InvalidArgument, "AES-GCM nonce must be 12 bytes");
}

} // namespace

AesGcm::AesGcm(ByteView key) : key_(key)
{
    if (key.size() != 16 && key.size() != 32)
        throw Error(ErrorCode::InvalidArgument, "AES-GCM key must be 16 or 32 bytes");
}

Bytes AesGcm::seal(ByteView nonce, ByteView plaintext, ByteView associatedData) const
{
    checkNonce(nonce);
    ossl::Ptr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), gcmCipher(key_.size()), nullptr, key_.data(), nonce.data()) != 1)
        ossl::fail("AES-GCM init");
    int len = 0;
    if (!associatedData.empty()
        && EVP_EncryptUpdate(ctx.get(), nullptr, &len, associatedData.data(),
                             ossl::intSize(associatedData.size(), "AES-GCM associated data")) != 1)
        ossl::fail("AES-GCM associated data");
    Bytes out(plaintext.size() + gcmTagSize);
    if (!plaintext.empty()
        && EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                             ossl::intSize(plaintext.size(), "AES-GCM plaintext")) != 1)
        ossl::fail("AES-GCM encrypt");
    if (EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &len) != 1) ossl::fail("AES-GCM final");
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(gcmTagSize),
                            out.data() + plaintext.size()) != 1)
        ossl::fail("AES-GCM tag");
    return out;
}

SecretBytes AesGcm::open(ByteView nonce, ByteView sealed, ByteView associatedData) const
{
    checkNonce(nonce);
    if (sealed.size() < gcmTagSize) throw Error(ErrorCode::Malformed, "AES-GCM: sealed data shorter than the tag");
    const std::size_t textSize = sealed.size() - gcmTagSize;
    ossl::Ptr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), gcmCipher(key_.size()), nullptr, key_.data(), nonce.data()) != 1)
        ossl::fail("AES-GCM init");
    int len = 0;
    if (!associatedData.empty()
        && EVP_DecryptUpdate(ctx.get(), nullptr, &len, associatedData.data(),
                             ossl::intSize(associatedData.size(), "AES-GCM associated data")) != 1)
        ossl::fail("AES-GCM associated data");
    SecretBytes out(textSize);
    if (textSize != 0
        && EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), ossl::intSize(textSize, "AES-GCM ciphertext"))
               != 1)
        ossl::fail("AES-GCM decrypt");
    // The tag is only read by OpenSSL, but its API takes a non-const pointer.
    std::uint8_t tag[gcmTagSize];
    std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(textSize), sealed.end(), tag);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(gcmTagSize), tag) != 1)
        ossl::fail("AES-GCM tag");
    std::uint8_t scratch[16];
    if (EVP_DecryptFinal_ex(ctx.get(), scratch, &len) != 1) {
        ossl::clearErrors();
        throw Error(ErrorCode::BadSignature, "AES-GCM: authentication failed");
    }
    return out;
}

Bytes AesGcm::sealBox(ByteView plaintext, ByteView associatedData) const
{
    Bytes box = randomBytes(gcmNonceSize);
    const Bytes sealed = seal(box, plaintext, associatedData);
    box.insert(box.end(), sealed.begin(), sealed.end());
    return box;
}

SecretBytes AesGcm::openBox(ByteView box, ByteView associatedData) const
{
    if (box.size() < gcmNonceSize + gcmTagSize) throw Error(ErrorCode::Malformed, "AES-GCM box too short");
    return open(box.first(gcmNonceSize), box.subspan(gcmNonceSize), associatedData);
}

} // namespace boxoffice::crypto
