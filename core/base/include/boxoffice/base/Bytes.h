#pragma once
// Byte buffers used across BoxOffice.

#include <cstdint>
#include <span>
#include <vector>

namespace boxoffice {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using MutableByteView = std::span<std::uint8_t>;

} // namespace boxoffice
