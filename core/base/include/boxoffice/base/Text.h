#pragma once
// Checks of text that arrives from outside (wire objects, Bluetooth messages)
// before it is stored, shown or written into JSON: Poco's JSON reader refuses
// malformed UTF-8, so one bad name saved would make a whole file unreadable.

#include <cstddef>
#include <string_view>

namespace boxoffice {

// Empty when acceptable, otherwise the reason: well-formed UTF-8 (no overlong
// forms, no surrogates) and, unless allowed, no control characters other than
// newline.
std::string_view textProblem(std::string_view text, bool allowControlCharacters = false) noexcept;

// The longest prefix of at most maxBytes that does not end inside a UTF-8
// sequence (for cutting names to a protocol's limit).
std::string_view utf8Prefix(std::string_view text, std::size_t maxBytes) noexcept;

} // namespace boxoffice
