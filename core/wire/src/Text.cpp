#include "Text.h"

#include <cstdint>

namespace boxoffice::wire::detail {

std::string_view textProblem(std::string_view text) noexcept
{
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<std::uint8_t>(text[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n') || c == 0x7f) return "control character";
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
        if (cp >= 0x80 && cp < 0xa0) return "control character";
        i += length;
    }
    return {};
}

bool isCurrency(std::string_view text) noexcept
{
    if (text.size() != 3) return false;
    for (char c : text)
        if (c < 'A' || c > 'Z') return false;
    return true;
}

} // namespace boxoffice::wire::detail
