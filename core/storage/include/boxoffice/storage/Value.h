#pragma once
// One SQL value, as bound to a statement parameter or read from a result
// column: NULL, a 64-bit integer, text or a binary blob. These are the only
// types the storage layer carries, so both backends map them the same way.

#include <boxoffice/base/Bytes.h>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace boxoffice::storage {

class Value {
public:
    enum class Kind { Null, Integer, Text, Blob };

    Value() = default;
    Value(std::nullptr_t) {}
    // Any integer type; an unsigned value above INT64_MAX throws InvalidArgument.
    template <std::integral T>
    Value(T v) : data_(toInt64(v)) {}
    Value(std::string v) : data_(std::move(v)) {}
    Value(std::string_view v) : data_(std::string(v)) {}
    Value(const char* v) : data_(std::string(v)) {}
    Value(Bytes v) : data_(std::move(v)) {}
    Value(ByteView v) : data_(Bytes(v.begin(), v.end())) {}
    template <class T>
    Value(const std::optional<T>& v) {
        if (v) *this = Value(*v);
    }

    Kind kind() const noexcept { return static_cast<Kind>(data_.index()); }
    bool isNull() const noexcept { return kind() == Kind::Null; }

    // Typed reads; a NULL or a value that does not convert throws Error(Storage).
    // Text and blob convert into each other byte for byte; text converts to an
    // integer only if it is exactly a decimal integer (SQLite reports untyped
    // expressions such as count(*) as text).
    std::int64_t asInt64() const;
    std::string asText() const;
    Bytes asBlob() const;

    friend bool operator==(const Value&, const Value&) = default;

private:
    template <std::integral T>
    static std::int64_t toInt64(T v) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (v > static_cast<T>(INT64_MAX)) throwOutOfRange();
        }
        return static_cast<std::int64_t>(v);
    }
    [[noreturn]] static void throwOutOfRange();

    std::variant<std::monostate, std::int64_t, std::string, Bytes> data_;
};

std::string_view toString(Value::Kind kind) noexcept;

} // namespace boxoffice::storage
