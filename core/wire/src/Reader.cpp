#include <boxoffice/wire/Reader.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Types.h>

#include "Text.h"

#include <boxoffice/base/Text.h>

namespace boxoffice::wire {

void Reader::fail(std::string_view field, std::string_view why) const
{
    throw Error(ErrorCode::Malformed, object_ + "." + std::string(field) + ": " + std::string(why));
}

ByteView Reader::take(std::string_view field, std::size_t size)
{
    if (size > remaining()) fail(field, "truncated");
    const ByteView out = data_.subspan(offset_, size);
    offset_ += size;
    return out;
}

std::uint64_t Reader::unsignedField(std::string_view field, std::uint64_t min, std::uint64_t max, int width)
{
    std::uint64_t value = 0;
    for (std::uint8_t b : take(field, static_cast<std::size_t>(width))) value = (value << 8) | b;
    if (value < min || value > max) fail(field, "out of range");
    return value;
}

std::int64_t Reader::signedField(std::string_view field, std::int64_t min, std::int64_t max)
{
    std::uint64_t raw = 0;
    for (std::uint8_t b : take(field, 8)) raw = (raw << 8) | b;
    const auto value = static_cast<std::int64_t>(raw);
    if (value < min || value > max) fail(field, "out of range");
    return value;
}

bool Reader::boolean(std::string_view field)
{
    const auto b = take(field, 1)[0];
    if (b > 1) fail(field, "not a boolean");
    return b == 1;
}

std::string Reader::id(std::string_view field, bool allowEmpty)
{
    const std::size_t size = take(field, 1)[0];
    if (size == 0) {
        if (!allowEmpty) fail(field, "empty");
        return {};
    }
    if (size > maxIdSize) fail(field, "too long");
    const ByteView raw = take(field, size);
    std::string value(raw.begin(), raw.end());
    if (!isValidId(value)) fail(field, "invalid character");
    return value;
}

std::string Reader::text(std::string_view field, std::size_t maxSize)
{
    const ByteView lengthBytes = take(field, 2);
    const std::size_t size = static_cast<std::size_t>(lengthBytes[0]) << 8 | lengthBytes[1];
    if (size > maxSize) fail(field, "too long");
    const ByteView raw = take(field, size);
    std::string value(raw.begin(), raw.end());
    if (const auto problem = textProblem(value); !problem.empty()) fail(field, problem);
    return value;
}

Bytes Reader::bytes(std::string_view field, std::size_t minSize, std::size_t maxSize)
{
    const auto size = static_cast<std::size_t>(unsignedField(field, 0, 0xffffffffu, 4));
    if (size < minSize) fail(field, "too short");
    if (size > maxSize) fail(field, "too long");
    const ByteView raw = take(field, size);
    return Bytes(raw.begin(), raw.end());
}

ByteView Reader::fixed(std::string_view field, std::size_t size) { return take(field, size); }

std::string Reader::currency(std::string_view field)
{
    const ByteView raw = take(field, 3);
    std::string value(raw.begin(), raw.end());
    if (!detail::isCurrency(value)) fail(field, "not an ISO 4217 code");
    return value;
}

std::vector<std::string> Reader::idList(std::string_view field, std::size_t maxCount)
{
    const auto count = static_cast<std::size_t>(unsignedField(field, 0, 0xffff, 2));
    if (count > maxCount) fail(field, "too many entries");
    std::vector<std::string> ids;
    ids.reserve(count);
    for (std::size_t i = 0; i < count; ++i) ids.push_back(id(field));
    return ids;
}

void Reader::finish() const
{
    if (remaining() != 0)
        throw Error(ErrorCode::Malformed, object_ + ": " + std::to_string(remaining()) + " trailing bytes");
}

} // namespace boxoffice::wire
