#pragma once
// TS-level descrambling with an even and an odd control word: picks the key
// from each packet's transport_scrambling_control, resets the bits to 00, and
// queues payloads per parity so that each cipher gets them in batches (CSA2
// bitsliced, IDSA's residue pads, one call into the AES layer for CISSA and IDSA).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/Algorithm.h>
#include <boxoffice/mpegts/Packet.h>
#include <boxoffice/mpegts/PayloadCipher.h>

#include <array>
#include <memory>

namespace boxoffice::mpegts {

class Descrambler {
public:
    enum class Outcome {
        Clear,        // scrambling control 00: untouched
        Descrambled,  // queued until flush() (or a full batch), bits reset to 00
        NoKey,        // no control word for its parity: untouched, still scrambled
        Invalid,      // reserved scrambling control 01 or an impossible adaptation field: untouched
    };

    explicit Descrambler(Algorithm algorithm);

    Algorithm algorithm() const noexcept { return algorithm_; }

    // Installs the control word of one parity (Even or Odd), after descrambling
    // what is queued. Error(InvalidArgument) for a wrong length or parity.
    void setKey(Scrambling parity, ByteView controlWord);
    // Forgets the control word of one parity (after descrambling what is queued): its
    // packets pass on scrambled. Error(InvalidArgument) for a parity that is not Even or Odd.
    void clearKey(Scrambling parity);
    void clearKeys();
    bool hasKey(Scrambling parity) const noexcept {
        return isScrambled(parity) && slots_[parity == Scrambling::Even ? 0 : 1].keyed;
    }

    // `packet` points at packetSize bytes that stay valid until flush().
    Outcome add(std::uint8_t* packet);
    // Descrambles everything queued. Also runs by itself when a batch is full.
    // If it throws, nothing stays queued.
    void flush();
    // Forgets what is queued, undecrypted (their scrambling bits already read 00):
    // for a caller whose buffers are going away after an error.
    void discardPending() noexcept;

    // add() + flush() over a run of whole packets; returns how many were descrambled.
    // If it throws, nothing stays queued.
    std::size_t descramble(MutableByteView packets);

private:
    // Large enough to fill libdvbcsa's bitslice batches, small enough to stay in cache.
    static constexpr std::size_t maxPending = 256;
    struct Slot {
        std::unique_ptr<PayloadCipher> cipher;
        bool keyed = false;
        std::array<MutableByteView, maxPending> pending;
        std::size_t count = 0;
    };
    Slot& slot(Scrambling parity);
    void flush(Slot& s);

    Algorithm algorithm_;
    std::array<Slot, 2> slots_;  // [0] even, [1] odd
};

// The headend side: scrambles clear packets with the key of a chosen parity.
class Scrambler {
public:
    explicit Scrambler(Algorithm algorithm);

    Algorithm algorithm() const noexcept { return algorithm_; }
    void setKey(Scrambling parity, ByteView controlWord);

    // Scrambles the payload of a clear packet (precondition: packetSize bytes) and
    // marks it with `parity`. Packets without payload, already scrambled or with an
    // invalid layout are left as they are; returns whether it scrambled.
    bool scramble(std::uint8_t* packet, Scrambling parity);

private:
    Algorithm algorithm_;
    std::array<std::unique_ptr<PayloadCipher>, 2> ciphers_;
    std::array<bool, 2> keyed_{};
};

} // namespace boxoffice::mpegts
