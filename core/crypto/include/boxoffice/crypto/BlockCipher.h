#pragma once
// AES in ECB and CBC mode without padding, in place, for scrambling (DVB-CISSA,
// ATIS-IDSA). Each object keeps one cipher context for its whole life: creating
// a context per 184-byte packet costs far more than the cipher itself.
// Objects are not thread-safe; use one per thread.

#include <boxoffice/base/Bytes.h>

#include <memory>
#include <span>

namespace boxoffice::crypto {

enum class Direction { Encrypt, Decrypt };

inline constexpr std::size_t aesBlockSize = 16;

class AesEcb {
public:
    // key: 16, 24 or 32 bytes (AES-128/192/256); otherwise Error(InvalidArgument).
    AesEcb(ByteView key, Direction direction);
    ~AesEcb();
    AesEcb(AesEcb&&) noexcept;
    AesEcb& operator=(AesEcb&&) noexcept;

    // Replaces the key (same length or another valid one), keeps the direction.
    void setKey(ByteView key);
    // Processes whole blocks in place; size must be a multiple of 16.
    void process(MutableByteView inOut);

private:
    struct State;
    std::unique_ptr<State> state_;
};

class AesCbc {
public:
    AesCbc(ByteView key, Direction direction);
    ~AesCbc();
    AesCbc(AesCbc&&) noexcept;
    AesCbc& operator=(AesCbc&&) noexcept;

    void setKey(ByteView key);
    // Starts a fresh chain from `iv` (16 bytes) and processes whole blocks in place.
    void process(ByteView iv, MutableByteView inOut);

private:
    struct State;
    std::unique_ptr<State> state_;
};

// AES-CBC decryption in place of many independent messages that all start their
// chain from the same IV (TS packet payloads under DVB-CISSA or ATIS-IDSA).
// Resetting a context's IV costs more than a TS packet's eleven blocks, and one
// OpenSSL call per packet runs well below its bulk speed, so the messages run as
// one chain: their whole blocks are copied into a buffer of up to 8 KiB, deciphered
// in one call and copied back. Each message enters the chain with the previous
// one's last ciphertext block where the IV belongs, and its first block is then
// corrected by XOR with (that block ^ IV).
class AesCbcSameIvDecryptor {
public:
    AesCbcSameIvDecryptor(ByteView key, ByteView iv);
    ~AesCbcSameIvDecryptor();
    AesCbcSameIvDecryptor(AesCbcSameIvDecryptor&&) noexcept;
    AesCbcSameIvDecryptor& operator=(AesCbcSameIvDecryptor&&) noexcept;

    void setKey(ByteView key);
    // One message of whole blocks (none is fine).
    void decrypt(MutableByteView message);
    // Many messages in one call (instead of one per TS packet): the leading whole
    // blocks of each; bytes after them are left for the caller's residue rule.
    // The messages must not overlap.
    void decryptWholeBlocks(std::span<const MutableByteView> messages);

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace boxoffice::crypto
