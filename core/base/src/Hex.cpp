#include <boxoffice/base/Hex.h>

#include <boxoffice/base/Error.h>

namespace boxoffice {

namespace {

int nibble(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::string toHex(ByteView bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
    }
    return out;
}

Bytes fromHex(std::string_view text, std::string_view what)
{
    if (text.size() % 2 != 0)
        throw Error(ErrorCode::Malformed, std::string(what) + ": odd number of hex digits");
    Bytes out(text.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(text[2 * i]);
        const int lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            throw Error(ErrorCode::Malformed, std::string(what) + ": not a hex digit at offset " + std::to_string(2 * i));
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}

} // namespace boxoffice
