#pragma once
// Application-level pairing and session set-up, on top of the (phone-wide)
// Bluetooth bond. Both run as plaintext Kind::Handshake messages:
//
//   handshake := Kind::Handshake(1) version(1) type(1) fields
//
// Pairing (first contact, only while the TV's pairing window is open): a
// commit-then-reveal exchange of ephemeral X25519 keys, so that neither side
// can pick its key after seeing the other's; both derive a 6-digit code from
// the shared secret and the transcript. The TV shows it, the phone shows it, and
// both users confirm. A man in the middle gets two different codes unless he
// wins a 1 in 10^6 guess per attempt. The phone signs the transcript with its
// P-256 key; the STB proves knowledge of the derived pairing key with a MAC.
//
//   phone -> STB  PairRequest  {phone P-256 key, SHA-256 commitment to (eP, nP), name}
//   STB -> phone  PairResponse {eS, nS, STB name}
//   phone -> STB  PairReveal   {eP, nP}                 both now show the code
//   phone -> STB  PairConfirm  {ECDSA(phone key, "pair-confirm" || T)}  after the phone user confirmed
//   STB -> phone  PairDone     {HMAC(pairing key, "pair-done" || T)}    after the TV user confirmed
//
// Session (every connection of a trusted phone): fresh ephemeral keys,
// authenticated by the stored pairing key (both sides) and the phone's
// signature; the session keys mix the ephemeral secret and the pairing key.
//
//   phone -> STB  SessionHello  {phone P-256 key, eP, nP}
//   STB -> phone  SessionAccept {eS, nS, HMAC(pairing key, "stb-accept" || T)}
//   phone -> STB  SessionProof  {ECDSA(phone key, "session" || T), HMAC(pairing key, "phone-proof" || T)}
//
// Exact derivations: see PROTOCOL.md and Handshake.cpp.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/bluetooth/Protocol.h>
#include <boxoffice/bluetooth/SecureSession.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/crypto/X25519.h>

#include <optional>
#include <string>

namespace boxoffice::bluetooth {

enum class HandshakeType : std::uint8_t {
    PairRequest = 1,
    PairResponse = 2,
    PairReveal = 3,
    PairConfirm = 4,
    PairDone = 5,
    SessionHello = 6,
    SessionAccept = 7,
    SessionProof = 8,
};

inline constexpr std::size_t kMaxNameSize = 64;
inline constexpr std::size_t kNonceSize = 16;

// The kind of a transport message; Error(Malformed) for an empty one,
// Error(UnsupportedVersion) for an unknown kind.
Kind kindOf(ByteView message);
// The type of a handshake message; Error(Malformed/UnsupportedVersion).
HandshakeType handshakeTypeOf(ByteView message);

struct Alert {
    AlertCode code;
    std::string reason;

    Bytes encode() const;
    static Alert decode(ByteView message);
};

// A short stable id for a phone: hex of the first 8 bytes of SHA-256(P-256 key).
std::string phoneIdOf(const crypto::P256PublicKey& key);

// What a completed pairing leaves behind.
struct PairingResult {
    std::string phoneId;
    std::string phoneName;
    std::string stbName;
    Bytes phoneKey;                  // 65-byte SEC1 P-256 key
    crypto::SecretBytes pairingKey;  // 32 bytes, stored by both sides
    SessionKeys sessionKeys;         // for the rest of this connection
};

class PhonePairing {
public:
    PhonePairing(crypto::P256PrivateKey phoneKey, std::string phoneName);
    Bytes request();                         // PairRequest
    Bytes onResponse(ByteView message);      // PairResponse -> PairReveal; code() is ready
    const std::string& code() const { return code_; }
    Bytes confirm();                         // PairConfirm, once the user accepted code()
    PairingResult onDone(ByteView message);  // PairDone; Error(BadSignature) for a wrong MAC

private:
    crypto::P256PrivateKey key_;
    std::string name_;
    crypto::X25519PrivateKey ephemeral_;
    Bytes nonce_;
    Bytes requestMessage_;
    Bytes transcript_;
    crypto::SecretBytes shared_;
    std::string stbName_;
    std::string code_;
};

class StbPairing {
public:
    explicit StbPairing(std::string stbName);
    Bytes onRequest(ByteView message);       // PairRequest -> PairResponse
    void onReveal(ByteView message);         // checks the commitment; code() is ready
    const std::string& code() const { return code_; }
    const std::string& phoneName() const { return phoneName_; }
    const std::string& phoneId() const { return phoneId_; }
    void onConfirm(ByteView message);        // checks the phone's signature
    bool phoneConfirmed() const { return phoneConfirmed_; }
    // PairDone and the result; only after onConfirm.
    std::pair<Bytes, PairingResult> finish();

private:
    std::string name_;
    crypto::X25519PrivateKey ephemeral_;
    Bytes nonce_;
    std::optional<crypto::P256PublicKey> phoneKey_;
    std::string phoneName_;
    std::string phoneId_;
    Bytes commitment_;
    Bytes requestMessage_;
    Bytes responseMessage_;
    Bytes transcript_;
    crypto::SecretBytes shared_;
    std::string code_;
    bool phoneConfirmed_ = false;
};

class PhoneSessionHandshake {
public:
    PhoneSessionHandshake(crypto::P256PrivateKey phoneKey, crypto::SecretBytes pairingKey);
    Bytes hello();
    // SessionAccept -> SessionProof; Error(BadSignature) when the STB does not
    // hold the pairing key. keys() is ready afterwards.
    Bytes onAccept(ByteView message);
    const SessionKeys& keys() const { return keys_; }

private:
    crypto::P256PrivateKey key_;
    crypto::SecretBytes pairingKey_;
    crypto::X25519PrivateKey ephemeral_;
    Bytes helloMessage_;
    SessionKeys keys_;
};

class StbSessionHandshake {
public:
    // The phone key a SessionHello names, to look up its pairing key.
    static crypto::P256PublicKey phoneKeyOf(ByteView hello);

    StbSessionHandshake(crypto::P256PublicKey phoneKey, crypto::SecretBytes pairingKey);
    Bytes onHello(ByteView message);   // SessionHello -> SessionAccept
    // Checks the proof; Error(BadSignature) when signature or MAC fail. keys() ready afterwards.
    void onProof(ByteView message);
    const SessionKeys& keys() const { return keys_; }

private:
    crypto::P256PublicKey phoneKey_;
    crypto::SecretBytes pairingKey_;
    crypto::X25519PrivateKey ephemeral_;
    Bytes transcript_;
    crypto::SecretBytes shared_;
    SessionKeys keys_;
};

} // namespace boxoffice::bluetooth
