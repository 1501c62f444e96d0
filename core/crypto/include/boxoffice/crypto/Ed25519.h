#pragma once
// Ed25519 (RFC 8032) signing keys: raw 32-byte keys on the wire, PEM (SPKI /
// unencrypted PKCS#8) in files. Keys are immutable and cheap to copy (shared).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace boxoffice::crypto {

namespace detail { struct Pkey; }

inline constexpr std::size_t ed25519KeySize = 32;
inline constexpr std::size_t ed25519SignatureSize = 64;

class Ed25519PublicKey {
public:
    // Error(Malformed) unless exactly 32 bytes that OpenSSL accepts.
    static Ed25519PublicKey fromRaw(ByteView raw);
    // Error(Malformed) on bad PEM, Error(InvalidArgument) for another algorithm's key.
    static Ed25519PublicKey fromPem(std::string_view pem);

    const std::array<std::uint8_t, ed25519KeySize>& raw() const noexcept { return raw_; }
    std::string toPem() const;

    // False for a wrong or malformed signature (never throws for bad input).
    bool verify(ByteView message, ByteView signature) const;

    friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) noexcept { return a.raw_ == b.raw_; }

private:
    Ed25519PublicKey() = default;
    std::array<std::uint8_t, ed25519KeySize> raw_{};
    std::shared_ptr<const detail::Pkey> key_;
    friend class Ed25519PrivateKey;
};

class Ed25519PrivateKey {
public:
    static Ed25519PrivateKey generate();
    static Ed25519PrivateKey fromSeed(ByteView seed);   // the 32-byte RFC 8032 secret key
    static Ed25519PrivateKey fromPem(std::string_view pem);

    SecretBytes seed() const;
    // Unencrypted PKCS#8 PEM: secret, write only to protected storage.
    std::string toPem() const;
    const Ed25519PublicKey& publicKey() const noexcept { return public_; }

    Bytes sign(ByteView message) const;   // 64 bytes

private:
    Ed25519PrivateKey() = default;
    std::shared_ptr<const detail::Pkey> key_;
    Ed25519PublicKey public_;
};

} // namespace boxoffice::crypto
