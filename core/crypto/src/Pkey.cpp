#include "Pkey.h"

#include <openssl/pem.h>

namespace boxoffice::crypto::detail {

namespace {

ossl::Ptr<BIO> memoryIn(std::string_view text)
{
    ossl::Ptr<BIO> bio(BIO_new_mem_buf(text.data(), ossl::intSize(text.size(), "PEM")));
    if (!bio) ossl::fail("PEM buffer");
    return bio;
}

std::string drain(BIO* bio)
{
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

void checkType(const Pkey& key, const char* type, std::string_view what)
{
    if (!EVP_PKEY_is_a(key.get(), type))
        throw Error(ErrorCode::InvalidArgument, std::string(what) + ": not a " + type + " key");
}

// No passphrase callback ever prompts: encrypted PEM is refused instead.
int noPassword(char*, int, int, void*) { return -1; }

} // namespace

PkeyPtr adopt(EVP_PKEY* key, std::string_view what)
{
    if (!key) ossl::fail(what);
    return std::make_shared<const Pkey>(key);
}

PkeyPtr readPrivatePem(std::string_view pem, const char* type, std::string_view what)
{
    auto bio = memoryIn(pem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr);
    if (!key) ossl::fail(std::string(what) + ": not a readable private key PEM", ErrorCode::Malformed);
    auto holder = adopt(key, what);
    checkType(*holder, type, what);
    return holder;
}

PkeyPtr readPublicPem(std::string_view pem, const char* type, std::string_view what)
{
    auto bio = memoryIn(pem);
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, noPassword, nullptr);
    if (!key) ossl::fail(std::string(what) + ": not a readable public key PEM", ErrorCode::Malformed);
    auto holder = adopt(key, what);
    checkType(*holder, type, what);
    return holder;
}

std::string writePrivatePem(const Pkey& key)
{
    ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        ossl::fail("write private key PEM");
    return drain(bio.get());
}

std::string writePublicPem(const Pkey& key)
{
    ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) ossl::fail("write public key PEM");
    return drain(bio.get());
}

PkeyPtr rawPublic(int nid, ByteView raw, std::string_view what)
{
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(nid, nullptr, raw.data(), raw.size());
    if (!key) ossl::fail(std::string(what) + ": invalid public key", ErrorCode::Malformed);
    return adopt(key, what);
}

PkeyPtr rawPrivate(int nid, ByteView raw, std::string_view what)
{
    EVP_PKEY* key = EVP_PKEY_new_raw_private_key(nid, nullptr, raw.data(), raw.size());
    if (!key) ossl::fail(std::string(what) + ": invalid private key", ErrorCode::Malformed);
    return adopt(key, what);
}

Bytes getRawPublic(const Pkey& key)
{
    std::size_t size = 0;
    if (EVP_PKEY_get_raw_public_key(key.get(), nullptr, &size) != 1) ossl::fail("raw public key");
    Bytes out(size);
    if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &size) != 1) ossl::fail("raw public key");
    return out;
}

SecretBytes getRawPrivate(const Pkey& key)
{
    std::size_t size = 0;
    if (EVP_PKEY_get_raw_private_key(key.get(), nullptr, &size) != 1) ossl::fail("raw private key");
    SecretBytes out(size);
    if (EVP_PKEY_get_raw_private_key(key.get(), out.data(), &size) != 1) ossl::fail("raw private key");
    return out;
}

} // namespace boxoffice::crypto::detail
