#include <boxoffice/crypto/BlockCipher.h>

#include "OpenSsl.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace boxoffice::crypto {

namespace {

// One context per object; the key schedule is redone only by setKey, a new chain
// (IV) costs only an IV reset.
class Context {
public:
    Context(const char* mode, ByteView key, Direction direction)
        : mode_(mode), encrypt_(direction == Direction::Encrypt ? 1 : 0), ctx_(EVP_CIPHER_CTX_new())
    {
        if (!ctx_) ossl::fail("cipher context");
        setKey(key);
    }

    void setKey(ByteView key)
    {
        if (key.size() != 16 && key.size() != 24 && key.size() != 32)
            throw Error(ErrorCode::InvalidArgument,
                        "AES key must be 16, 24 or 32 bytes, got " + std::to_string(key.size()));
        if (key.size() != keySize_) {
            const std::string name = "AES-" + std::to_string(key.size() * 8) + "-" + mode_;
            cipher_.reset(EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr));
            if (!cipher_) ossl::fail(name);
            oneCall_ = (EVP_CIPHER_get_flags(cipher_.get()) & EVP_CIPH_FLAG_CUSTOM_CIPHER) != 0;
            keySize_ = key.size();
        }
        if (EVP_CipherInit_ex2(ctx_.get(), cipher_.get(), key.data(), nullptr, encrypt_, nullptr) != 1)
            ossl::fail("AES key setup");
        EVP_CIPHER_CTX_set_padding(ctx_.get(), 0);
    }

    void resetIv(ByteView iv)
    {
        if (iv.size() != aesBlockSize) throw Error(ErrorCode::InvalidArgument, "AES-CBC IV must be 16 bytes");
        if (EVP_CipherInit_ex2(ctx_.get(), nullptr, nullptr, iv.data(), -1, nullptr) != 1) ossl::fail("AES IV setup");
    }

    void run(MutableByteView inOut)
    {
        check(inOut.size());
        if (!inOut.empty()) cipher(inOut.data(), static_cast<int>(inOut.size()));
    }

    // What run() refuses, for a caller that checks a batch before ciphering any of it.
    static void check(std::size_t size)
    {
        if (size % aesBlockSize != 0)
            throw Error(ErrorCode::InvalidArgument,
                        "AES input must be a multiple of 16 bytes, got " + std::to_string(size));
        ossl::intSize(size, "AES input");
    }

    // In place, `size` checked by check() and not zero.
    void cipher(std::uint8_t* data, int size)
    {
        // EVP_Cipher, not EVP_CipherUpdate, where the provider implements it in one
        // call (OpenSSL's default and FIPS providers do; it then returns the bytes
        // written or -1): with padding off and whole blocks there is nothing to
        // buffer, and its shorter path is a tenth of a TS packet's cost.
        if (oneCall_) {
            if (EVP_Cipher(ctx_.get(), data, data, static_cast<unsigned>(size)) != size) ossl::fail("AES update");
            return;
        }
        int outLen = 0;
        if (EVP_CipherUpdate(ctx_.get(), data, &outLen, data, size) != 1 || outLen != size) ossl::fail("AES update");
    }

private:
    const char* mode_;
    int encrypt_;
    std::size_t keySize_ = 0;
    bool oneCall_ = false;  // EVP_Cipher usable: the provider ciphers in one call
    ossl::Ptr<EVP_CIPHER_CTX> ctx_;
    ossl::Ptr<EVP_CIPHER> cipher_;
};

} // namespace

struct AesEcb::State : Context {
    using Context::Context;
};

AesEcb::AesEcb(ByteView key, Direction direction) : state_(std::make_unique<State>("ECB", key, direction)) {}
AesEcb::~AesEcb() = default;
AesEcb::AesEcb(AesEcb&&) noexcept = default;
AesEcb& AesEcb::operator=(AesEcb&&) noexcept = default;

void AesEcb::setKey(ByteView key) { state_->setKey(key); }

void AesEcb::process(MutableByteView inOut) { state_->run(inOut); }

struct AesCbc::State : Context {
    using Context::Context;
};

AesCbc::AesCbc(ByteView key, Direction direction) : state_(std::make_unique<State>("CBC", key, direction)) {}
AesCbc::~AesCbc() = default;
AesCbc::AesCbc(AesCbc&&) noexcept = default;
AesCbc& AesCbc::operator=(AesCbc&&) noexcept = default;

void AesCbc::setKey(ByteView key) { state_->setKey(key); }

void AesCbc::process(ByteView iv, MutableByteView inOut)
{
    state_->resetIv(iv);
    state_->run(inOut);
}

struct AesCbcSameIvDecryptor::State : Context {
    State(ByteView key, ByteView iv) : Context("CBC", key, Direction::Decrypt)
    {
        if (iv.size() != aesBlockSize) throw Error(ErrorCode::InvalidArgument, "AES-CBC IV must be 16 bytes");
        std::memcpy(iv_, iv.data(), aesBlockSize);
        restart();
    }

