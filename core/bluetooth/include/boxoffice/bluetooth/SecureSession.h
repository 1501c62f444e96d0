#pragma once
// The AEAD record layer of an established session.
//
//   record := Kind::Record(1) counter(8, big-endian) AES-256-GCM(ciphertext || tag)
//   nonce  := direction(4: 0,0,0,1 phone->STB | 0,0,0,2 STB->phone) counter(8)
//   AD     := Kind::Record, kProtocolVersion, direction byte, counter(8)
//
// Each direction has its own key and counter; the sender starts at 1 and
// counts up, the receiver accepts only counters above the highest it has
// accepted (a replayed or reordered record is refused). A record that fails
// authentication changes nothing, so one forged or damaged record does not
// end the session; the link layer resets after a few in a row.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/Aead.h>
#include <boxoffice/crypto/SecretBytes.h>

#include <cstdint>
#include <mutex>

namespace boxoffice::bluetooth {

enum class Role { Phone, Stb };

struct SessionKeys {
    crypto::SecretBytes phoneToStb;  // 32 bytes
    crypto::SecretBytes stbToPhone;  // 32 bytes
};

// Record overhead: kind + counter + tag.
inline constexpr std::size_t kRecordOverhead = 1 + 8 + 16;

class SecureSession {
public:
    SecureSession(Role self, const SessionKeys& keys);

    // A complete transport message. Thread-safe; callers that need records on
    // the wire in counter order seal and send under one lock.
    Bytes seal(ByteView plaintext);

    // The plaintext, or Error(Malformed) for a short record or wrong kind,
    // Error(Replayed) for a counter at or below the highest accepted one,
    // Error(BadSignature) when authentication fails. Thread-safe.
    crypto::SecretBytes open(ByteView record);

    // Authentication failures since the last accepted record.
    unsigned consecutiveFailures() const;

private:
    crypto::AesGcm sendKey_;
    crypto::AesGcm receiveKey_;
    std::uint8_t sendDirection_;
    std::uint8_t receiveDirection_;
    mutable std::mutex mutex_;
    std::uint64_t sendCounter_ = 0;
    std::uint64_t receivedCounter_ = 0;
    unsigned failures_ = 0;
};

} // namespace boxoffice::bluetooth
