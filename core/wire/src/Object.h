#pragma once
// Internal: one field list per object drives its encoder, its decoder and its
// readable JSON, so the three can never disagree. Each object's .cpp defines
//   constexpr auto fields = [](auto& v, auto& o) { v.id("ticket_id", o.ticketId); ... };
// and forwards to the templates below.

#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/Reader.h>
#include <boxoffice/wire/Types.h>
#include <boxoffice/wire/Writer.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <array>
#include <limits>
#include <type_traits>

namespace boxoffice::wire::detail {

using wire::maxTime;
inline constexpr std::size_t maxNestedSize = 16 * 1024;

template <typename T> constexpr int widthOf()
{
    static_assert(std::is_unsigned_v<T>);
    return static_cast<int>(sizeof(T));
}

struct EncodeVisitor {
    Writer& w;

    template <typename T> void num(std::string_view f, const T& value, T min, T max)
    {
        if constexpr (std::is_signed_v<T>) w.signedField(f, value, min, max);
        else w.unsignedField(f, value, min, max, widthOf<T>());
    }
    void time(std::string_view f, const UnixTime& t) { w.signedField(f, t, 0, maxTime); }
    void amount(std::string_view f, const Amount& a) { w.signedField(f, a, 0, maxAmount); }
    void id(std::string_view f, const std::string& s, bool allowEmpty = false) { w.id(f, s, allowEmpty); }
    void text(std::string_view f, const std::string& s, std::size_t max) { w.text(f, s, max); }
    void bytes(std::string_view f, const Bytes& b, std::size_t min, std::size_t max) { w.bytes(f, b, min, max); }
    template <std::size_t N> void fixed(std::string_view, const std::array<std::uint8_t, N>& a) { w.fixed(a); }
    void boolean(std::string_view f, const bool& b) { w.boolean(f, b); }
    void currency(std::string_view f, const std::string& s) { w.currency(f, s); }
    void idList(std::string_view f, const std::vector<std::string>& ids, std::size_t max) { w.idList(f, ids, max); }
    template <typename E> void enumeration(std::string_view f, const E& e)
    {
        if (toString(e).empty()) w.fail(f, "unknown value");
        w.u8(static_cast<std::uint8_t>(e));
    }
    template <typename T> void nested(std::string_view f, const T& object)
    {
        w.bytes(f, object.encode(), 1, maxNestedSize);
    }
    void check(bool ok, std::string_view f, std::string_view why)
    {
        if (!ok) w.fail(f, why);
    }
};

struct DecodeVisitor {
    Reader& r;

    template <typename T> void num(std::string_view f, T& value, T min, T max)
    {
        if constexpr (std::is_signed_v<T>) value = static_cast<T>(r.signedField(f, min, max));
        else value = static_cast<T>(r.unsignedField(f, min, max, widthOf<T>()));
    }
    void time(std::string_view f, UnixTime& t) { t = r.signedField(f, 0, maxTime); }
    void amount(std::string_view f, Amount& a) { a = r.signedField(f, 0, maxAmount); }
    void id(std::string_view f, std::string& s, bool allowEmpty = false) { s = r.id(f, allowEmpty); }
    void text(std::string_view f, std::string& s, std::size_t max) { s = r.text(f, max); }
    void bytes(std::string_view f, Bytes& b, std::size_t min, std::size_t max) { b = r.bytes(f, min, max); }
    template <std::size_t N> void fixed(std::string_view f, std::array<std::uint8_t, N>& a)
    {
        const ByteView raw = r.fixed(f, N);
        std::copy(raw.begin(), raw.end(), a.begin());
    }
    void boolean(std::string_view f, bool& b) { b = r.boolean(f); }
    void currency(std::string_view f, std::string& s) { s = r.currency(f); }
    void idList(std::string_view f, std::vector<std::string>& ids, std::size_t max) { ids = r.idList(f, max); }
    template <typename E> void enumeration(std::string_view f, E& e)
    {
        const auto raw = static_cast<E>(r.unsignedField(f, 0, 0xff, 1));
        if (toString(raw).empty()) r.fail(f, "unknown value");
        e = raw;
    }
    template <typename T> void nested(std::string_view f, T& object)
    {
        const Bytes inner = r.bytes(f, 1, maxNestedSize);
        try {
            object = T::decode(inner);
        } catch (const Error& e) {
            r.fail(f, e.what());   // keeps Malformed; the inner message names the inner field
        }
    }
    void check(bool ok, std::string_view f, std::string_view why)
    {
        if (!ok) r.fail(f, why);
    }
};

// Readable fields for logs, UIs and humans; the canonical bytes travel beside them.
struct JsonVisitor {
    Poco::JSON::Object& o;

