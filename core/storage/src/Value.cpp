#include <boxoffice/storage/Value.h>

#include <boxoffice/base/Error.h>

#include <charconv>

namespace boxoffice::storage {

namespace {
[[noreturn]] void notConvertible(Value::Kind from, std::string_view to) {
    throw Error(ErrorCode::Storage,
                "cannot read a " + std::string(toString(from)) + " value as " + std::string(to));
}
} // namespace

void Value::throwOutOfRange() {
    throw Error(ErrorCode::InvalidArgument, "unsigned value above INT64_MAX cannot be stored");
}

std::int64_t Value::asInt64() const {
    if (const auto* v = std::get_if<std::int64_t>(&data_)) return *v;
    if (const auto* s = std::get_if<std::string>(&data_)) {
        std::int64_t out = 0;
        const char* end = s->data() + s->size();
        auto [ptr, ec] = std::from_chars(s->data(), end, out);
        if (ec == std::errc() && ptr == end && !s->empty()) return out;
    }
    notConvertible(kind(), "an integer");
}

std::string Value::asText() const {
    if (const auto* s = std::get_if<std::string>(&data_)) return *s;
    if (const auto* b = std::get_if<Bytes>(&data_)) return std::string(b->begin(), b->end());
    if (const auto* v = std::get_if<std::int64_t>(&data_)) return std::to_string(*v);
    notConvertible(kind(), "text");
}

Bytes Value::asBlob() const {
    if (const auto* b = std::get_if<Bytes>(&data_)) return *b;
    if (const auto* s = std::get_if<std::string>(&data_)) return Bytes(s->begin(), s->end());
    notConvertible(kind(), "a blob");
}

std::string_view toString(Value::Kind kind) noexcept {
    switch (kind) {
    case Value::Kind::Null: return "NULL";
    case Value::Kind::Integer: return "integer";
    case Value::Kind::Text: return "text";
    case Value::Kind::Blob: return "blob";
    }
    return "unknown";
}

} // namespace boxoffice::storage
