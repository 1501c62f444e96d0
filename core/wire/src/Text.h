#pragma once
// Internal: validation of free text shared by Writer and Reader.

#include <string_view>

namespace boxoffice::wire::detail {

// Empty when acceptable, otherwise the reason: well-formed UTF-8 (no overlong
// forms, no surrogates) without control characters other than newline.
std::string_view textProblem(std::string_view text) noexcept;
bool isCurrency(std::string_view text) noexcept;

} // namespace boxoffice::wire::detail
