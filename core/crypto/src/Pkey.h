#pragma once
// Internal: the shared holder behind every key class, and PEM/raw conversions.

#include "OpenSsl.h"

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <memory>
#include <string>
#include <string_view>

namespace boxoffice::crypto::detail {

struct Pkey {
    explicit Pkey(EVP_PKEY* k) : key(k) {}
    EVP_PKEY* get() const noexcept { return key.get(); }
    ossl::Ptr<EVP_PKEY> key;
};

using PkeyPtr = std::shared_ptr<const Pkey>;

// Takes ownership; throws (with `what`) when null.
PkeyPtr adopt(EVP_PKEY* key, std::string_view what);

// `type` is an OpenSSL key type name such as "ED25519", "X25519" or "EC".
PkeyPtr readPrivatePem(std::string_view pem, const char* type, std::string_view what);
PkeyPtr readPublicPem(std::string_view pem, const char* type, std::string_view what);
std::string writePrivatePem(const Pkey& key);
std::string writePublicPem(const Pkey& key);

PkeyPtr rawPublic(int nid, ByteView raw, std::string_view what);
PkeyPtr rawPrivate(int nid, ByteView raw, std::string_view what);
Bytes getRawPublic(const Pkey& key);
SecretBytes getRawPrivate(const Pkey& key);

} // namespace boxoffice::crypto::detail
