#include "AesCiphers.h"

#include <boxoffice/base/Error.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace boxoffice::mpegts {

namespace {

constexpr std::size_t block = crypto::aesBlockSize;
using AesBlock = std::array<std::uint8_t, block>;
constexpr AesBlock cissaIv{'D', 'V', 'B', 'T', 'M', 'C', 'P', 'T', 'A', 'E', 'S', 'C', 'I', 'S', 'S', 'A'};
constexpr AesBlock zeroIv{};

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

} // namespace

void CissaCipher::setKey(ByteView key) {
    checkKey(key, algorithm());
    if (cbcEncrypt_) {
        cbcEncrypt_->setKey(key);
        cbcDecrypt_->setKey(key);
    } else {
        cbcEncrypt_.emplace(key, crypto::Direction::Encrypt);
        cbcDecrypt_.emplace(key, cissaIv);
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
    keyed(cbcDecrypt_, algorithm()).decryptWholeBlocks(payloads);
}

void IdsaCipher::setKey(ByteView key) {
    checkKey(key, algorithm());
    if (cbcEncrypt_) {
        cbcEncrypt_->setKey(key);
        cbcDecrypt_->setKey(key);
        ecbEncrypt_->setKey(key);
    } else {
        cbcEncrypt_.emplace(key, crypto::Direction::Encrypt);
        cbcDecrypt_.emplace(key, zeroIv);
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
    AesBlock pad = zeroIv;
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
    auto& cbc = keyed(cbcDecrypt_, algorithm());
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
    cbc.decryptWholeBlocks(payloads);
}

} // namespace boxoffice::mpegts
