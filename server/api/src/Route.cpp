#include <boxoffice/serverapi/Route.h>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <limits>

namespace boxoffice::serverapi {

std::string_view toString(Auth auth) noexcept
{
    switch (auth) {
    case Auth::None: return "none";
    case Auth::Device: return "device";
    case Auth::NewDevice: return "newDevice";
    case Auth::Phone: return "phone";
    case Auth::Operator: return "operator";
    }
    return "?";
}

Poco::JSON::Object::Ptr Request::json() const
{
    Poco::Dynamic::Var parsed;
    try {
        Poco::JSON::Parser parser;
        parsed = parser.parse(body.empty() ? std::string("{}") : body);
    } catch (const Poco::Exception& e) {
        throw Error(ErrorCode::Malformed, "request body is not JSON: " + e.message());
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
        throw Error(ErrorCode::Malformed, "request body must be a JSON object");
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

const std::string& Request::param(const std::string& name) const
{
    auto it = params.find(name);
    if (it == params.end()) throw Error(ErrorCode::InvalidArgument, "missing path parameter " + name);
    return it->second;
}

namespace {

std::vector<std::string_view> segments(std::string_view path)
{
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto end = path.find('/', start);
        const auto piece = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (!piece.empty()) out.push_back(piece);
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return out;
}

} // namespace

bool matchPattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params)
{
    const auto want = segments(pattern);
    const auto have = segments(path);
    if (want.size() != have.size()) return false;
    std::map<std::string, std::string> found;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}')
            found.emplace(std::string(want[i].substr(1, want[i].size() - 2)), std::string(have[i]));
        else if (want[i] != have[i])
            return false;
    }
    params = std::move(found);
    return true;
}

std::string requireString(const Poco::JSON::Object& o, const std::string& field, std::size_t maxLength)
{
    if (!o.has(field)) throw Error(ErrorCode::InvalidArgument, "missing field '" + field + "'");
    const auto v = o.get(field);
    if (!v.isString()) throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be a string");
    auto s = v.extract<std::string>();
    if (s.size() > maxLength)
        throw Error(ErrorCode::InvalidArgument, "field '" + field + "' is longer than " + std::to_string(maxLength));
    return s;
}

std::string optionalString(const Poco::JSON::Object& o, const std::string& field, std::size_t maxLength)
{
    if (!o.has(field) || o.isNull(field)) return {};
    return requireString(o, field, maxLength);
}

std::int64_t requireInt(const Poco::JSON::Object& o, const std::string& field)
{
    if (!o.has(field)) throw Error(ErrorCode::InvalidArgument, "missing field '" + field + "'");
    const auto v = o.get(field);
    // Integers only: a JSON number with a fraction or exponent, or one that does
    // not fit 64 bits, is refused rather than rounded.
    // Poco counts a JSON true/false as an integer (1/0): refused too.
    if (!v.isInteger() || v.isBoolean()) throw Error(ErrorCode::InvalidArgument, "field '" + field + "' must be an integer");
    try {
        if (v.isSigned()) return v.convert<std::int64_t>();
        const auto u = v.convert<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) throw Poco::RangeException();
        return static_cast<std::int64_t>(u);
    } catch (const Poco::Exception&) {
        throw Error(ErrorCode::InvalidArgument, "field '" + field + "' is out of range");
    }
}

void allowOnly(const Poco::JSON::Object& o, std::initializer_list<std::string_view> allowed)
{
    for (const auto& [name, value] : o) {
        (void)value;
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
            throw Error(ErrorCode::InvalidArgument, "unknown field '" + name + "'");
    }
}

} // namespace boxoffice::serverapi
