#pragma once
// The STB's side of the message protocol, one Link per connected phone:
// reassembly of RX writes, pairing (with the code confirmed on the TV),
// session set-up for trusted phones, AEAD records, dispatch of messages, and
// the PhoneChannel service for other plugins.
//
// Threads: fragments arrive on the D-Bus loop thread (onWrite), which only
// reassembles and queues; one worker thread runs handshakes, opens records,
// dispatches messages and enforces time limits. Sends come from any thread
// and are serialized per link so records leave in counter order.

#include "TrustedPhones.h"

#include <boxoffice/bluetooth/Framing.h>
#include <boxoffice/bluetooth/Handshake.h>
#include <boxoffice/bluetooth/PhoneChannel.h>
#include <boxoffice/bluetooth/SecureSession.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/Logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace boxoffice::plugins::bluetooth {

namespace bt = boxoffice::bluetooth;
using Clock = std::chrono::steady_clock;

class PhoneLinks : public bt::PhoneChannel {
public:
    struct Options {
        std::string stbName = "BoxOffice";
        std::chrono::milliseconds pairingTimeout{60000};      // the TV shows the code this long
        std::chrono::milliseconds linkConfirmTimeout{50000};  // below bluetoothd's 60 s
        std::chrono::milliseconds handshakeTimeout{10000};    // SessionHello to SessionProof
    };
    using Notify = std::function<void(ByteView fragment)>;
    using Emit = std::function<void(const std::string& event, const Poco::Dynamic::Var& params)>;

    PhoneLinks(Options options, std::shared_ptr<TrustedPhones> trusted, Notify notify, Emit emit, Poco::Logger& logger);
    ~PhoneLinks() override;

    void start();
    void stop();
    // Called whenever whether we should advertise may have changed.
    void onAdvertisingWanted(std::function<void(bool)> callback);
    // Called (worker thread) with the device path of a link whose phone completed
    // application pairing: the link layer may now trust it too.
    void onPhoneTrusted(std::function<void(const std::string& device)> callback);

    // From BluezPeripheral (D-Bus loop thread).
    void onWrite(const std::string& device, std::uint16_t mtu, ByteView fragment);
    Bytes info() const;
    void onDeviceGone(const std::string& device);
    void onLinksLost();
    void onConfirmLink(const std::string& device, std::uint32_t passkey, std::function<void(bool)> answer);
    void onLinkCanceled();

    // From JSON-RPC.
    void openPairing(std::chrono::milliseconds window);
    void closePairing();
    bool pairingOpen() const;
    void confirmLink(const std::string& device, bool accept);     // Error(NotFound)
    void confirmPairing(const std::string& phoneId, bool accept);  // Error(NotFound)
    void removePhone(const std::string& phoneId);                  // Error(NotFound)
    Poco::Dynamic::Var linksStatus() const;

    // PhoneChannel
    std::vector<bt::PhoneInfo> phones() const override;
    bt::Message request(const std::string& phoneId, bt::Message message, std::chrono::milliseconds timeout) override;
    std::uint32_t send(const std::string& phoneId, bt::Message message) override;
    std::uint64_t watchConnections(ConnectionHandler handler) override;
    std::uint64_t subscribe(bt::MessageType type, Handler handler) override;
    void unsubscribe(std::uint64_t token) override;

private:
    struct Link;
    struct PendingLinkConfirmation {
        std::uint32_t passkey;
        std::function<void(bool)> answer;
        Clock::time_point deadline;
    };

    void post(std::function<void()> task);
    void work();
    void checkDeadlines();
    void handle(const std::shared_ptr<Link>& link, const Bytes& message);
    void handleHandshake(const std::shared_ptr<Link>& link, const Bytes& message);
    void handleRecord(const std::shared_ptr<Link>& link, const Bytes& message);
    void dispatch(const std::shared_ptr<Link>& link, const bt::Message& message);
    void finishPairing(const std::shared_ptr<Link>& link);
    void sendRaw(const std::shared_ptr<Link>& link, ByteView message);
    void sendMessage(const std::shared_ptr<Link>& link, const bt::Message& message);
    void alert(const std::shared_ptr<Link>& link, bt::AlertCode code, const std::string& reason);
    void resetLink(Link& link);
    void dropLink(const std::string& device);
    // mutex_ held, `link` just got its session: the phone's other links (it came back on
    // this one without a disconnect) are dropped with the requests waiting on them, under
    // the lock that publishes the new session. True when one of them had a session.
    bool dropOtherLinksLocked(const std::shared_ptr<Link>& link);
    std::shared_ptr<Link> sessionFor(const std::string& phoneId) const;
    std::shared_ptr<Link> sessionForLocked(const std::string& phoneId) const;   // mutex_ held
    void failPending(const std::string& phoneId);
    void failPendingLocked(const std::string& phoneId);   // mutex_ held
    void updateAdvertising();
    void connectionChanged(const std::string& phoneId, const std::string& name, bool connected);

    Options options_;
    std::shared_ptr<TrustedPhones> trusted_;  // shared: other plugins may outlive our deinitialize
    Notify notify_;
    Emit emit_;
    Poco::Logger& logger_;
    std::function<void(bool)> advertisingWanted_;
    std::function<void(const std::string&)> phoneTrusted_;

    mutable std::mutex mutex_;  // links, pairing state, pending requests, handlers
    std::map<std::string, std::shared_ptr<Link>> links_;  // by device path
    std::map<std::string, PendingLinkConfirmation> linkConfirmations_;
    Clock::time_point pairingOpenUntil_{};
    // Application pairings started in the current window. A phone learns the code
    // before it reveals, so an attempt it abandons unseen is one guess: bounded.
    unsigned pairingAttempts_ = 0;
    static constexpr unsigned kMaxPairingAttempts = 5;
    std::map<std::pair<std::string, std::uint32_t>, std::shared_ptr<std::promise<bt::Message>>> pending_;
    std::map<bt::MessageType, std::pair<std::uint64_t, Handler>> handlers_;
    std::map<std::uint64_t, ConnectionHandler> watchers_;
    std::uint64_t nextToken_ = 1;
    std::atomic<std::uint32_t> nextId_{1};

    std::mutex queueMutex_;
    std::condition_variable queueReady_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::thread worker_;
};

} // namespace boxoffice::plugins::bluetooth
