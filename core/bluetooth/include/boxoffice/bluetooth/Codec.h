#pragma once
// Field encoding of handshake and message bodies: integers big-endian fixed
// width, text as u16 length + UTF-8, bytes as u32 length + data, fixed-size
// keys without a length. The same conventions as core/wire's canonical encoding.

#include <boxoffice/base/Bytes.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace boxoffice::bluetooth {

class FieldWriter {
public:
    FieldWriter& u8(std::uint8_t value);
    FieldWriter& u16(std::uint16_t value);
    FieldWriter& u32(std::uint32_t value);
    FieldWriter& u64(std::uint64_t value);
    FieldWriter& text(std::string_view value);   // Error(LimitExceeded) above 65535 bytes
    FieldWriter& bytes(ByteView value);          // u32 length + data
    FieldWriter& fixed(ByteView value);          // no length

    const Bytes& data() const noexcept { return out_; }
    Bytes take() { return std::move(out_); }

private:
    Bytes out_;
};

// Reads fields in order; every shortfall throws Error(Malformed) naming `what`.
class FieldReader {
public:
    FieldReader(ByteView data, std::string_view what);

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    std::uint64_t u64();
    // Well-formed UTF-8 of at most maxSize bytes, else Error(Malformed).
    std::string text(std::size_t maxSize);
    // A device name: text as above without control characters (shown on the TV,
    // stored in JSON).
    std::string name(std::size_t maxSize);
    Bytes bytes(std::size_t maxSize);
    Bytes fixed(std::size_t size);
    ByteView rest();

    std::size_t remaining() const noexcept { return data_.size() - offset_; }
    // Error(Malformed) when bytes are left over.
    void finish() const;

private:
    ByteView take(std::size_t count);

    ByteView data_;
    std::size_t offset_ = 0;
    std::string what_;
};

} // namespace boxoffice::bluetooth
