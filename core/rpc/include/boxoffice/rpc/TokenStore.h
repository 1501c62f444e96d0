#pragma once
// Client tokens of the control API. Only SHA-256 digests of tokens are kept,
// so configuration files and memory dumps do not reveal them; lookups compare
// digests in constant time.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/rpc/Caller.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace boxoffice::rpc {

class TokenStore {
public:
    // `sha256Hex` is the hex SHA-256 of the token text.
    void add(const std::string& client, const std::string& sha256Hex, std::set<std::string> scopes);

    // The caller the token belongs to, or nothing for an unknown token.
    std::optional<Caller> authenticate(std::string_view token) const;

    bool empty() const { return entries_.empty(); }

    // Hex SHA-256 of a token, as configuration stores it.
    static std::string digest(std::string_view token);

private:
    struct Entry {
        std::string client;
        Bytes digest;
        std::set<std::string> scopes;
    };
    std::vector<Entry> entries_;
};

} // namespace boxoffice::rpc
