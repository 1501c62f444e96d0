#pragma once
// Hexadecimal text <-> bytes, for configuration, test vectors and JSON.

#include <boxoffice/base/Bytes.h>

#include <string>
#include <string_view>

namespace boxoffice {

std::string toHex(ByteView bytes);

// Accepts upper and lower case; throws Error(Malformed) naming `what` on an odd
// length or a non-hex character.
Bytes fromHex(std::string_view text, std::string_view what = "hex string");

} // namespace boxoffice
