#pragma once
// Phone request signatures. A phone signs, with its registered P-256 key:
//
//   "BOXOFFICE-PHONE-2\n" PHONE_ID "\n" METHOD "\n" PATH[?QUERY] "\n" hex(SHA-256(body)) "\n" TIMESTAMP "\n" NONCE
//
// (the phone id is signed too: a key registered under two phone ids, e.g. an app
// restored from a backup, does not let one id's request pass as the other's)
// and sends the headers
//   X-BoxOffice-Phone: <phone id>
//   X-BoxOffice-Timestamp: <unix seconds>
//   X-BoxOffice-Nonce: <16..64 characters [A-Za-z0-9_-]>
//   X-BoxOffice-Signature: base64url(r || s)
// The server accepts a timestamp within `kPhoneClockSkew` of its clock and each
// (phone, nonce) once, so a captured request cannot be replayed.

#include <boxoffice/crypto/P256.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace boxoffice::serverapi {

inline constexpr std::int64_t kPhoneClockSkew = 300; // seconds

std::string phoneSigningString(std::string_view phoneId, std::string_view method, std::string_view pathAndQuery,
                               std::string_view body, std::int64_t timestamp, std::string_view nonce);

// The four headers for a request (fresh random nonce).
std::map<std::string, std::string> signPhoneRequest(const crypto::P256PrivateKey& key, const std::string& phoneId,
                                                    std::string_view method, std::string_view pathAndQuery,
                                                    std::string_view body, std::int64_t timestamp);

} // namespace boxoffice::serverapi
