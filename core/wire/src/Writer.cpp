#include <boxoffice/wire/Writer.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Types.h>

#include "Text.h"

#include <boxoffice/base/Text.h>

namespace boxoffice::wire {

namespace {

template <typename T> void putBigEndian(Bytes& out, T value, int width)
{
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>((static_cast<std::uint64_t>(value) >> shift) & 0xff));
}

} // namespace

void Writer::fail(std::string_view field, std::string_view why) const
{
    throw Error(ErrorCode::InvalidArgument, object_ + "." + std::string(field) + ": " + std::string(why));
}

void Writer::u8(std::uint8_t value) { out_.push_back(value); }
void Writer::u16(std::uint16_t value) { putBigEndian(out_, value, 2); }
void Writer::u32(std::uint32_t value) { putBigEndian(out_, value, 4); }
void Writer::u64(std::uint64_t value) { putBigEndian(out_, value, 8); }
void Writer::i64(std::int64_t value) { putBigEndian(out_, static_cast<std::uint64_t>(value), 8); }

void Writer::unsignedField(std::string_view field, std::uint64_t value, std::uint64_t min, std::uint64_t max, int width)
{
    if (value < min || value > max) fail(field, "out of range");
    putBigEndian(out_, value, width);
}

void Writer::signedField(std::string_view field, std::int64_t value, std::int64_t min, std::int64_t max)
{
    if (value < min || value > max) fail(field, "out of range");
    i64(value);
}

void Writer::boolean(std::string_view, bool value) { u8(value ? 1 : 0); }

void Writer::id(std::string_view field, std::string_view value, bool allowEmpty)
{
    if (value.empty()) {
        if (!allowEmpty) fail(field, "empty");
    } else if (value.size() > maxIdSize) {
        fail(field, "too long");
    } else if (!isValidId(value)) {
        fail(field, "invalid character");
    }
    u8(static_cast<std::uint8_t>(value.size()));
    out_.insert(out_.end(), value.begin(), value.end());
}

void Writer::text(std::string_view field, std::string_view value, std::size_t maxSize)
{
    if (value.size() > maxSize) fail(field, "too long");
    if (const auto problem = textProblem(value); !problem.empty()) fail(field, problem);
    u16(static_cast<std::uint16_t>(value.size()));
    out_.insert(out_.end(), value.begin(), value.end());
}

void Writer::bytes(std::string_view field, ByteView value, std::size_t minSize, std::size_t maxSize)
{
    if (value.size() < minSize) fail(field, "too short");
    if (value.size() > maxSize) fail(field, "too long");
    u32(static_cast<std::uint32_t>(value.size()));
    out_.insert(out_.end(), value.begin(), value.end());
}

void Writer::fixed(ByteView value) { out_.insert(out_.end(), value.begin(), value.end()); }

void Writer::currency(std::string_view field, std::string_view value)
{
    if (!detail::isCurrency(value)) fail(field, "not an ISO 4217 code");
    out_.insert(out_.end(), value.begin(), value.end());
}

void Writer::idList(std::string_view field, const std::vector<std::string>& ids, std::size_t maxCount)
{
    if (ids.size() > maxCount) fail(field, "too many entries");
    u16(static_cast<std::uint16_t>(ids.size()));
    for (const auto& entry : ids) id(field, entry);
}

} // namespace boxoffice::wire
