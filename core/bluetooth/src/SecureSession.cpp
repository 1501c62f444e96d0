#include <boxoffice/bluetooth/SecureSession.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Codec.h>
#include <boxoffice/bluetooth/Protocol.h>

#include <array>
#include <limits>

namespace boxoffice::bluetooth {

namespace {
constexpr std::uint8_t kPhoneToStb = 1;
constexpr std::uint8_t kStbToPhone = 2;

std::array<std::uint8_t, 12> nonceFor(std::uint8_t direction, std::uint64_t counter)
{
    std::array<std::uint8_t, 12> nonce{};
    nonce[3] = direction;
    for (int i = 0; i < 8; ++i) nonce[static_cast<std::size_t>(4 + i)] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
    return nonce;
}

Bytes associatedData(std::uint8_t direction, std::uint64_t counter)
{
    FieldWriter ad;
    ad.u8(static_cast<std::uint8_t>(Kind::Record)).u8(kProtocolVersion).u8(direction).u64(counter);
    return ad.take();
}
} // namespace

SecureSession::SecureSession(Role self, const SessionKeys& keys)
    : sendKey_(self == Role::Phone ? keys.phoneToStb.view() : keys.stbToPhone.view()),
      receiveKey_(self == Role::Phone ? keys.stbToPhone.view() : keys.phoneToStb.view()),
      sendDirection_(self == Role::Phone ? kPhoneToStb : kStbToPhone),
      receiveDirection_(self == Role::Phone ? kStbToPhone : kPhoneToStb)
{
}

Bytes SecureSession::seal(ByteView plaintext)
{
    std::uint64_t counter;
    {
        std::lock_guard lock(mutex_);
        if (sendCounter_ == std::numeric_limits<std::uint64_t>::max())
            throw Error(ErrorCode::LimitExceeded, "session counter exhausted: start a new session");
        counter = ++sendCounter_;
    }
    const auto nonce = nonceFor(sendDirection_, counter);
    FieldWriter out;
    out.u8(static_cast<std::uint8_t>(Kind::Record)).u64(counter);
    out.fixed(sendKey_.seal(nonce, plaintext, associatedData(sendDirection_, counter)));
    return out.take();
}

crypto::SecretBytes SecureSession::open(ByteView record)
{
    if (record.size() < kRecordOverhead) throw Error(ErrorCode::Malformed, "record shorter than its overhead");
    if (record[0] != static_cast<std::uint8_t>(Kind::Record)) throw Error(ErrorCode::Malformed, "not a record");
    FieldReader in(record.subspan(1), "record");
    const std::uint64_t counter = in.u64();
    std::lock_guard lock(mutex_);
    if (counter <= receivedCounter_)
        throw Error(ErrorCode::Replayed, "record counter " + std::to_string(counter) + " is not above " +
                                             std::to_string(receivedCounter_) + " (replayed or reordered)");
    try {
        auto plaintext = receiveKey_.open(nonceFor(receiveDirection_, counter), in.rest(),
                                          associatedData(receiveDirection_, counter));
        receivedCounter_ = counter;
        failures_ = 0;
        return plaintext;
    } catch (const Error&) {
        ++failures_;
        throw Error(ErrorCode::BadSignature, "record " + std::to_string(counter) + " failed authentication");
    }
}

unsigned SecureSession::consecutiveFailures() const
{
    std::lock_guard lock(mutex_);
    return failures_;
}

} // namespace boxoffice::bluetooth
