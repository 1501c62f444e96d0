#pragma once
// ECDSA over NIST P-256 with SHA-256: the keys phones register. Public keys on the
// wire are uncompressed SEC1 points (65 bytes, 0x04 || X || Y); signatures are raw
// r || s (64 bytes, big-endian), as in JOSE ES256 / WebCrypto.

#include <boxoffice/base/Bytes.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace boxoffice::crypto {

namespace detail { struct Pkey; }

inline constexpr std::size_t p256PublicKeySize = 65;
inline constexpr std::size_t p256SignatureSize = 64;

class P256PublicKey {
public:
    // Error(Malformed) unless a valid point on the curve.
    static P256PublicKey fromRaw(ByteView sec1Uncompressed);
    static P256PublicKey fromPem(std::string_view pem);

    const std::array<std::uint8_t, p256PublicKeySize>& raw() const noexcept { return raw_; }
    std::string toPem() const;

    bool verify(ByteView message, ByteView signature) const;

    friend bool operator==(const P256PublicKey& a, const P256PublicKey& b) noexcept { return a.raw_ == b.raw_; }

private:
    P256PublicKey() = default;
    std::array<std::uint8_t, p256PublicKeySize> raw_{};
    std::shared_ptr<const detail::Pkey> key_;
    friend class P256PrivateKey;
    friend struct KeyAccess;
};

class P256PrivateKey {
public:
    static P256PrivateKey generate();
    static P256PrivateKey fromPem(std::string_view pem);

    std::string toPem() const;   // unencrypted PKCS#8: secret
    const P256PublicKey& publicKey() const noexcept { return public_; }

    Bytes sign(ByteView message) const;   // 64 bytes r || s

private:
    P256PrivateKey() = default;
    std::shared_ptr<const detail::Pkey> key_;
    P256PublicKey public_;
    friend struct KeyAccess;
};

} // namespace boxoffice::crypto
