#pragma once
// Internal: validation of free text shared by Writer and Reader (the UTF-8 and
// control-character check itself is boxoffice::textProblem, base/Text.h).

#include <string_view>

namespace boxoffice::wire::detail {

bool isCurrency(std::string_view text) noexcept;

} // namespace boxoffice::wire::detail