    template <typename T> void num(std::string_view f, const T& value, T, T)
    {
        if constexpr (std::is_signed_v<T>) o.set(std::string(f), static_cast<Poco::Int64>(value));
        else o.set(std::string(f), static_cast<Poco::UInt64>(value));
    }
    void time(std::string_view f, const UnixTime& t) { o.set(std::string(f), static_cast<Poco::Int64>(t)); }
    void amount(std::string_view f, const Amount& a) { o.set(std::string(f), static_cast<Poco::Int64>(a)); }
    void id(std::string_view f, const std::string& s, bool = false) { o.set(std::string(f), s); }
    void text(std::string_view f, const std::string& s, std::size_t) { o.set(std::string(f), s); }
    void bytes(std::string_view f, const Bytes& b, std::size_t, std::size_t) { o.set(std::string(f), toBase64Url(b)); }
    template <std::size_t N> void fixed(std::string_view f, const std::array<std::uint8_t, N>& a)
    {
        o.set(std::string(f), toBase64Url(a));
    }
    void boolean(std::string_view f, const bool& b) { o.set(std::string(f), b); }
    void currency(std::string_view f, const std::string& s) { o.set(std::string(f), s); }
    void idList(std::string_view f, const std::vector<std::string>& ids, std::size_t)
    {
        Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
        for (const auto& entry : ids) array->add(entry);
        o.set(std::string(f), array);
    }
    template <typename E> void enumeration(std::string_view f, const E& e) { o.set(std::string(f), std::string(toString(e))); }
    template <typename T> void nested(std::string_view f, const T& object) { o.set(std::string(f), object.toJson()); }
    void check(bool, std::string_view, std::string_view) {}
};

inline constexpr std::size_t minSignatureSize = 32;

template <typename T, typename Fields> Bytes signedBytes(const T& object, Fields fields)
{
    Writer w(toString(T::type));
    w.u8(static_cast<std::uint8_t>(T::type));
    w.u8(T::version);
    EncodeVisitor v{w};
    fields(v, object);
    v.id("signer.key_id", object.signer.keyId);
    v.enumeration("signer.algorithm", object.signer.algorithm);
    return w.take();
}

template <typename T, typename Fields> Bytes encode(const T& object, Fields fields)
{
    Writer w(toString(T::type));
    w.fixed(signedBytes(object, fields));
    if (object.signature.size() < minSignatureSize || object.signature.size() > maxSignatureSize)
        w.fail("signature", object.signature.empty() ? "missing (sign the object first)" : "bad length");
    w.u8(static_cast<std::uint8_t>(object.signature.size()));
    w.fixed(object.signature);
    return w.take();
}

template <typename T, typename Fields> T decode(ByteView encoded, Fields fields)
{
    const std::string name(toString(T::type));
    Reader r(name, encoded);
    const auto type = r.unsignedField("type", 0, 0xff, 1);
    if (type != static_cast<std::uint8_t>(T::type))
        throw Error(ErrorCode::Malformed, name + ": not a " + name + " (object type " + std::to_string(type) + ")");
    const auto version = r.unsignedField("version", 0, 0xff, 1);
    if (version != T::version)
        throw Error(ErrorCode::UnsupportedVersion, name + ": unsupported version " + std::to_string(version));
    T object;
    DecodeVisitor v{r};
    fields(v, object);
    v.id("signer.key_id", object.signer.keyId);
    v.enumeration("signer.algorithm", object.signer.algorithm);
    const auto size = r.unsignedField("signature", minSignatureSize, maxSignatureSize, 1);
    const ByteView signature = r.fixed("signature", size);
    object.signature.assign(signature.begin(), signature.end());
    r.finish();
    return object;
}

template <typename T, typename Fields> Poco::JSON::Object::Ptr toJson(const T& object, Fields fields)
{
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("type", std::string(toString(T::type)));
    json->set("version", static_cast<int>(T::version));
    JsonVisitor v{*json};
    fields(v, object);
    Poco::JSON::Object::Ptr signer = new Poco::JSON::Object;
    signer->set("key_id", object.signer.keyId);
    signer->set("algorithm", std::string(toString(object.signer.algorithm)));
    json->set("signer", signer);
    json->set("signature", toBase64Url(object.signature));
    json->set("encoded", toBase64Url(encode(object, fields)));
    return json;
}

// Only "encoded" is authoritative; the readable fields are ignored on input.
template <typename T> T fromJson(const Poco::JSON::Object& json)
{
    const std::string name(toString(T::type));
    const auto type = json.get("type");
    if (!type.isEmpty() && (!type.isString() || type.extract<std::string>() != name))
        throw Error(ErrorCode::Malformed, name + ".type: not '" + name + "'");
    const auto encoded = json.get("encoded");
    if (encoded.isEmpty() || !encoded.isString()) throw Error(ErrorCode::Malformed, name + ".encoded: missing");
    return T::decode(fromBase64Url(encoded.extract<std::string>(), name + ".encoded"));
}

} // namespace boxoffice::wire::detail

// Defines the common members declared by BOXOFFICE_WIRE_OBJECT from a field list.
#define BOXOFFICE_WIRE_OBJECT_IMPL(Name, fieldList)                                                         \
    ::boxoffice::Bytes Name::signedBytes() const { return detail::signedBytes(*this, fieldList); }         \
    ::boxoffice::Bytes Name::encode() const { return detail::encode(*this, fieldList); }                   \
    Name Name::decode(::boxoffice::ByteView encoded) { return detail::decode<Name>(encoded, fieldList); } \
    Poco::JSON::Object::Ptr Name::toJson() const { return detail::toJson(*this, fieldList); }             \
    Name Name::fromJson(const Poco::JSON::Object& json) { return detail::fromJson<Name>(json); }
