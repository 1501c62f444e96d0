#pragma once
// AES-GCM (128 or 256-bit key, 96-bit nonce, 128-bit tag) with associated data.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>

namespace boxoffice::crypto {

inline constexpr std::size_t gcmNonceSize = 12;
inline constexpr std::size_t gcmTagSize = 16;

class AesGcm {
public:
    // key: 16 or 32 bytes; otherwise Error(InvalidArgument).
    explicit AesGcm(ByteView key);

    // ciphertext || tag. The caller guarantees the nonce is never reused with this key.
    Bytes seal(ByteView nonce, ByteView plaintext, ByteView associatedData) const;
    // Plaintext, or Error(BadSignature) when the tag does not match (wrong key, nonce,
    // associated data or altered bytes), Error(Malformed) when shorter than a tag.
    SecretBytes open(ByteView nonce, ByteView sealed, ByteView associatedData) const;

    // Self-contained box with a fresh random nonce: nonce || ciphertext || tag.
    Bytes sealBox(ByteView plaintext, ByteView associatedData) const;
    SecretBytes openBox(ByteView box, ByteView associatedData) const;

private:
    SecretBytes key_;
};

} // namespace boxoffice::crypto
