#include <boxoffice/wire/Base64Url.h>

#include <boxoffice/base/Error.h>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include <sstream>

namespace boxoffice::wire {

namespace {
constexpr int options = Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING;

bool isBase64UrlChar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}
}

std::string toBase64Url(ByteView bytes)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out, options);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    encoder.close();
    return out.str();
}

Bytes fromBase64Url(std::string_view text, std::string_view what)
{
    // Poco skips unknown characters silently; canonical input has none, and a
    // length of 1 mod 4 cannot come from any byte string.
    for (char c : text)
        if (!isBase64UrlChar(c)) throw Error(ErrorCode::Malformed, std::string(what) + ": not base64url");
    if (text.size() % 4 == 1) throw Error(ErrorCode::Malformed, std::string(what) + ": not base64url");
    std::istringstream in{std::string(text)};
    Poco::Base64Decoder decoder(in, options);
    Bytes out;
    out.reserve(text.size() * 3 / 4);
    char c = 0;
    while (decoder.get(c)) out.push_back(static_cast<std::uint8_t>(c));
    if (!decoder.eof()) throw Error(ErrorCode::Malformed, std::string(what) + ": not base64url");
    // Reject non-canonical trailing bits so that every byte string has one text.
    if (toBase64Url(out) != text) throw Error(ErrorCode::Malformed, std::string(what) + ": not canonical base64url");
    return out;
}

} // namespace boxoffice::wire
