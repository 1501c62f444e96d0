#include "ConnectionString.h"

#include <boxoffice/base/Error.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

namespace boxoffice::storage::detail {

namespace {

[[noreturn]] void bad(const std::string& what) {
    throw Error(ErrorCode::InvalidArgument, "bad connection string: " + what);
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string percentDecode(std::string_view s, std::string_view part) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        unsigned value = 0;
        if (i + 2 >= s.size() || std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16).ptr != s.data() + i + 3)
            bad("invalid %-escape in the " + std::string(part));
        out += static_cast<char>(value);
        i += 2;
    }
    return out;
}

// The option names this libpq knows, so a typo is reported by name.
const std::set<std::string>& libpqOptions() {
    static const std::set<std::string> names = [] {
        std::set<std::string> out;
        PQconninfoOption* options = PQconndefaults();
        for (PQconninfoOption* o = options; o && o->keyword; ++o) out.insert(o->keyword);
        PQconninfoFree(options);
        return out;
    }();
    return names;
}

std::string describePostgres(const std::map<std::string, std::string>& o) {
    // Appends only (no operator+ on temporaries: GCC 12 -O3 reports a false -Wrestrict).
    auto append = [&](std::string& d, const char* key, const char* before, const char* after) {
        if (auto it = o.find(key); it != o.end()) d.append(before).append(it->second).append(after);
    };
    std::string d = "postgresql://";
    append(d, "user", "", "@");
    append(d, "host", "", "");
    append(d, "port", ":", "");
    d.append("/");
    append(d, "dbname", "", "");
    return d;
}

// A value as libpq's key=value syntax wants it: single-quoted when it holds a
// space, a quote or a backslash, with quotes and backslashes escaped.
std::string conninfoValue(const std::string& value) {
    const bool plain = std::none_of(value.begin(), value.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\';
    });
    if (plain) return value;
    std::string quoted = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted + "'";
}

ConnectionTarget postgresTarget(std::map<std::string, std::string> o, const Options& options) {
    for (const auto& [key, value] : o) {
        if (!libpqOptions().count(key)) bad("unknown PostgreSQL connection option '" + key + "'");
        if (value.empty()) bad("PostgreSQL option '" + key + "' has an empty value");
    }
    if (auto it = o.find("port"); it != o.end()) {
        unsigned port = 0;
        auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), port);
        if (ec != std::errc() || ptr != it->second.data() + it->second.size() || port == 0 || port > 65535)
            bad("PostgreSQL port '" + it->second + "' is not a number in 1..65535");
    }
    if (!o.count("connect_timeout")) o["connect_timeout"] = std::to_string(options.connectTimeout.count());
    std::string target;
    for (const auto& [key, value] : o) target += (target.empty() ? "" : " ") + key + "=" + conninfoValue(value);
    return {Backend::Postgres, Poco::Data::PostgreSQL::Connector::KEY, target, describePostgres(o)};
}

// postgresql://[user[:password]@][host][:port][/dbname][?key=value&...]
ConnectionTarget parsePostgresUri(std::string_view rest, const Options& options) {
    std::map<std::string, std::string> o;
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view path = authority.size() < rest.size() ? rest.substr(authority.size() + 1) : std::string_view();
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        auto colon = userinfo.find(':');
        if (colon != std::string_view::npos) o["password"] = percentDecode(userinfo.substr(colon + 1), "password");
        std::string user = percentDecode(userinfo.substr(0, colon), "user name");
        if (!user.empty()) o["user"] = user;
    }
    std::string_view host = authority, port;
    if (startsWith(authority, "[")) { // [IPv6]:port
        auto close = authority.find(']');
        if (close == std::string_view::npos) bad("unterminated '[' in the host");
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') bad("unexpected text after ']' in the host");
            port = authority.substr(close + 2);
        }
    } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (!host.empty()) o["host"] = percentDecode(host, "host");
    if (!port.empty()) o["port"] = std::string(port);
    if (!path.empty()) o["dbname"] = percentDecode(path, "database name");
    while (!query.empty()) {
        std::string_view pair = query.substr(0, query.find('&'));
        query = pair.size() < query.size() ? query.substr(pair.size() + 1) : std::string_view();
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) bad("URI parameter without '='");
        o[percentDecode(pair.substr(0, eq), "parameter name")] = percentDecode(pair.substr(eq + 1), "parameter value");
    }
    return postgresTarget(std::move(o), options);
}

// key=value key='quoted value' ... (libpq syntax)
ConnectionTarget parsePostgresKeywords(std::string_view s, const Options& options) {
    std::map<std::string, std::string> o;
    std::size_t i = 0;
    auto skipSpace = [&] {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    };
    for (skipSpace(); i < s.size(); skipSpace()) {
        std::size_t start = i;
        while (i < s.size() && s[i] != '=' && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::string key(s.substr(start, i - start));
        skipSpace();
        // The token is not echoed: it may be part of a mistyped password.
        if (i >= s.size() || s[i] != '=') bad("expected key=value at offset " + std::to_string(start));
        ++i;
        skipSpace();
        std::string value;
        if (i < s.size() && s[i] == '\'') {
            for (++i; i < s.size() && s[i] != '\''; ++i) {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                value += s[i];
            }
            if (i >= s.size()) bad("unterminated quote in the value of '" + key + "'");
            ++i;
        } else {
            while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                value += s[i++];
            }
        }
        o[key] = value;
    }
    if (o.empty()) bad("empty PostgreSQL key=value list");
    return postgresTarget(std::move(o), options);
}

} // namespace

ConnectionTarget parseConnection(std::string_view text, const Options& options) {
    if (startsWith(text, "sqlite:")) {
        std::string_view path = text.substr(7);
        if (startsWith(path, "//")) path.remove_prefix(2); // sqlite:///abs/path
        if (path.empty()) bad("'sqlite:' needs a file path, e.g. sqlite:/var/lib/boxoffice/stb.db");
        if (path == ":memory:" || startsWith(path, "file:"))
            bad("in-memory and URI SQLite databases are not supported: every session must see the same file");
        return {Backend::Sqlite, Poco::Data::SQLite::Connector::KEY, std::string(path), "sqlite:" + std::string(path)};
    }
    if (startsWith(text, "postgresql://")) return parsePostgresUri(text.substr(13), options);
    if (startsWith(text, "postgres://")) return parsePostgresUri(text.substr(11), options);
    if (text.find('=') != std::string_view::npos && text.find("://") == std::string_view::npos)
        return parsePostgresKeywords(text, options);
    auto scheme = text.find(':');
    bad(scheme == std::string_view::npos || scheme > 20
            ? std::string("expected sqlite:<path>, postgresql://... or libpq key=value")
            : "unknown scheme '" + std::string(text.substr(0, scheme)) +
                  "' (expected sqlite:<path>, postgresql://... or libpq key=value)");
}

} // namespace boxoffice::storage::detail
