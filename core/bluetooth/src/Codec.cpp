#include <boxoffice/bluetooth/Codec.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Text.h>

namespace boxoffice::bluetooth {

namespace {
template <class T>
void putBigEndian(Bytes& out, T value)
{
    for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(value >> shift));
}
} // namespace

FieldWriter& FieldWriter::u8(std::uint8_t value) { out_.push_back(value); return *this; }
FieldWriter& FieldWriter::u16(std::uint16_t value) { putBigEndian(out_, value); return *this; }
FieldWriter& FieldWriter::u32(std::uint32_t value) { putBigEndian(out_, value); return *this; }
FieldWriter& FieldWriter::u64(std::uint64_t value) { putBigEndian(out_, value); return *this; }

FieldWriter& FieldWriter::text(std::string_view value)
{
    if (value.size() > 0xffff) throw Error(ErrorCode::LimitExceeded, "text field longer than 65535 bytes");
    u16(static_cast<std::uint16_t>(value.size()));
    out_.insert(out_.end(), value.begin(), value.end());
    return *this;
}

FieldWriter& FieldWriter::bytes(ByteView value)
{
    if (value.size() > 0xffffffffu) throw Error(ErrorCode::LimitExceeded, "bytes field too long");
    u32(static_cast<std::uint32_t>(value.size()));
    return fixed(value);
}

FieldWriter& FieldWriter::fixed(ByteView value)
{
    out_.insert(out_.end(), value.begin(), value.end());
    return *this;
}

FieldReader::FieldReader(ByteView data, std::string_view what) : data_(data), what_(what) {}

ByteView FieldReader::take(std::size_t count)
{
    if (count > remaining())
        throw Error(ErrorCode::Malformed, what_ + ": truncated (needs " + std::to_string(count) + " more bytes, has " +
                                              std::to_string(remaining()) + ")");
    auto view = data_.subspan(offset_, count);
    offset_ += count;
    return view;
}

namespace {
template <class T>
T getBigEndian(ByteView bytes)
{
    T value = 0;
    for (auto b : bytes) value = static_cast<T>((value << 8) | b);
    return value;
}
} // namespace

std::uint8_t FieldReader::u8() { return take(1)[0]; }
std::uint16_t FieldReader::u16() { return getBigEndian<std::uint16_t>(take(2)); }
std::uint32_t FieldReader::u32() { return getBigEndian<std::uint32_t>(take(4)); }
std::uint64_t FieldReader::u64() { return getBigEndian<std::uint64_t>(take(8)); }

std::string FieldReader::text(std::size_t maxSize)
{
    const std::size_t size = u16();
    if (size > maxSize)
        throw Error(ErrorCode::Malformed, what_ + ": text of " + std::to_string(size) + " bytes exceeds " +
                                              std::to_string(maxSize));
    auto view = take(size);
    std::string text(view.begin(), view.end());
    if (const auto problem = textProblem(text, true); !problem.empty())
        throw Error(ErrorCode::Malformed, what_ + ": text field: " + std::string(problem));
    return text;
}

std::string FieldReader::name(std::size_t maxSize)
{
    auto value = text(maxSize);
    if (const auto problem = textProblem(value); !problem.empty())
        throw Error(ErrorCode::Malformed, what_ + ": name: " + std::string(problem));
    return value;
}

Bytes FieldReader::bytes(std::size_t maxSize)
{
    const std::size_t size = u32();
    if (size > maxSize)
        throw Error(ErrorCode::Malformed, what_ + ": field of " + std::to_string(size) + " bytes exceeds " +
                                              std::to_string(maxSize));
    auto view = take(size);
    return Bytes(view.begin(), view.end());
}

Bytes FieldReader::fixed(std::size_t size)
{
    auto view = take(size);
    return Bytes(view.begin(), view.end());
}

ByteView FieldReader::rest() { return take(remaining()); }

void FieldReader::finish() const
{
    if (remaining() != 0)
        throw Error(ErrorCode::Malformed, what_ + ": " + std::to_string(remaining()) + " unexpected trailing bytes");
}

} // namespace boxoffice::bluetooth
