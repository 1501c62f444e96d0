#include <boxoffice/bluetooth/Handshake.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/base/Text.h>
#include <boxoffice/bluetooth/Codec.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/Random.h>

#include <cstdio>
#include <string_view>

namespace boxoffice::bluetooth {

namespace {

Bytes label(std::string_view text) { return Bytes(text.begin(), text.end()); }

FieldWriter header(HandshakeType type)
{
    FieldWriter w;
    w.u8(static_cast<std::uint8_t>(Kind::Handshake)).u8(kProtocolVersion).u8(static_cast<std::uint8_t>(type));
    return w;
}

// A reader positioned after the header of a handshake message of `type`.
FieldReader body(ByteView message, HandshakeType type, const char* what)
{
    if (handshakeTypeOf(message) != type)
        throw Error(ErrorCode::Malformed, std::string("expected ") + what + ", got handshake type " +
                                              std::to_string(static_cast<int>(handshakeTypeOf(message))));
    return FieldReader(message.subspan(3), what);
}

Bytes transcriptHash(std::string_view context, std::initializer_list<ByteView> parts)
{
    FieldWriter w;
    w.text(context);
    for (auto part : parts) w.bytes(part);
    const auto digest = crypto::sha256(w.data());
    return Bytes(digest.begin(), digest.end());
}

Bytes joined(std::string_view prefix, ByteView transcript)
{
    Bytes out = label(prefix);
    out.insert(out.end(), transcript.begin(), transcript.end());
    return out;
}

Bytes mac(ByteView key, std::string_view purpose, ByteView transcript)
{
    const auto tag = crypto::hmacSha256(key, joined(purpose, transcript));
    return Bytes(tag.begin(), tag.end());
}

void checkMac(ByteView key, std::string_view purpose, ByteView transcript, ByteView received, const char* what)
{
    if (!crypto::constantTimeEqual(mac(key, purpose, transcript), received))
        throw Error(ErrorCode::BadSignature, std::string(what) + ": MAC does not verify (no shared pairing key)");
}

SessionKeys splitKeys(const crypto::SecretBytes& material)
{
    return {crypto::SecretBytes(material.view().subspan(0, 32)), crypto::SecretBytes(material.view().subspan(32, 32))};
}

std::string codeFrom(const crypto::SecretBytes& shared, ByteView transcript)
{
    const auto bytes = crypto::hkdfSha256(shared, transcript, label("boxoffice-bt code v1"), 4);
    const std::uint32_t value = (std::uint32_t{bytes.data()[0]} << 24) | (std::uint32_t{bytes.data()[1]} << 16) |
                                (std::uint32_t{bytes.data()[2]} << 8) | bytes.data()[3];
    char text[8];
    std::snprintf(text, sizeof text, "%06u", value % 1000000u);
    return text;
}

Bytes commitmentOf(ByteView ephemeral, ByteView nonce)
{
    const auto digest = crypto::sha256({label("boxoffice-bt commit v1"), ephemeral, nonce});
    return Bytes(digest.begin(), digest.end());
}

crypto::SecretBytes concat(const crypto::SecretBytes& a, const crypto::SecretBytes& b)
{
    crypto::SecretBytes out(a.size() + b.size());
    std::copy(a.data(), a.data() + a.size(), out.data());
    std::copy(b.data(), b.data() + b.size(), out.data() + a.size());
    return out;
}

} // namespace

const char* toString(AlertCode code) noexcept
{
    switch (code) {
    case AlertCode::NotPaired: return "not paired";
    case AlertCode::PairingClosed: return "pairing window closed";
    case AlertCode::PairingRejected: return "pairing rejected";
    case AlertCode::PairingTimeout: return "pairing timed out";
    case AlertCode::BadProof: return "bad proof";
    case AlertCode::Malformed: return "malformed";
    case AlertCode::TooLarge: return "too large";
    case AlertCode::Busy: return "busy";
    case AlertCode::SessionReset: return "session reset";
    case AlertCode::Unsupported: return "unsupported";
    }
    return "unknown";
}

Kind kindOf(ByteView message)
{
    if (message.empty()) throw Error(ErrorCode::Malformed, "empty transport message");
    switch (message[0]) {
    case static_cast<std::uint8_t>(Kind::Handshake): return Kind::Handshake;
    case static_cast<std::uint8_t>(Kind::Record): return Kind::Record;
    case static_cast<std::uint8_t>(Kind::Alert): return Kind::Alert;
    default: throw Error(ErrorCode::UnsupportedVersion, "unknown message kind " + std::to_string(message[0]));
    }
}

HandshakeType handshakeTypeOf(ByteView message)
{
    if (kindOf(message) != Kind::Handshake || message.size() < 3)
        throw Error(ErrorCode::Malformed, "not a handshake message");
    if (message[1] != kProtocolVersion)
        throw Error(ErrorCode::UnsupportedVersion, "protocol version " + std::to_string(message[1]) + " (this is " +
                                                       std::to_string(kProtocolVersion) + ")");
    if (message[2] < 1 || message[2] > 8)
        throw Error(ErrorCode::Malformed, "unknown handshake type " + std::to_string(message[2]));
    return static_cast<HandshakeType>(message[2]);
}

Bytes Alert::encode() const
{
    FieldWriter w;
    w.u8(static_cast<std::uint8_t>(Kind::Alert)).u8(static_cast<std::uint8_t>(code)).text(utf8Prefix(reason, 200));
    return w.take();
}

Alert Alert::decode(ByteView message)
{
    if (kindOf(message) != Kind::Alert) throw Error(ErrorCode::Malformed, "not an alert");
    FieldReader in(message.subspan(1), "alert");
    Alert alert{static_cast<AlertCode>(in.u8()), ""};
    alert.reason = in.text(200);
    in.finish();
    return alert;
}

std::string phoneIdOf(const crypto::P256PublicKey& key)
{
    const auto digest = crypto::sha256(key.raw());
    return toHex(ByteView(digest).subspan(0, 8));
}

// ---- pairing, phone side ----

PhonePairing::PhonePairing(crypto::P256PrivateKey phoneKey, std::string phoneName)
    : key_(std::move(phoneKey)), name_(std::move(phoneName)), ephemeral_(crypto::X25519PrivateKey::generate()),
      nonce_(crypto::randomBytes(kNonceSize))
{
    name_ = std::string(utf8Prefix(name_, kMaxNameSize));  // never half a character
}

Bytes PhonePairing::request()
{
    auto w = header(HandshakeType::PairRequest);
    w.fixed(key_.publicKey().raw()).fixed(commitmentOf(ephemeral_.publicKey().raw(), nonce_)).text(name_);
    requestMessage_ = w.take();
    return requestMessage_;
}

Bytes PhonePairing::onResponse(ByteView message)
{
    if (requestMessage_.empty()) throw Error(ErrorCode::InvalidArgument, "pairing response before the request");
    auto in = body(message, HandshakeType::PairResponse, "PairResponse");
    const auto stbEphemeral = crypto::X25519PublicKey::fromRaw(in.fixed(crypto::x25519KeySize));
    in.fixed(kNonceSize);
    stbName_ = in.name(kMaxNameSize);
    in.finish();

    auto w = header(HandshakeType::PairReveal);
    w.fixed(ephemeral_.publicKey().raw()).fixed(nonce_);
    Bytes reveal = w.take();
    shared_ = ephemeral_.agree(stbEphemeral);
    transcript_ = transcriptHash("boxoffice-bt pairing v1", {requestMessage_, message, reveal});
    code_ = codeFrom(shared_, transcript_);
    return reveal;
}

Bytes PhonePairing::confirm()
{
    if (transcript_.empty()) throw Error(ErrorCode::InvalidArgument, "nothing to confirm yet");
    auto w = header(HandshakeType::PairConfirm);
    w.fixed(key_.sign(joined("boxoffice-bt pair-confirm v1", transcript_)));
    return w.take();
}

PairingResult PhonePairing::onDone(ByteView message)
{
    if (transcript_.empty()) throw Error(ErrorCode::InvalidArgument, "pairing done before the exchange");
    auto in = body(message, HandshakeType::PairDone, "PairDone");
    const Bytes received = in.fixed(32);
    in.finish();
    auto pairingKey = crypto::hkdfSha256(shared_, transcript_, label("boxoffice-bt pairing key v1"), 32);
    checkMac(pairingKey, "boxoffice-bt pair-done v1", transcript_, received, "PairDone");
    PairingResult result;
    result.phoneId = phoneIdOf(key_.publicKey());
    result.phoneName = name_;
    result.stbName = stbName_;
    result.phoneKey.assign(key_.publicKey().raw().begin(), key_.publicKey().raw().end());
    result.sessionKeys =
        splitKeys(crypto::hkdfSha256(shared_, transcript_, label("boxoffice-bt pairing session keys v1"), 64));
    result.pairingKey = std::move(pairingKey);
    return result;
}

// ---- pairing, STB side ----

StbPairing::StbPairing(std::string stbName)
    : name_(std::move(stbName)), ephemeral_(crypto::X25519PrivateKey::generate()),
      nonce_(crypto::randomBytes(kNonceSize))
{
    name_ = std::string(utf8Prefix(name_, kMaxNameSize));  // never half a character
}

Bytes StbPairing::onRequest(ByteView message)
{
    auto in = body(message, HandshakeType::PairRequest, "PairRequest");
    phoneKey_ = crypto::P256PublicKey::fromRaw(in.fixed(crypto::p256PublicKeySize));
    commitment_ = in.fixed(32);
    phoneName_ = in.name(kMaxNameSize);
    in.finish();
    phoneId_ = phoneIdOf(*phoneKey_);
    requestMessage_.assign(message.begin(), message.end());

    auto w = header(HandshakeType::PairResponse);
    w.fixed(ephemeral_.publicKey().raw()).fixed(nonce_).text(name_);
    responseMessage_ = w.take();
    return responseMessage_;
}

void StbPairing::onReveal(ByteView message)
{
    if (responseMessage_.empty()) throw Error(ErrorCode::InvalidArgument, "reveal before the request");
    auto in = body(message, HandshakeType::PairReveal, "PairReveal");
    const Bytes ephemeral = in.fixed(crypto::x25519KeySize);
    const Bytes nonce = in.fixed(kNonceSize);
    in.finish();
    if (!crypto::constantTimeEqual(commitmentOf(ephemeral, nonce), commitment_))
        throw Error(ErrorCode::BadSignature, "PairReveal does not match the phone's commitment");
    shared_ = ephemeral_.agree(crypto::X25519PublicKey::fromRaw(ephemeral));
    transcript_ = transcriptHash("boxoffice-bt pairing v1", {requestMessage_, responseMessage_, message});
    code_ = codeFrom(shared_, transcript_);
}

void StbPairing::onConfirm(ByteView message)
{
    if (transcript_.empty()) throw Error(ErrorCode::InvalidArgument, "confirmation before the reveal");
    auto in = body(message, HandshakeType::PairConfirm, "PairConfirm");
    const Bytes signature = in.fixed(crypto::p256SignatureSize);
    in.finish();
    if (!phoneKey_->verify(joined("boxoffice-bt pair-confirm v1", transcript_), signature))
        throw Error(ErrorCode::BadSignature, "PairConfirm: the phone's signature does not verify");
    phoneConfirmed_ = true;
}

std::pair<Bytes, PairingResult> StbPairing::finish()
{
    if (!phoneConfirmed_) throw Error(ErrorCode::InvalidArgument, "the phone has not confirmed the pairing");
    PairingResult result;
    result.phoneId = phoneId_;
    result.phoneName = phoneName_;
    result.stbName = name_;
    result.phoneKey.assign(phoneKey_->raw().begin(), phoneKey_->raw().end());
    result.pairingKey = crypto::hkdfSha256(shared_, transcript_, label("boxoffice-bt pairing key v1"), 32);
    result.sessionKeys =
        splitKeys(crypto::hkdfSha256(shared_, transcript_, label("boxoffice-bt pairing session keys v1"), 64));
    auto w = header(HandshakeType::PairDone);
    w.fixed(mac(result.pairingKey, "boxoffice-bt pair-done v1", transcript_));
    return {w.take(), std::move(result)};
}

// ---- session set-up ----

PhoneSessionHandshake::PhoneSessionHandshake(crypto::P256PrivateKey phoneKey, crypto::SecretBytes pairingKey)
    : key_(std::move(phoneKey)), pairingKey_(std::move(pairingKey)), ephemeral_(crypto::X25519PrivateKey::generate())
{
}

Bytes PhoneSessionHandshake::hello()
{
    auto w = header(HandshakeType::SessionHello);
    w.fixed(key_.publicKey().raw()).fixed(ephemeral_.publicKey().raw()).fixed(crypto::randomBytes(kNonceSize));
    helloMessage_ = w.take();
    return helloMessage_;
}

Bytes PhoneSessionHandshake::onAccept(ByteView message)
{
    if (helloMessage_.empty()) throw Error(ErrorCode::InvalidArgument, "session accept before the hello");
    auto in = body(message, HandshakeType::SessionAccept, "SessionAccept");
    const Bytes stbEphemeral = in.fixed(crypto::x25519KeySize);
    const Bytes stbNonce = in.fixed(kNonceSize);
    const Bytes stbMac = in.fixed(32);
    in.finish();
    const Bytes transcript = transcriptHash("boxoffice-bt session v1", {helloMessage_, stbEphemeral, stbNonce});
    checkMac(pairingKey_, "boxoffice-bt stb-accept v1", transcript, stbMac, "SessionAccept");
    const auto shared = ephemeral_.agree(crypto::X25519PublicKey::fromRaw(stbEphemeral));
    keys_ = splitKeys(
        crypto::hkdfSha256(concat(shared, pairingKey_), transcript, label("boxoffice-bt session keys v1"), 64));
    auto w = header(HandshakeType::SessionProof);
    w.fixed(key_.sign(joined("boxoffice-bt session v1", transcript)))
        .fixed(mac(pairingKey_, "boxoffice-bt phone-proof v1", transcript));
    return w.take();
}

crypto::P256PublicKey StbSessionHandshake::phoneKeyOf(ByteView hello)
{
    auto in = body(hello, HandshakeType::SessionHello, "SessionHello");
    return crypto::P256PublicKey::fromRaw(in.fixed(crypto::p256PublicKeySize));
}

StbSessionHandshake::StbSessionHandshake(crypto::P256PublicKey phoneKey, crypto::SecretBytes pairingKey)
    : phoneKey_(std::move(phoneKey)), pairingKey_(std::move(pairingKey)),
      ephemeral_(crypto::X25519PrivateKey::generate())
{
}

Bytes StbSessionHandshake::onHello(ByteView message)
{
    auto in = body(message, HandshakeType::SessionHello, "SessionHello");
    const auto phoneKey = crypto::P256PublicKey::fromRaw(in.fixed(crypto::p256PublicKeySize));
    if (!(phoneKey == phoneKey_)) throw Error(ErrorCode::InvalidArgument, "SessionHello names another phone");
    const Bytes phoneEphemeral = in.fixed(crypto::x25519KeySize);
    in.fixed(kNonceSize);
    in.finish();
    const Bytes nonce = crypto::randomBytes(kNonceSize);
    const Bytes ephemeral(ephemeral_.publicKey().raw().begin(), ephemeral_.publicKey().raw().end());
    transcript_ = transcriptHash("boxoffice-bt session v1", {message, ephemeral, nonce});
    shared_ = ephemeral_.agree(crypto::X25519PublicKey::fromRaw(phoneEphemeral));
    auto w = header(HandshakeType::SessionAccept);
    w.fixed(ephemeral).fixed(nonce).fixed(mac(pairingKey_, "boxoffice-bt stb-accept v1", transcript_));
    return w.take();
}

void StbSessionHandshake::onProof(ByteView message)
{
    if (transcript_.empty()) throw Error(ErrorCode::InvalidArgument, "session proof before the hello");
    auto in = body(message, HandshakeType::SessionProof, "SessionProof");
    const Bytes signature = in.fixed(crypto::p256SignatureSize);
    const Bytes phoneMac = in.fixed(32);
    in.finish();
    checkMac(pairingKey_, "boxoffice-bt phone-proof v1", transcript_, phoneMac, "SessionProof");
    if (!phoneKey_.verify(joined("boxoffice-bt session v1", transcript_), signature))
        throw Error(ErrorCode::BadSignature, "SessionProof: the phone's signature does not verify");
    keys_ = splitKeys(
        crypto::hkdfSha256(concat(shared_, pairingKey_), transcript_, label("boxoffice-bt session keys v1"), 64));
}

} // namespace boxoffice::bluetooth
