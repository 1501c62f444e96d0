#pragma once
// One scrambling algorithm under one control word, applied to the payload of
// one TS packet (the bytes after the adaptation field) — the per-standard rules
// for residues and short payloads live here and nowhere else.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Algorithm.h>

#include <memory>
#include <span>

namespace boxoffice::mpegts {

class PayloadCipher {
public:
    virtual ~PayloadCipher() = default;

    virtual Algorithm algorithm() const noexcept = 0;
    // Error(InvalidArgument) when the size is not controlWordSize(algorithm()).
    virtual void setKey(ByteView controlWord) = 0;

    virtual void encrypt(MutableByteView payload) = 0;
    virtual void decrypt(MutableByteView payload) = 0;

    // Many payloads under the current key at once: CSA2 uses libdvbcsa's
    // bitslice batches, IDSA one cipher call for all residue pads, CISSA and
    // IDSA one call into the AES layer instead of one per packet.
    virtual void encryptAll(std::span<const MutableByteView> payloads);
    virtual void decryptAll(std::span<const MutableByteView> payloads);
};

std::unique_ptr<PayloadCipher> makePayloadCipher(Algorithm algorithm);

// DVB-CSA2 "entropy reduction" (48-bit control words): byte 3 = sum of bytes
// 0..2, byte 7 = sum of bytes 4..6, mod 256. Idempotent. 8-byte input only.
void reduceCsa2Entropy(MutableByteView controlWord);

} // namespace boxoffice::mpegts
