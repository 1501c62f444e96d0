#include "Csa2Cipher.h"

#include <boxoffice/base/Error.h>

#include <dvbcsa/dvbcsa.h>

namespace boxoffice::mpegts {

namespace {
// Payloads shorter than one 8-byte block are not scrambled by CSA2.
constexpr std::size_t minimumPayload = 8;
constexpr unsigned maxPayload = 184;
} // namespace

Csa2Cipher::Csa2Cipher()
    : key_(dvbcsa_key_alloc()), bsKey_(dvbcsa_bs_key_alloc()), batchSize_(dvbcsa_bs_batch_size()) {
    if (!key_ || !bsKey_) {
        dvbcsa_key_free(key_);
        dvbcsa_bs_key_free(bsKey_);
        throw Error(ErrorCode::Crypto, "libdvbcsa could not allocate a key context");
    }
    batch_.resize(batchSize_ + 1);
}

Csa2Cipher::~Csa2Cipher() {
    dvbcsa_key_free(key_);
    dvbcsa_bs_key_free(bsKey_);
}

void Csa2Cipher::setKey(ByteView controlWord) {
    if (controlWord.size() != 8)
        throw Error(ErrorCode::InvalidArgument, "a DVB-CSA2 control word has 8 bytes");
    dvbcsa_cw_t cw;
    for (std::size_t i = 0; i < 8; ++i)
        cw[i] = controlWord[i];
    dvbcsa_key_set(cw, key_);
    dvbcsa_bs_key_set(cw, bsKey_);
    keyed_ = true;
}

void Csa2Cipher::encrypt(MutableByteView payload) {
    if (!keyed_)
        throw Error(ErrorCode::InvalidArgument, "DVB-CSA2 cipher used without a control word");
    if (payload.size() >= minimumPayload)
        dvbcsa_encrypt(key_, payload.data(), static_cast<unsigned>(payload.size()));
}

void Csa2Cipher::decrypt(MutableByteView payload) {
    if (!keyed_)
        throw Error(ErrorCode::InvalidArgument, "DVB-CSA2 cipher used without a control word");
    if (payload.size() >= minimumPayload)
        dvbcsa_decrypt(key_, payload.data(), static_cast<unsigned>(payload.size()));
}

template <class Fn> void Csa2Cipher::batched(std::span<const MutableByteView> payloads, Fn fn) {
    if (!keyed_)
        throw Error(ErrorCode::InvalidArgument, "DVB-CSA2 cipher used without a control word");
    std::size_t n = 0;
    for (auto p : payloads) {
        if (p.size() < minimumPayload)
            continue;
        if (p.size() > maxPayload)
            throw Error(ErrorCode::InvalidArgument, "a TS packet payload has at most 184 bytes");
        batch_[n].data = p.data();
        batch_[n].len = static_cast<unsigned>(p.size());
        if (++n == batchSize_) {
            batch_[n].data = nullptr;
            fn(batch_.data());
            n = 0;
        }
    }
    if (n > 0) {
        batch_[n].data = nullptr;
        fn(batch_.data());
    }
}

void Csa2Cipher::encryptAll(std::span<const MutableByteView> payloads) {
    batched(payloads, [this](const dvbcsa_bs_batch_s* b) { dvbcsa_bs_encrypt(bsKey_, b, maxPayload); });
}

void Csa2Cipher::decryptAll(std::span<const MutableByteView> payloads) {
    batched(payloads, [this](const dvbcsa_bs_batch_s* b) { dvbcsa_bs_decrypt(bsKey_, b, maxPayload); });
}

} // namespace boxoffice::mpegts
