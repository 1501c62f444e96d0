#pragma once
// The reference phone: the central's side of the STB protocol over a Link.
// It holds the phone's P-256 key (the key it registers with the server) and
// one pairing key per STB, pairs (showing the code the TV shows), opens
// sessions, and exchanges messages.
//
//   auto link = std::make_shared<FakeRadioLink>(...);
//   link->pairLink(passkey);                      // the OS pairing dialog
//   Phone phone(P256PrivateKey::generate(), "Alice");
//   phone.attach(link);
//   auto stb = phone.pair([](const std::string& code) { return askUser(code); });
//   auto pong = phone.request({MessageType::Ping, 0, 0, bytes}, 5s);
//
// Threads: the link's thread only reassembles; a worker thread of the phone
// runs the handshakes, opens records and calls the message handler. Calls
// from the handler back into request() would wait for themselves: reply by
// returning a message instead.

#include <boxoffice/bluetooth/Handshake.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/phone/Link.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace boxoffice::phone {

class Phone {
public:
    using Handler = std::function<std::optional<bluetooth::Message>(const bluetooth::Message&)>;

    Phone(crypto::P256PrivateKey key, std::string name);
    ~Phone();
    Phone(const Phone&) = delete;
    Phone& operator=(const Phone&) = delete;

    // The phone's key, name and STB pairings in a JSON file (mode 0600): loads
    // it, or creates a new key when the file does not exist.
    static std::unique_ptr<Phone> open(const std::filesystem::path& file, const std::string& name);
    void save(const std::filesystem::path& file) const;

    const std::string& id() const;
    const crypto::P256PublicKey& publicKey() const;
    std::vector<std::string> pairedStbs() const;
    bool pairedWith(const std::string& stbName) const;
    void forget(const std::string& stbName);

    // Uses `link` from now on (a new connection): any session ends. Picks a
    // fresh channel byte and subscribes to notifications.
    void attach(std::shared_ptr<Link> link);

    // Application pairing; `confirm` shows the code and returns the user's
    // answer. Returns the STB's name. Error(PermissionDenied) when the TV or
    // the user declined or pairing is closed, Error(Unavailable) on a timeout,
    // Error(BadSignature) when a proof fails.
    std::string pair(const std::function<bool(const std::string& code)>& confirm,
                     std::chrono::milliseconds timeout = std::chrono::seconds(90));
    // A session with an STB paired before. Errors as pair(); Error(NotFound)
    // when this phone holds no pairing with `stbName`.
    void openSession(const std::string& stbName, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    bool hasSession() const;

    // Sends and waits for the reply (a message naming it in replyTo).
    bluetooth::Message request(bluetooth::Message message, std::chrono::milliseconds timeout);
    std::uint32_t send(bluetooth::Message message);
    // Unsolicited messages from the STB; the returned message is sent as the reply.
    void onMessage(Handler handler);

    // Test hooks: transport messages as they go on the air, and the last alert.
    void sendTransport(ByteView message);
    Bytes sealForTest(const bluetooth::Message& message);
    std::optional<bluetooth::Alert> lastAlert() const;
    std::uint8_t channel() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace boxoffice::phone
