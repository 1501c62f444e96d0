#include <boxoffice/bluetooth/Framing.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Protocol.h>

#include <algorithm>
#include <string>

namespace boxoffice::bluetooth {

std::size_t fragmentCapacity(std::size_t mtu)
{
    if (mtu < kMinMtu) throw Error(ErrorCode::InvalidArgument, "ATT MTU " + std::to_string(mtu) + " is below 23");
    return std::min(mtu - 3, kMaxAttributeValue);
}

std::vector<Bytes> fragment(ByteView message, std::uint8_t channel, std::size_t mtu)
{
    if (message.empty()) throw Error(ErrorCode::InvalidArgument, "cannot fragment an empty message");
    if (channel == 0) throw Error(ErrorCode::InvalidArgument, "channel 0 is reserved");
    if (message.size() > kMaxTransportMessage)
        throw Error(ErrorCode::LimitExceeded, "message of " + std::to_string(message.size()) +
                                                  " bytes exceeds the limit of " +
                                                  std::to_string(kMaxTransportMessage));
    const std::size_t capacity = fragmentCapacity(mtu);
    std::vector<Bytes> out;
    std::size_t offset = 0;
    std::uint8_t index = 0;
    while (offset < message.size()) {
        const bool first = offset == 0;
        const std::size_t header = first ? kFirstFragmentHeader : kFragmentHeader;
        const std::size_t take = std::min(capacity - header, message.size() - offset);
        const bool last = offset + take == message.size();
        Bytes f;
        f.reserve(header + take);
        f.push_back(static_cast<std::uint8_t>((first ? kFragmentFirst : 0) | (last ? kFragmentLast : 0) | (index & 0x0f)));
        f.push_back(channel);
        if (first) {
            f.push_back(static_cast<std::uint8_t>(message.size() >> 8));
            f.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
        }
        f.insert(f.end(), message.begin() + static_cast<std::ptrdiff_t>(offset),
                 message.begin() + static_cast<std::ptrdiff_t>(offset + take));
        out.push_back(std::move(f));
        offset += take;
        index = static_cast<std::uint8_t>((index + 1) & 0x0f);
    }
    return out;
}

std::optional<std::uint8_t> fragmentChannel(ByteView fragment)
{
    if (fragment.size() < kFragmentHeader) return std::nullopt;
    return fragment[1];
}

Reassembler::Reassembler(std::size_t maxMessage) : maxMessage_(maxMessage) {}

void Reassembler::reset() noexcept
{
    expected_ = 0;
    nextIndex_ = 0;
    buffer_.clear();
    buffer_.shrink_to_fit();
}

std::optional<Bytes> Reassembler::push(ByteView fragment)
{
    auto fail = [this](ErrorCode code, const std::string& why) -> Error {
        reset();
        return Error(code, "fragment rejected: " + why);
    };
    if (fragment.size() < kFragmentHeader) throw fail(ErrorCode::Malformed, "shorter than its header");
    const std::uint8_t flags = fragment[0];
    if (flags & 0x30) throw fail(ErrorCode::Malformed, "reserved flag bits set");
    const bool first = flags & kFragmentFirst;
    const bool last = flags & kFragmentLast;
    const std::uint8_t index = flags & 0x0f;
    ByteView payload;

    if (first) {
        reset();  // a new start abandons whatever was in progress
        if (fragment.size() < kFirstFragmentHeader) throw fail(ErrorCode::Malformed, "first fragment without a length");
        if (index != 0) throw fail(ErrorCode::Malformed, "first fragment with index " + std::to_string(index));
        const std::size_t total = (std::size_t{fragment[2]} << 8) | fragment[3];
        if (total == 0) throw fail(ErrorCode::Malformed, "announced length 0");
        if (total > maxMessage_)
            throw fail(ErrorCode::LimitExceeded, "announced length " + std::to_string(total) + " exceeds " +
                                                     std::to_string(maxMessage_));
        expected_ = total;
        buffer_.reserve(total);
        payload = fragment.subspan(kFirstFragmentHeader);
    } else {
        if (expected_ == 0) throw fail(ErrorCode::Malformed, "continuation without a first fragment");
        if (index != nextIndex_)
            throw fail(ErrorCode::Malformed, "index " + std::to_string(index) + " where " + std::to_string(nextIndex_) +
                                                 " was due (lost, repeated or reordered)");
        payload = fragment.subspan(kFragmentHeader);
    }
    if (payload.empty() && !(first && last)) throw fail(ErrorCode::Malformed, "empty fragment payload");
    if (buffer_.size() + payload.size() > expected_) throw fail(ErrorCode::Malformed, "more bytes than announced");
    buffer_.insert(buffer_.end(), payload.begin(), payload.end());
    nextIndex_ = static_cast<std::uint8_t>((index + 1) & 0x0f);

    if (last) {
        if (buffer_.size() != expected_)
            throw fail(ErrorCode::Malformed, "last fragment after " + std::to_string(buffer_.size()) + " of " +
                                                 std::to_string(expected_) + " bytes (truncated)");
        Bytes message = std::move(buffer_);
        reset();
        return message;
    }
    if (buffer_.size() == expected_) throw fail(ErrorCode::Malformed, "announced length reached without LAST");
    return std::nullopt;
}

} // namespace boxoffice::bluetooth
