#include <boxoffice/crypto/Hash.h>

#include "OpenSsl.h"

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

namespace boxoffice::crypto {

Sha256Digest sha256(ByteView data)
{
    return sha256({data});
}

Sha256Digest sha256(std::initializer_list<ByteView> parts)
{
    ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) ossl::fail("sha256 init");
    for (ByteView part : parts)
        if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) ossl::fail("sha256 update");
    Sha256Digest out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) ossl::fail("sha256 final");
    return out;
}

Sha256Digest hmacSha256(ByteView key, ByteView data)
{
    Sha256Digest out{};
    unsigned int len = 0;
    static const std::uint8_t empty = 0;
    const unsigned char* k = key.empty() ? &empty : key.data();
    if (!HMAC(EVP_sha256(), k, ossl::intSize(key.size(), "hmac key"), data.data(), data.size(), out.data(), &len)
        || len != out.size())
        ossl::fail("hmac-sha256");
    return out;
}

SecretBytes hkdfSha256(ByteView inputKey, ByteView salt, ByteView info, std::size_t length)
{
    if (length == 0 || length > 255 * 32) throw Error(ErrorCode::InvalidArgument, "hkdf: output length out of range");
    ossl::Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) ossl::fail("hkdf init");
    // OpenSSL rejects empty salt/key buffers with a null pointer: pass a valid pointer.
    static const std::uint8_t empty = 0;
    auto ptr = [](ByteView v) { return v.empty() ? &empty : v.data(); };
    if (EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1
        || EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), ptr(salt), ossl::intSize(salt.size(), "hkdf salt")) != 1
        || EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ptr(inputKey), ossl::intSize(inputKey.size(), "hkdf key")) != 1
        || (!info.empty() && EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), ossl::intSize(info.size(), "hkdf info")) != 1))
        ossl::fail("hkdf parameters");
    SecretBytes out(length);
    std::size_t outLen = length;
    if (EVP_PKEY_derive(ctx.get(), out.data(), &outLen) != 1 || outLen != length) ossl::fail("hkdf derive");
    return out;
}

} // namespace boxoffice::crypto
