#pragma once
// The two AES-128 TS payload ciphers.

#include <boxoffice/crypto/BlockCipher.h>
#include <boxoffice/mpegts/PayloadCipher.h>

#include <optional>

namespace boxoffice::mpegts {

// DVB-CISSA v1 (ETSI TS 103 127 §6.3): AES-128-CBC, IV "DVBTMCPTAESCISSA" for
// every packet, only payload - payload % 16 bytes encrypted, residue clear.
class CissaCipher final : public PayloadCipher {
public:
    Algorithm algorithm() const noexcept override { return Algorithm::DvbCissa; }
    void setKey(ByteView controlWord) override;
    void encrypt(MutableByteView payload) override;
    void decrypt(MutableByteView payload) override;
    void decryptAll(std::span<const MutableByteView> payloads) override;

private:
    std::optional<crypto::AesCbc> cbcEncrypt_;
    std::optional<crypto::AesCbcSameIvDecryptor> cbcDecrypt_;
};

// ATIS-IDSA (ATIS-0800006): AES-128 in DVS-042 / ANSI/SCTE 52 chaining with a
// zero IV. Full blocks are CBC; a trailing partial block is XORed with
// AES-encrypt(last full ciphertext block); a payload shorter than one block is
// XORed with AES-encrypt(IV = 0).
class IdsaCipher final : public PayloadCipher {
public:
    Algorithm algorithm() const noexcept override { return Algorithm::AtisIdsa; }
    void setKey(ByteView controlWord) override;
    void encrypt(MutableByteView payload) override;
    void decrypt(MutableByteView payload) override;
    void decryptAll(std::span<const MutableByteView> payloads) override;

private:
    std::optional<crypto::AesCbc> cbcEncrypt_;
    std::optional<crypto::AesCbcSameIvDecryptor> cbcDecrypt_;
    std::optional<crypto::AesEcb> ecbEncrypt_;
    Bytes scratch_;
};

} // namespace boxoffice::mpegts
