#pragma once
// X25519 key agreement (RFC 7748): raw 32-byte keys on the wire, PEM in files.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace boxoffice::crypto {

namespace detail { struct Pkey; }

inline constexpr std::size_t x25519KeySize = 32;

class X25519PublicKey {
public:
    static X25519PublicKey fromRaw(ByteView raw);           // Error(Malformed) unless 32 bytes
    static X25519PublicKey fromPem(std::string_view pem);

    const std::array<std::uint8_t, x25519KeySize>& raw() const noexcept { return raw_; }
    std::string toPem() const;

    friend bool operator==(const X25519PublicKey& a, const X25519PublicKey& b) noexcept { return a.raw_ == b.raw_; }

private:
    X25519PublicKey() = default;
    std::array<std::uint8_t, x25519KeySize> raw_{};
    std::shared_ptr<const detail::Pkey> key_;
    friend class X25519PrivateKey;
};

class X25519PrivateKey {
public:
    static X25519PrivateKey generate();
    static X25519PrivateKey fromRaw(ByteView raw);
    static X25519PrivateKey fromPem(std::string_view pem);

    SecretBytes raw() const;
    std::string toPem() const;   // unencrypted PKCS#8: secret
    const X25519PublicKey& publicKey() const noexcept { return public_; }

    // The 32-byte shared secret; Error(Crypto) for a low-order peer key (all-zero result).
    SecretBytes agree(const X25519PublicKey& peer) const;

private:
    X25519PrivateKey() = default;
    std::shared_ptr<const detail::Pkey> key_;
    X25519PublicKey public_;
};

} // namespace boxoffice::crypto
