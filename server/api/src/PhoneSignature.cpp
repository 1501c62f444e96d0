#include <boxoffice/serverapi/PhoneSignature.h>

#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/Random.h>

#include <Poco/Base64Encoder.h>

#include <sstream>

namespace boxoffice::serverapi {

namespace {

std::string base64Url(ByteView bytes)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    encoder.close();
    return out.str();
}

} // namespace

std::string phoneSigningString(std::string_view phoneId, std::string_view method, std::string_view pathAndQuery,
                               std::string_view body, std::int64_t timestamp, std::string_view nonce)
{
    const auto digest = crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    std::string s = "BOXOFFICE-PHONE-2\n";
    s.append(phoneId).append("\n").append(method).append("\n").append(pathAndQuery).append("\n");
    s.append(toHex(ByteView(digest.data(), digest.size()))).append("\n");
    s.append(std::to_string(timestamp)).append("\n").append(nonce);
    return s;
}

std::map<std::string, std::string> signPhoneRequest(const crypto::P256PrivateKey& key, const std::string& phoneId,
                                                    std::string_view method, std::string_view pathAndQuery,
                                                    std::string_view body, std::int64_t timestamp)
{
    const auto nonce = base64Url(crypto::randomBytes(18));
    const auto text = phoneSigningString(phoneId, method, pathAndQuery, body, timestamp, nonce);
    const auto signature = key.sign(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    return {{"X-BoxOffice-Phone", phoneId},
            {"X-BoxOffice-Timestamp", std::to_string(timestamp)},
            {"X-BoxOffice-Nonce", nonce},
            {"X-BoxOffice-Signature", base64Url(signature)}};
}

} // namespace boxoffice::serverapi