    void restart()
    {
        resetIv(ByteView(reinterpret_cast<const std::uint8_t*>(iv_), aesBlockSize));
        std::memcpy(chain_, iv_, aesBlockSize);
    }

    // Gathers the whole blocks of messages[from...] into the scratch buffer (as many
    // as fit), deciphers them in one call and scatters them back; returns the index
    // of the first message not done. One OpenSSL call per TS packet costs 1.5-2.3x
    // the AES in it (its eight-block pipeline stalls on each 11-block chain's tail);
    // the two copies cost far less.
    std::size_t decryptChunk(std::span<const MutableByteView> messages, std::size_t from)
    {
        std::size_t end = from;
        std::size_t bytes = 0;
        for (; end < messages.size(); ++end) {
            const std::size_t size = wholeBlocks(messages[end]);
            if (size == 0) continue;
            if (bytes + size > sizeof scratch_ && bytes > 0) break;
            if (size > sizeof scratch_) {
                decryptAlone(messages[end]);
                return end + 1;
            }
            copyBlocks(scratch_ + bytes, messages[end].data(), size);
            bytes += size;
        }
        if (bytes > 0) cipher(scratch_, static_cast<int>(bytes));
        std::size_t at = 0;
        for (std::size_t i = from; i < end; ++i) {
            const MutableByteView m = messages[i];
            const std::size_t size = wholeBlocks(m);
            if (size == 0) continue;
            correctFirstBlock(scratch_ + at, chain_);
            std::memcpy(chain_, m.data() + size - aesBlockSize, aesBlockSize);
            copyBlocks(m.data(), scratch_ + at, size);
            at += size;
        }
        return end;
    }

    // A message larger than the scratch buffer: deciphered in place, on its own.
    void decryptAlone(MutableByteView m)
    {
        const std::size_t size = wholeBlocks(m);
        std::uint64_t previous[2];
        std::memcpy(previous, chain_, aesBlockSize);
        std::memcpy(chain_, m.data() + size - aesBlockSize, aesBlockSize);
        cipher(m.data(), static_cast<int>(size));
        correctFirstBlock(m.data(), previous);
    }

    // The chain fed a message the previous one's last ciphertext block (`previous`) where
    // the IV belongs: its deciphered first block is corrected by XOR with (that ^ IV).
    // 64-bit words: byte loops over possibly aliasing memory do not vectorise.
    void correctFirstBlock(std::uint8_t* first, const std::uint64_t (&previous)[2]) const
    {
        std::uint64_t block[2];
        std::memcpy(block, first, aesBlockSize);
        block[0] ^= previous[0] ^ iv_[0];
        block[1] ^= previous[1] ^ iv_[1];
        std::memcpy(first, block, aesBlockSize);
    }

    static std::size_t wholeBlocks(ByteView m) { return m.size() - m.size() % aesBlockSize; }

    // The whole blocks of a TS packet's full 184-byte payload are the usual size:
    // a copy of known length is inlined, a call into libc's memcpy costs as much.
    static void copyBlocks(std::uint8_t* to, const std::uint8_t* from, std::size_t size)
    {
        constexpr std::size_t fullPayload = 176;
        if (size == fullPayload)
            std::memcpy(to, from, fullPayload);
        else
            std::memcpy(to, from, size);
    }

    std::uint64_t iv_[2];
    std::uint64_t chain_[2]; // the block the context XORs into the next message's first block
    // 8 KiB: ≈46 TS payloads, enough for OpenSSL's wide batches, small enough to stay in L1.
    alignas(64) std::uint8_t scratch_[8192];
};

AesCbcSameIvDecryptor::AesCbcSameIvDecryptor(ByteView key, ByteView iv) : state_(std::make_unique<State>(key, iv)) {}
AesCbcSameIvDecryptor::~AesCbcSameIvDecryptor() = default;
AesCbcSameIvDecryptor::AesCbcSameIvDecryptor(AesCbcSameIvDecryptor&&) noexcept = default;
AesCbcSameIvDecryptor& AesCbcSameIvDecryptor::operator=(AesCbcSameIvDecryptor&&) noexcept = default;

void AesCbcSameIvDecryptor::setKey(ByteView key)
{
    state_->setKey(key);
    state_->restart();
}

void AesCbcSameIvDecryptor::decrypt(MutableByteView message)
{
    State::check(message.size());
    decryptWholeBlocks(std::span<const MutableByteView>(&message, 1));
}

void AesCbcSameIvDecryptor::decryptWholeBlocks(std::span<const MutableByteView> messages)
{
    for (const auto& m : messages)
        ossl::intSize(m.size(), "AES input");
    State& s = *state_;
    try {
        std::size_t next = 0;
        while (next < messages.size()) next = s.decryptChunk(messages, next);
    } catch (...) {
        s.restart();  // the context's chain is unknown now: the next message starts clean
        throw;
    }
}

} // namespace boxoffice::crypto
