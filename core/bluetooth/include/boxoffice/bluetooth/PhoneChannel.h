#pragma once
// The service the bluetooth plugin publishes so other plugins (ppv, billing,
// sync) can talk to paired phones without knowing about BlueZ:
//
//   auto phones = context.services().require<bluetooth::PhoneChannel>();
//   auto reply = phones->request(phoneId, {MessageType::SettlementRequest, 0, 0, body.encode()}, 30s);
//   auto id = phones->subscribe(MessageType::NotMe, [](const std::string& phone, const Message& m) { ... });
//
// Handlers run on the channel's worker thread: keep them short, never block on
// a request to the same phone from inside one.

#include <boxoffice/bluetooth/Messages.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::bluetooth {

struct PhoneInfo {
    std::string id;         // phoneIdOf(its P-256 key)
    std::string name;
    Bytes publicKey;        // 65-byte SEC1 P-256 key, as registered with the server
    bool connected = false; // a session is up right now
};

class PhoneChannel {
public:
    static constexpr const char* kServiceId = "boxoffice.bluetooth.PhoneChannel/1";

    // Returns a reply for the phone (its replyTo is filled in), or nothing.
    using Handler = std::function<std::optional<Message>(const std::string& phoneId, const Message& message)>;

    virtual ~PhoneChannel() = default;

    // Trusted phones, connected or not.
    virtual std::vector<PhoneInfo> phones() const = 0;

    // Sends and waits for the message that names it in replyTo. Error(Unavailable)
    // when the phone has no session or the reply does not come within `timeout`,
    // Error(LimitExceeded) for a body above kMaxBodySize. The id is assigned here.
    virtual Message request(const std::string& phoneId, Message message, std::chrono::milliseconds timeout) = 0;

    // Sends without waiting; returns the id assigned. Same errors as request().
    virtual std::uint32_t send(const std::string& phoneId, Message message) = 0;

    // Called when a paired phone's session starts (true) or ends (false), e.g.
    // to hand the history to a phone as soon as it is around. Returns a token
    // for unsubscribe().
    using ConnectionHandler = std::function<void(const std::string& phoneId, bool connected)>;
    virtual std::uint64_t watchConnections(ConnectionHandler handler) = 0;

    // Receives unsolicited messages of `type` from any phone. One handler per
    // type; Error(AlreadyExists) otherwise. Returns a token for unsubscribe(),
    // which also ends a watchConnections(). A handler already running when
    // unsubscribe() returns may still finish: keep what it uses alive that long.
    virtual std::uint64_t subscribe(MessageType type, Handler handler) = 0;
    virtual void unsubscribe(std::uint64_t token) = 0;
};

} // namespace boxoffice::bluetooth
