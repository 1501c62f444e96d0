#pragma once
// Strict canonical decoder, the mirror of Writer: every read names its field and
// throws Error(Malformed, "<object>.<field>: <why>") on truncation, bad length,
// out-of-range value or forbidden character. finish() rejects trailing bytes.

#include <boxoffice/base/Bytes.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::wire {

class Reader {
public:
    Reader(std::string_view object, ByteView data) : object_(object), data_(data) {}

    std::uint64_t unsignedField(std::string_view field, std::uint64_t min, std::uint64_t max, int width);
    std::int64_t signedField(std::string_view field, std::int64_t min, std::int64_t max);
    bool boolean(std::string_view field);
    std::string id(std::string_view field, bool allowEmpty = false);
    std::string text(std::string_view field, std::size_t maxSize);
    Bytes bytes(std::string_view field, std::size_t minSize, std::size_t maxSize);
    ByteView fixed(std::string_view field, std::size_t size);
    std::string currency(std::string_view field);
    std::vector<std::string> idList(std::string_view field, std::size_t maxCount);

    std::size_t offset() const noexcept { return offset_; }
    std::size_t remaining() const noexcept { return data_.size() - offset_; }
    // Error(Malformed, "<object>: N trailing bytes") unless everything was read.
    void finish() const;

    [[noreturn]] void fail(std::string_view field, std::string_view why) const;

private:
    ByteView take(std::string_view field, std::size_t size);

    std::string object_;
    ByteView data_;
    std::size_t offset_ = 0;
};

} // namespace boxoffice::wire
