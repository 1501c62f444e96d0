#pragma once
// DVB-CSA2 through libdvbcsa: the single-packet API for lone payloads and the
// bitslice batch API (many packets per call) for bulk work.

#include <boxoffice/mpegts/PayloadCipher.h>

#include <vector>

struct dvbcsa_key_s;
struct dvbcsa_bs_key_s;
struct dvbcsa_bs_batch_s;

namespace boxoffice::mpegts {

class Csa2Cipher final : public PayloadCipher {
public:
    Csa2Cipher();
    ~Csa2Cipher() override;
    Csa2Cipher(const Csa2Cipher&) = delete;
    Csa2Cipher& operator=(const Csa2Cipher&) = delete;

    Algorithm algorithm() const noexcept override { return Algorithm::DvbCsa2; }
    void setKey(ByteView controlWord) override;
    void encrypt(MutableByteView payload) override;
    void decrypt(MutableByteView payload) override;
    void encryptAll(std::span<const MutableByteView> payloads) override;
    void decryptAll(std::span<const MutableByteView> payloads) override;

private:
    template <class Fn> void batched(std::span<const MutableByteView> payloads, Fn fn);

    dvbcsa_key_s* key_;
    dvbcsa_bs_key_s* bsKey_;
    std::vector<dvbcsa_bs_batch_s> batch_;
    std::size_t batchSize_;
    bool keyed_ = false;
};

} // namespace boxoffice::mpegts
