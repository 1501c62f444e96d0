#include <boxoffice/base/Text.h>

#include <cstdint>

namespace boxoffice {

std::string_view textProblem(std::string_view text, bool allowControlCharacters) noexcept
{
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<std::uint8_t>(text[i]);
        if (c < 0x80) {
            if (!allowControlCharacters && ((c < 0x20 && c != '\n') || c == 0x7f)) return "control character";
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) { length = 2; cp = c & 0x1fu; }
        else if ((c & 0xf0) == 0xe0) { length = 3; cp = c & 0x0fu; }
        else if ((c & 0xf8) == 0xf0) { length = 4; cp = c & 0x07u; }
        else return "invalid UTF-8";
        if (i + length > text.size()) return "invalid UTF-8";
        for (std::size_t k = 1; k < length; ++k) {
            const auto cc = static_cast<std::uint8_t>(text[i + k]);
            if ((cc & 0xc0) != 0x80) return "invalid UTF-8";
            cp = (cp << 6) | (cc & 0x3fu);
        }
        const std::uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
        if (cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "invalid UTF-8";
        if (!allowControlCharacters && cp < 0xa0) return "control character";
        i += length;
    }
    return {};
}

std::string_view utf8Prefix(std::string_view text, std::size_t maxBytes) noexcept
{
    if (text.size() <= maxBytes) return text;
    std::size_t end = maxBytes;
    // Back up over continuation bytes to the start of the sequence the cut splits.
    while (end > 0 && (static_cast<std::uint8_t>(text[end]) & 0xc0) == 0x80) --end;
    return text.substr(0, end);
}

} // namespace boxoffice
