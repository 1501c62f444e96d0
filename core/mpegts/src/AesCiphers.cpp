#include "AesCiphers.h"

#include <boxoffice/base/Error.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace boxoffice::mpegts {

namespace {

constexpr std::size_t block = crypto::aesBlockSize;
constexpr std::array<std::uint8_t, block> cissaIv{'D', 'V', 'B', 'T', 'M', 'C', 'P', 'T',
                                                  'A', 'E', 'S', 'C', 'I', 'S', 'S', 'A'};
constexpr std::array<std::uint8_t, block> zeroIv{};

void checkKey(ByteView key, Algorithm algorithm) {
    if (key.size() != 16)
        throw Error(ErrorCode::InvalidArgument,
                    std::string(toString(algorithm)) + " needs a 16-byte control word (AES-128)");
}

template <class T> T& keyed(std::optional<T>& cipher, Algorithm algorithm) {
    if (!cipher)
        throw Error(ErrorCode::InvalidArgument, std::string(toString(algorithm)) + " cipher used without a control word");
    return *cipher;
}

std::size_t fullBlocks(std::size_t size) { return size - size % block; }

// CBC decryption of the first fullBlocks bytes of each payload, with the same IV
// for each: one ECB call over a copy of all ciphertext, then P_i = D(C_i) ^ C_(i-1).
void cbcDecryptBatch(crypto::AesEcb& ecb, const std::array<std::uint8_t, block>& iv,
                     std::span<const MutableByteView> payloads, Bytes& scratch) {
    std::size_t total = 0;
    for (auto p : payloads)
        total += fullBlocks(p.size());
    if (total == 0)
        return;
    scratch.resize(total);
    std::size_t at = 0;
    for (auto p : payloads) {
        const std::size_t n = fullBlocks(p.size());
        std::memcpy(scratch.data() + at, p.data(), n);
        at += n;
    }
    ecb.process(MutableByteView(scratch.data(), total));
    at = 0;
    for (auto p : payloads) {
        const std::size_t n = fullBlocks(p.size());
        // Forward: block i's ciphertext is read (as the next "previous") before
        // its plaintext overwrites it. 64-bit words: the byte loop does not
        // vectorise because the compiler cannot rule out overlap.
        std::uint64_t previous[2];
        std::memcpy(previous, iv.data(), block);
        for (std::size_t b = 0; b < n; b += block) {
            std::uint64_t c[2], d[2];
            std::memcpy(c, p.data() + b, block);
            std::memcpy(d, scratch.data() + at + b, block);
            d[0] ^= previous[0];
            d[1] ^= previous[1];
            std::memcpy(p.data() + b, d, block);
            previous[0] = c[0];
            previous[1] = c[1];
        }
        at += n;
    }
}

} // namespace

void CissaCipher::setKey(ByteView key) {
    checkKey(key, algorithm());
    if (cbcEncrypt_) {
        cbcEncrypt_->setKey(key);
        ecbDecrypt_->setKey(key);
    } else {
        cbcEncrypt_.emplace(key, crypto::Direction::Encrypt);
        ecbDecrypt_.emplace(key, crypto::Direction::Decrypt);
    }
}

void CissaCipher::encrypt(MutableByteView payload) {
    auto& cbc = keyed(cbcEncrypt_, algorithm());
    const std::size_t n = fullBlocks(payload.size());
    if (n > 0)
        cbc.process(cissaIv, payload.first(n));
}

void CissaCipher::decrypt(MutableByteView payload) {
    decryptAll(std::span<const MutableByteView>(&payload, 1));
}

void CissaCipher::decryptAll(std::span<const MutableByteView> payloads) {
    cbcDecryptBatch(keyed(ecbDecrypt_, algorithm()), cissaIv, payloads, scratch_);
}

void IdsaCipher::setKey(ByteView key) {
    checkKey(key, algorithm());
    if (cbcEncrypt_) {
        cbcEncrypt_->setKey(key);
        ecbDecrypt_->setKey(key);
        ecbEncrypt_->setKey(key);
    } else {
        cbcEncrypt_.emplace(key, crypto::Direction::Encrypt);
        ecbDecrypt_.emplace(key, crypto::Direction::Decrypt);
        ecbEncrypt_.emplace(key, crypto::Direction::Encrypt);
    }
}

void IdsaCipher::encrypt(MutableByteView payload) {
    auto& cbc = keyed(cbcEncrypt_, algorithm());
    const std::size_t n = fullBlocks(payload.size());
    if (n > 0)
        cbc.process(zeroIv, payload.first(n));
    const std::size_t residue = payload.size() - n;
    if (residue == 0)
        return;
    std::array<std::uint8_t, block> pad = zeroIv;
    if (n > 0)
        std::memcpy(pad.data(), payload.data() + n - block, block);
    ecbEncrypt_->process(pad);
    for (std::size_t i = 0; i < residue; ++i)
        payload[n + i] ^= pad[i];
}

void IdsaCipher::decrypt(MutableByteView payload) {
    decryptAll(std::span<const MutableByteView>(&payload, 1));
}

void IdsaCipher::decryptAll(std::span<const MutableByteView> payloads) {
    auto& ecbDecrypt = keyed(ecbDecrypt_, algorithm());
    // Residues first: their pad is AES-encrypt of the last full ciphertext block,
    // which the block pass below overwrites.
    std::size_t residues = 0;
    for (auto p : payloads)
        residues += p.size() % block != 0;
    if (residues > 0) {
        scratch_.resize(residues * block);
        std::size_t at = 0;
        for (auto p : payloads) {
            if (p.size() % block == 0)
                continue;
            const std::size_t n = fullBlocks(p.size());
            std::memcpy(scratch_.data() + at, n > 0 ? p.data() + n - block : zeroIv.data(), block);
            at += block;
        }
        ecbEncrypt_->process(MutableByteView(scratch_.data(), residues * block));
        at = 0;
        for (auto p : payloads) {
            if (p.size() % block == 0)
                continue;
            const std::size_t n = fullBlocks(p.size());
            for (std::size_t i = n; i < p.size(); ++i)
                p[i] ^= scratch_[at + i - n];
            at += block;
        }
    }
    cbcDecryptBatch(ecbDecrypt, zeroIv, payloads, scratch_);
}

} // namespace boxoffice::mpegts
