#pragma once
// Internal: RAII holders for OpenSSL objects and conversion of its error queue
// into boxoffice::Error. Only core/crypto sources include this.

#include <boxoffice/base/Error.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>

namespace boxoffice::crypto::ossl {

struct Free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
    void operator()(EVP_CIPHER* p) const noexcept { EVP_CIPHER_free(p); }
    void operator()(BIO* p) const noexcept { BIO_free_all(p); }
    void operator()(X509* p) const noexcept { X509_free(p); }
};

template <typename T> using Ptr = std::unique_ptr<T, Free>;

// Throws Error(code, "<what>: <first OpenSSL error>") and clears the error queue.
[[noreturn]] void fail(std::string_view what, ErrorCode code = ErrorCode::Crypto);
// Drops whatever OpenSSL queued (after an expected failure such as a bad tag).
void clearErrors() noexcept;

inline int intSize(std::size_t size, std::string_view what)
{
    if (size > 0x7fffffff) fail(what, ErrorCode::LimitExceeded);
    return static_cast<int>(size);
}

} // namespace boxoffice::crypto::ossl
