#pragma once
// Canonical encoder (see core/wire/FORMAT.md): integers big-endian fixed width,
// variable fields length-prefixed, no optional or reordered fields. Every method
// validates its value first and throws Error(InvalidArgument, "<object>.<field>: <why>"),
// so an invalid object is never encoded (and hence never signed).

#include <boxoffice/base/Bytes.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::wire {

class Writer {
public:
    explicit Writer(std::string_view object) : object_(object) {}

    void u8(std::uint8_t value);
    void u16(std::uint16_t value);
    void u32(std::uint32_t value);
    void u64(std::uint64_t value);
    void i64(std::int64_t value);

    // Range-checked integers (any of the widths above, chosen by `width` bytes).
    void unsignedField(std::string_view field, std::uint64_t value, std::uint64_t min, std::uint64_t max, int width);
    void signedField(std::string_view field, std::int64_t value, std::int64_t min, std::int64_t max);

    void boolean(std::string_view field, bool value);
    // u8 length + characters; empty only when `allowEmpty`.
    void id(std::string_view field, std::string_view value, bool allowEmpty = false);
    // u16 length + UTF-8 text without control characters.
    void text(std::string_view field, std::string_view value, std::size_t maxSize);
    // u32 length + bytes.
    void bytes(std::string_view field, ByteView value, std::size_t minSize, std::size_t maxSize);
    // Exactly value.size() bytes, no length.
    void fixed(ByteView value);
    // Three upper-case letters (ISO 4217), no length.
    void currency(std::string_view field, std::string_view value);
    // u16 count + ids.
    void idList(std::string_view field, const std::vector<std::string>& ids, std::size_t maxCount);

    const Bytes& data() const noexcept { return out_; }
    Bytes take() { return std::move(out_); }

    [[noreturn]] void fail(std::string_view field, std::string_view why) const;

private:
    std::string object_;
    Bytes out_;
};

} // namespace boxoffice::wire
