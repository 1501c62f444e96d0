#pragma once
// Prepared statements of one connection by SQL text, found with the
// std::string_view a query arrives as (no std::string built per lookup).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace boxoffice::storage::detail {

struct SqlTextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class Prepared> using StatementCache = std::unordered_map<std::string, Prepared, SqlTextHash, std::equal_to<>>;

} // namespace boxoffice::storage::detail
