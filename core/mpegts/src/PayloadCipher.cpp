#include <boxoffice/mpegts/PayloadCipher.h>

#include "AesCiphers.h"
#include "Csa2Cipher.h"

#include <boxoffice/base/Error.h>

namespace boxoffice::mpegts {

void PayloadCipher::encryptAll(std::span<const MutableByteView> payloads) {
    for (auto p : payloads)
        encrypt(p);
}

void PayloadCipher::decryptAll(std::span<const MutableByteView> payloads) {
    for (auto p : payloads)
        decrypt(p);
}

std::unique_ptr<PayloadCipher> makePayloadCipher(Algorithm algorithm) {
    switch (algorithm) {
    case Algorithm::DvbCissa: return std::make_unique<CissaCipher>();
    case Algorithm::DvbCsa2: return std::make_unique<Csa2Cipher>();
    case Algorithm::AtisIdsa: return std::make_unique<IdsaCipher>();
    }
    throw Error(ErrorCode::InvalidArgument, "unknown scrambling algorithm");
}

void reduceCsa2Entropy(MutableByteView cw) {
    if (cw.size() != 8)
        throw Error(ErrorCode::InvalidArgument, "a DVB-CSA2 control word has 8 bytes");
    cw[3] = static_cast<std::uint8_t>(cw[0] + cw[1] + cw[2]);
    cw[7] = static_cast<std::uint8_t>(cw[4] + cw[5] + cw[6]);
}

} // namespace boxoffice::mpegts
