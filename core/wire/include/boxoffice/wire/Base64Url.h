#pragma once
// base64url without padding (RFC 4648 section 5): how wire objects travel in JSON.

#include <boxoffice/base/Bytes.h>

#include <string>
#include <string_view>

namespace boxoffice::wire {

std::string toBase64Url(ByteView bytes);
// Error(Malformed, "<what>: not base64url") on any other character or padding.
Bytes fromBase64Url(std::string_view text, std::string_view what = "base64url");

} // namespace boxoffice::wire
