#include "Text.h"

namespace boxoffice::wire::detail {

bool isCurrency(std::string_view text) noexcept
{
    if (text.size() != 3) return false;
    for (char c : text)
        if (c < 'A' || c > 'Z') return false;
    return true;
}

} // namespace boxoffice::wire::detail
