#include <boxoffice/rpc/TokenStore.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Hash.h>

namespace boxoffice::rpc {

namespace {

Bytes digestBytes(std::string_view token)
{
    const auto* data = reinterpret_cast<const std::uint8_t*>(token.data());
    const auto hash = crypto::sha256(ByteView(data, token.size()));
    return Bytes(hash.begin(), hash.end());
}

} // namespace

void TokenStore::add(const std::string& client, const std::string& sha256Hex, std::set<std::string> scopes)
{
    Bytes digest = fromHex(sha256Hex, "token digest of client '" + client + "'");
    if (digest.size() != 32)
        throw Error(ErrorCode::InvalidArgument, "token digest of client '" + client + "' must be 32 bytes of SHA-256");
    entries_.push_back({client, std::move(digest), std::move(scopes)});
}

std::optional<Caller> TokenStore::authenticate(std::string_view token) const
{
    if (token.empty()) return std::nullopt;
    const Bytes digest = digestBytes(token);
    const Entry* found = nullptr;
    // Compare against every entry so the time taken does not tell which matched.
    for (const auto& entry : entries_) {
        if (crypto::constantTimeEqual(entry.digest, digest)) found = &entry;
    }
    if (!found) return std::nullopt;
    return Caller{found->client, found->scopes, nullptr};
}

std::string TokenStore::digest(std::string_view token)
{
    return toHex(digestBytes(token));
}

} // namespace boxoffice::rpc
