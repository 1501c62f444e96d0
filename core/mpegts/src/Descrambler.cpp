#include <boxoffice/mpegts/Descrambler.h>

#include <boxoffice/base/Error.h>

namespace boxoffice::mpegts {

namespace {

std::size_t parityIndex(Scrambling parity) {
    if (!isScrambled(parity))
        throw Error(ErrorCode::InvalidArgument, "a control word belongs to the even or the odd parity");
    return parity == Scrambling::Even ? 0 : 1;
}
} // namespace

Descrambler::Descrambler(Algorithm algorithm) : algorithm_(algorithm) {
    for (auto& s : slots_) {
        s.cipher = makePayloadCipher(algorithm);
    }
}

Descrambler::Slot& Descrambler::slot(Scrambling parity) { return slots_[parityIndex(parity)]; }

void Descrambler::setKey(Scrambling parity, ByteView controlWord) {
    Slot& s = slot(parity);
    flush(s);
    s.cipher->setKey(controlWord);
    s.keyed = true;
}

void Descrambler::clearKey(Scrambling parity) {
    Slot& s = slot(parity);
    flush(s);
    // A fresh cipher drops the old key schedule.
    s.cipher = makePayloadCipher(algorithm_);
    s.keyed = false;
}

void Descrambler::clearKeys() {
    clearKey(Scrambling::Even);
    clearKey(Scrambling::Odd);
}

Descrambler::Outcome Descrambler::add(std::uint8_t* packet) {
    const PacketView view(packet);
    const Scrambling sc = view.scrambling();
    if (sc == Scrambling::Clear)
        return Outcome::Clear;
    if (sc == Scrambling::Reserved)
        return Outcome::Invalid;
    const auto offset = view.payloadOffset();
    if (!offset)
        return Outcome::Invalid;
    // sc is Even or Odd here: index directly (slot() checks, and this runs per packet).
    Slot& s = slots_[sc == Scrambling::Even ? 0 : 1];
    if (!s.keyed)
        return Outcome::NoKey;
    setScrambling(packet, Scrambling::Clear);
    if (*offset == packetSize)
        return Outcome::Descrambled;
    const MutableByteView payload(packet + *offset, packetSize - *offset);
    s.pending[s.count++] = payload;
    if (s.count == maxPending)
        flush(s);
    return Outcome::Descrambled;
}

void Descrambler::flush(Slot& s) {
    if (s.count == 0)
        return;
    // Emptied before the cipher runs: if it throws, no pointer into the caller's
    // buffers (about to be released) stays queued for a later flush.
    const std::size_t n = s.count;
    s.count = 0;
    s.cipher->decryptAll(std::span<const MutableByteView>(s.pending.data(), n));
}

void Descrambler::flush() {
    try {
        for (auto& s : slots_)
            flush(s);
    } catch (...) {
        discardPending();  // the other slot's queue points into the same buffers
        throw;
    }
}

void Descrambler::discardPending() noexcept {
    for (auto& s : slots_)
        s.count = 0;
}

std::size_t Descrambler::descramble(MutableByteView packets) {
    if (packets.size() % packetSize != 0)
        throw Error(ErrorCode::InvalidArgument, "descramble() takes whole 188-byte packets");
    std::size_t done = 0;
    try {
        for (std::size_t at = 0; at < packets.size(); at += packetSize) {
            prefetchPacketAhead(packets.data() + at);
            done += add(packets.data() + at) == Outcome::Descrambled;
        }
        flush();
    } catch (...) {
        discardPending();
        throw;
    }
    return done;
}

Scrambler::Scrambler(Algorithm algorithm) : algorithm_(algorithm) {
    for (auto& c : ciphers_)
        c = makePayloadCipher(algorithm);
}

void Scrambler::setKey(Scrambling parity, ByteView controlWord) {
    const std::size_t i = parityIndex(parity);
    ciphers_[i]->setKey(controlWord);
    keyed_[i] = true;
}

bool Scrambler::scramble(std::uint8_t* packet, Scrambling parity) {
    const std::size_t i = parityIndex(parity);
    if (!keyed_[i])
        throw Error(ErrorCode::InvalidArgument, "scrambler has no control word for that parity");
    const PacketView view(packet);
    if (view.scrambling() != Scrambling::Clear)
        return false;
    const auto offset = view.payloadOffset();
    if (!offset || *offset == packetSize)
        return false;
    ciphers_[i]->encrypt(MutableByteView(packet + *offset, packetSize - *offset));
    setScrambling(packet, parity);
    return true;
}

} // namespace boxoffice::mpegts
