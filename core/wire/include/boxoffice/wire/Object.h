#pragma once
// What every wire object has in common. Each object struct declares, besides its
// fields and the signer/signature pair:
//   static constexpr ObjectType type; static constexpr std::uint8_t version;
//   Bytes signedBytes() const;   // canonical bytes the signature covers (all but the signature)
//   Bytes encode() const;        // signedBytes() + signature; Error(InvalidArgument) naming
//                                // the field if a value is out of range or unsigned
//   static T decode(ByteView);   // strict; Error(Malformed|UnsupportedVersion) naming the field
//   Poco::JSON::Object::Ptr toJson() const;        // readable fields + "encoded" (base64url)
//   static T fromJson(const Poco::JSON::Object&);  // decodes "encoded" only
// Signing and verification live in core/trust (boxoffice/trust/Signing.h).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/wire/Types.h>

#include <Poco/JSON/Object.h>

#include <concepts>

namespace boxoffice::wire {

template <typename T>
concept WireObject = requires(const T& object, ByteView bytes, const Poco::JSON::Object& json) {
    { T::type } -> std::convertible_to<ObjectType>;
    { object.signer } -> std::convertible_to<Signer>;
    { object.signature } -> std::convertible_to<Bytes>;
    { object.signedBytes() } -> std::same_as<Bytes>;
    { object.encode() } -> std::same_as<Bytes>;
    { T::decode(bytes) } -> std::same_as<T>;
    { object.toJson() } -> std::same_as<Poco::JSON::Object::Ptr>;
    { T::fromJson(json) } -> std::same_as<T>;
};

} // namespace boxoffice::wire

// Declares the common members inside an object struct.
#define BOXOFFICE_WIRE_OBJECT(Name, Type, Version)                          \
    static constexpr ::boxoffice::wire::ObjectType type = Type;             \
    static constexpr std::uint8_t version = Version;                        \
    ::boxoffice::wire::Signer signer;                                       \
    ::boxoffice::Bytes signature;                                           \
    ::boxoffice::Bytes signedBytes() const;                                 \
    ::boxoffice::Bytes encode() const;                                      \
    static Name decode(::boxoffice::ByteView encoded);                      \
    Poco::JSON::Object::Ptr toJson() const;                                 \
    static Name fromJson(const Poco::JSON::Object& json);                   \
    friend bool operator==(const Name&, const Name&) = default
