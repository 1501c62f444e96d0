#include "PhoneLinks.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/bluetooth/Info.h>
#include <boxoffice/bluetooth/Protocol.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdio>

namespace boxoffice::plugins::bluetooth {

namespace {

constexpr unsigned kMaxBadRecords = 3;  // in a row, then the session is reset

Poco::JSON::Object::Ptr object() { return new Poco::JSON::Object; }

std::string sixDigits(std::uint32_t passkey)
{
    char text[12];
    std::snprintf(text, sizeof text, "%06u", passkey % 1000000u);
    return text;
}

long long secondsOf(std::chrono::milliseconds d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

} // namespace

struct PhoneLinks::Link {
    std::string device;
    std::uint8_t channel = 0;
    std::atomic<std::uint16_t> mtu{static_cast<std::uint16_t>(bt::kMinMtu)};
    bt::Reassembler reassembler{bt::kMaxTransportMessage};  // D-Bus loop thread only

    // Guarded by PhoneLinks::mutex_.
    std::unique_ptr<bt::StbPairing> pairing;
    bool codeShown = false;
    bool tvConfirmed = false;
    Clock::time_point pairingDeadline{};
    std::unique_ptr<bt::StbSessionHandshake> handshake;
    Clock::time_point handshakeDeadline{};
    std::shared_ptr<bt::SecureSession> session;
    std::string phoneId;
    std::string phoneName;

    std::mutex sendMutex;  // one message on the air at a time, records in counter order
};

PhoneLinks::PhoneLinks(Options options, std::shared_ptr<TrustedPhones> trusted, Notify notify, Emit emit,
                       Poco::Logger& logger)
    : options_(std::move(options)), trusted_(std::move(trusted)), notify_(std::move(notify)), emit_(std::move(emit)), logger_(logger)
{
}

PhoneLinks::~PhoneLinks()
{
    stop();
}

void PhoneLinks::start()
{
    std::lock_guard lock(queueMutex_);
    if (worker_.joinable()) return;
    stopping_ = false;
    worker_ = std::thread([this] { work(); });
}

void PhoneLinks::stop()
{
    {
        std::lock_guard lock(queueMutex_);
        stopping_ = true;
    }
    queueReady_.notify_all();
    if (worker_.joinable()) worker_.join();
    std::map<std::string, PendingLinkConfirmation> confirmations;
    {
        std::lock_guard lock(mutex_);
        confirmations.swap(linkConfirmations_);
        for (auto& [key, promise] : pending_)
            promise->set_exception(std::make_exception_ptr(Error(ErrorCode::Unavailable, "bluetooth is stopping")));
        pending_.clear();
        links_.clear();
    }
    for (auto& [device, c] : confirmations) c.answer(false);
}

void PhoneLinks::onAdvertisingWanted(std::function<void(bool)> callback)
{
    advertisingWanted_ = std::move(callback);
    updateAdvertising();
}

void PhoneLinks::onPhoneTrusted(std::function<void(const std::string&)> callback)
{
    phoneTrusted_ = std::move(callback);
}

void PhoneLinks::updateAdvertising()
{
    if (advertisingWanted_) advertisingWanted_(pairingOpen() || !trusted_->empty());
}

void PhoneLinks::post(std::function<void()> task)
{
    {
        std::lock_guard lock(queueMutex_);
        queue_.push_back(std::move(task));
    }
    queueReady_.notify_one();
}

void PhoneLinks::work()
{
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(queueMutex_);
            queueReady_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            if (!queue_.empty()) {
                task = std::move(queue_.front());
                queue_.pop_front();
            }
        }
        try {
            if (task) task();
            checkDeadlines();
        } catch (const std::exception& e) {
            logger_.error("bluetooth worker: %s", std::string(e.what()));
        } catch (...) {
            logger_.error("bluetooth worker: unknown exception");
        }
    }
}

void PhoneLinks::checkDeadlines()
{
    const auto now = Clock::now();
    std::vector<std::pair<std::string, PendingLinkConfirmation>> expired;
    std::vector<std::shared_ptr<Link>> timedOut, handshakesTimedOut;
    bool windowClosed = false;
    {
        std::lock_guard lock(mutex_);
        for (auto it = linkConfirmations_.begin(); it != linkConfirmations_.end();) {
            if (it->second.deadline <= now) {
                expired.emplace_back(it->first, std::move(it->second));
                it = linkConfirmations_.erase(it);
            } else {
                ++it;
            }
        }
        if (pairingOpenUntil_ != Clock::time_point{} && pairingOpenUntil_ <= now) {
            pairingOpenUntil_ = {};
            windowClosed = true;
        }
        // Every attempt has a deadline from its request (a phone that never reveals
        // would otherwise hold the only pairing slot); one whose code is not on the
        // TV yet also ends with the window.
        for (auto& [device, link] : links_)
            if (link->pairing && (link->pairingDeadline <= now ||
                                  (!link->codeShown && pairingOpenUntil_ == Clock::time_point{})))
                timedOut.push_back(link);
        // A session set-up is one round trip: one left waiting would accept its
        // proof whenever it came.
        for (auto& [device, link] : links_)
            if (link->handshake && link->handshakeDeadline <= now) {
                resetLink(*link);
                handshakesTimedOut.push_back(link);
            }
    }
    for (auto& link : handshakesTimedOut)
        alert(link, bt::AlertCode::SessionReset, "session set-up not completed in time");
    for (auto& [device, c] : expired) {
        c.answer(false);
        auto p = object();
        p->set("stage", "link");
        p->set("device", device);
        p->set("ok", false);
        p->set("reason", "timeout");
        emit_("bluetooth.1.pairingResult", p);
    }
    for (auto& link : timedOut) {
        std::string phoneId;
        bool shown = false;
        {
            std::lock_guard lock(mutex_);
            phoneId = link->pairing ? link->pairing->phoneId() : "";
            shown = link->codeShown;
        }
        if (!shown) {
            alert(link, bt::AlertCode::PairingTimeout, "pairing not completed in time");
            continue;  // the TV never showed this attempt
        }
        alert(link, bt::AlertCode::PairingTimeout, "nobody confirmed the code on the TV in time");
        auto p = object();
        p->set("stage", "app");
        p->set("phoneId", phoneId);
        p->set("ok", false);
        p->set("reason", "timeout");
        emit_("bluetooth.1.pairingResult", p);
    }
    if (windowClosed) {
        logger_.information("pairing window closed");
        updateAdvertising();
    }
}

// ---- from D-Bus ----

void PhoneLinks::onWrite(const std::string& device, std::uint16_t mtu, ByteView fragment)
{
    const auto channel = bt::fragmentChannel(fragment);
    if (!channel || *channel == 0) throw Error(ErrorCode::Malformed, "fragment without a channel");
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [other, l] : links_)
            if (other != device && l->channel == *channel)
                throw Error(ErrorCode::Conflict, "channel " + std::to_string(*channel) + " is in use: pick another");
        auto& slot = links_[device];
        if (slot && slot->channel != *channel) {
            // A new channel means a new connection of this phone: start from scratch.
            logger_.information("link %s restarted on channel %d", device, int(*channel));
            slot.reset();
        }
        if (!slot) {
            slot = std::make_shared<Link>();
            slot->device = device;
            slot->channel = *channel;
        }
        link = slot;
    }
    link->mtu = std::max<std::uint16_t>(mtu, static_cast<std::uint16_t>(bt::kMinMtu));
    auto message = link->reassembler.push(fragment);  // throws: the ATT write fails, the link lives on
    if (message) post([this, link, m = std::move(*message)] { handle(link, m); });
}

Bytes PhoneLinks::info() const
{
    return bt::PeripheralInfo::current(pairingOpen(), options_.stbName).encode();
}

void PhoneLinks::onDeviceGone(const std::string& device)
{
    post([this, device] { dropLink(device); });
}

void PhoneLinks::onLinksLost()
{
    post([this] {
        std::vector<std::string> devices;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [device, link] : links_) devices.push_back(device);
        }
        for (const auto& d : devices) dropLink(d);
    });
}

void PhoneLinks::dropLink(const std::string& device)
{
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(mutex_);
        auto it = links_.find(device);
        if (it == links_.end()) return;
        link = it->second;
        links_.erase(it);
    }
    std::string phoneId;
    {
        std::lock_guard lock(mutex_);
        phoneId = link->session ? link->phoneId : "";
    }
    if (!phoneId.empty()) {
        failPending(phoneId);
        connectionChanged(phoneId, "", false);
    }
}

void PhoneLinks::onConfirmLink(const std::string& device, std::uint32_t passkey, std::function<void(bool)> answer)
{
    if (!pairingOpen()) {
        logger_.warning("link pairing request from %s while the pairing window is closed: refused", device);
        answer(false);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (auto old = linkConfirmations_.find(device); old != linkConfirmations_.end()) old->second.answer(false);
        linkConfirmations_[device] = {passkey, std::move(answer), Clock::now() + options_.linkConfirmTimeout};
    }
    auto p = object();
    p->set("device", device);
    p->set("passkey", sixDigits(passkey));
    p->set("timeoutSeconds", secondsOf(options_.linkConfirmTimeout));
    emit_("bluetooth.1.linkConfirmation", p);
}

void PhoneLinks::onLinkCanceled()
{
    std::map<std::string, PendingLinkConfirmation> canceled;
    {
        std::lock_guard lock(mutex_);
        canceled.swap(linkConfirmations_);
    }
    for (auto& [device, c] : canceled) {
        c.answer(false);
        auto p = object();
        p->set("stage", "link");
        p->set("device", device);
        p->set("ok", false);
        p->set("reason", "canceled");
        emit_("bluetooth.1.pairingResult", p);
    }
}

// ---- from JSON-RPC ----

void PhoneLinks::openPairing(std::chrono::milliseconds window)
{
    {
        std::lock_guard lock(mutex_);
        pairingOpenUntil_ = Clock::now() + window;
        pairingAttempts_ = 0;
    }
    logger_.information("pairing window open for " + std::to_string(secondsOf(window)) + " s");
    updateAdvertising();
}

void PhoneLinks::closePairing()
{
    {
        std::lock_guard lock(mutex_);
        pairingOpenUntil_ = {};
    }
    updateAdvertising();
}

bool PhoneLinks::pairingOpen() const
{
    std::lock_guard lock(mutex_);
    return pairingOpenUntil_ != Clock::time_point{} && pairingOpenUntil_ > Clock::now();
}

void PhoneLinks::confirmLink(const std::string& device, bool accept)
{
    PendingLinkConfirmation c;
    {
        std::lock_guard lock(mutex_);
        auto it = linkConfirmations_.find(device);
        if (it == linkConfirmations_.end())
            throw Error(ErrorCode::NotFound, "no link pairing waits for confirmation on " + device);
        c = std::move(it->second);
        linkConfirmations_.erase(it);
    }
    c.answer(accept);
    auto p = object();
    p->set("stage", "link");
    p->set("device", device);
    p->set("ok", accept);
    p->set("reason", accept ? "confirmed" : "rejected");
    emit_("bluetooth.1.pairingResult", p);
}

void PhoneLinks::confirmPairing(const std::string& phoneId, bool accept)
{
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [device, l] : links_)
            if (l->pairing && l->codeShown && l->pairing->phoneId() == phoneId) link = l;
        if (!link) throw Error(ErrorCode::NotFound, "no pairing with phone " + phoneId + " waits for confirmation");
    }
    post([this, link, accept, phoneId] {
        bool ready = false;
        {
            std::lock_guard lock(mutex_);
            if (!link->pairing || link->pairing->phoneId() != phoneId) return;
            if (accept) {
                link->tvConfirmed = true;
                ready = link->pairing->phoneConfirmed();
            }
        }
        if (!accept) {
            alert(link, bt::AlertCode::PairingRejected, "the viewer declined the pairing on the TV");
            auto p = object();
            p->set("stage", "app");
            p->set("phoneId", phoneId);
            p->set("ok", false);
            p->set("reason", "rejected");
            emit_("bluetooth.1.pairingResult", p);
            return;
        }
        if (ready) finishPairing(link);
    });
}

void PhoneLinks::removePhone(const std::string& phoneId)
{
    if (!trusted_->remove(phoneId)) throw Error(ErrorCode::NotFound, "no trusted phone " + phoneId);
    logger_.information("phone %s removed", phoneId);
    if (auto link = sessionFor(phoneId)) {
        alert(link, bt::AlertCode::NotPaired, "this phone was removed on the TV");
        failPending(phoneId);
    }
    updateAdvertising();
}

Poco::Dynamic::Var PhoneLinks::linksStatus() const
{
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    std::lock_guard lock(mutex_);
    for (const auto& [device, link] : links_) {
        auto o = object();
        o->set("device", device);
        o->set("channel", int(link->channel));
        o->set("mtu", int(link->mtu.load()));
        o->set("phoneId", link->session ? link->phoneId : "");
        o->set("state", link->session ? "session" : link->pairing ? "pairing" : link->handshake ? "handshake" : "idle");
        list->add(o);
    }
    return list;
}

// ---- worker: messages ----

void PhoneLinks::handle(const std::shared_ptr<Link>& link, const Bytes& message)
{
    {
        std::lock_guard lock(mutex_);
        auto it = links_.find(link->device);
        if (it == links_.end() || it->second != link) return;  // dropped meanwhile
    }
    try {
        switch (bt::kindOf(message)) {
        case bt::Kind::Handshake: handleHandshake(link, message); break;
        case bt::Kind::Record: handleRecord(link, message); break;
        case bt::Kind::Alert: {
            const auto a = bt::Alert::decode(message);
            logger_.information("phone on %s aborted: %s (%s)", link->device, std::string(bt::toString(a.code)), a.reason);
            std::lock_guard lock(mutex_);
            resetLink(*link);
            break;
        }
        }
    } catch (const Error& e) {
        logger_.warning("message from %s refused: %s", link->device, std::string(e.what()));
        alert(link, e.code() == ErrorCode::UnsupportedVersion ? bt::AlertCode::Unsupported : bt::AlertCode::Malformed,
              e.what());
    }
}

void PhoneLinks::handleHandshake(const std::shared_ptr<Link>& link, const Bytes& message)
{
    using T = bt::HandshakeType;
    const auto type = bt::handshakeTypeOf(message);
    switch (type) {
    case T::PairRequest: {
        if (!pairingOpen()) return alert(link, bt::AlertCode::PairingClosed, "pairing is not open on the TV");
        Bytes response;
        bool busy = false, tooMany = false;
        {
            // Never send while holding mutex_: D-Bus handlers run under sdbus-c++'s
            // bus lock and take mutex_, a send needs the bus lock.
            std::lock_guard lock(mutex_);
            for (const auto& [device, other] : links_)
                if (other != link && other->pairing) busy = true;
            tooMany = !busy && pairingAttempts_ >= kMaxPairingAttempts;
            if (tooMany) {
                pairingOpenUntil_ = {};  // the viewer opens a new window on the TV
            } else if (!busy) {
                ++pairingAttempts_;
                resetLink(*link);
                link->pairing = std::make_unique<bt::StbPairing>(options_.stbName);
                link->pairingDeadline = Clock::now() + options_.pairingTimeout;
                response = link->pairing->onRequest(message);
            }
        }
        if (busy) return sendRaw(link, bt::Alert{bt::AlertCode::Busy, "another phone is pairing"}.encode());
        if (tooMany) {
            logger_.warning("pairing window closed after %u attempts (last from %s)", kMaxPairingAttempts,
                            link->device);
            auto p = object();
            p->set("stage", "app");
            p->set("ok", false);
            p->set("reason", "too-many-attempts");
            emit_("bluetooth.1.pairingResult", p);
            updateAdvertising();
            return alert(link, bt::AlertCode::PairingClosed, "too many pairing attempts: open pairing again on the TV");
        }
        return sendRaw(link, response);
    }
    case T::PairReveal: {
        std::string code, phoneId, name;
        // No code goes on the TV once the window has closed.
        if (!pairingOpen()) return alert(link, bt::AlertCode::PairingClosed, "pairing is not open on the TV");
        {
            std::unique_lock lock(mutex_);
            if (!link->pairing || link->codeShown) {
                // Stale (the attempt was already refused or reset): answering would
                // only start a ping-pong of alerts.
                logger_.debug("stray PairReveal from %s ignored", link->device);
                return;
            }
            try {
                link->pairing->onReveal(message);
            } catch (const Error& e) {
                resetLink(*link);
                throw;
            }
            link->codeShown = true;
            link->pairingDeadline = Clock::now() + options_.pairingTimeout;
            code = link->pairing->code();
            phoneId = link->pairing->phoneId();
            name = link->pairing->phoneName();
        }
        auto p = object();
        p->set("phoneId", phoneId);
        p->set("phoneName", name);
        p->set("code", code);
        p->set("timeoutSeconds", secondsOf(options_.pairingTimeout));
        emit_("bluetooth.1.pairingCode", p);
        return;
    }
    case T::PairConfirm: {
        bool ready = false;
        std::string failure;
        {
            std::unique_lock lock(mutex_);
            if (!link->pairing || !link->codeShown) {
                // Stale (the attempt was already refused or reset): answering would
                // only start a ping-pong of alerts.
                logger_.debug("stray PairConfirm from %s ignored", link->device);
                return;
            }
            try {
                link->pairing->onConfirm(message);
                ready = link->tvConfirmed;
            } catch (const Error& e) {
                failure = e.what();
            }
        }
        if (!failure.empty()) return alert(link, bt::AlertCode::BadProof, failure);
        if (ready) finishPairing(link);
        return;
    }
    case T::SessionHello: {
        const auto key = bt::StbSessionHandshake::phoneKeyOf(message);
        const auto phone = trusted_->find(bt::phoneIdOf(key));
        if (!phone) return alert(link, bt::AlertCode::NotPaired, "this phone is not paired with this TV");
        Bytes accept;
        {
            std::lock_guard lock(mutex_);
            resetLink(*link);
            link->handshake = std::make_unique<bt::StbSessionHandshake>(key, phone->pairingKey);
            link->handshakeDeadline = Clock::now() + options_.handshakeTimeout;
            accept = link->handshake->onHello(message);
            link->phoneId = phone->id;
            link->phoneName = phone->name;
        }
        return sendRaw(link, accept);
    }
    case T::SessionProof: {
        std::string failure, phoneId;
        bool replaced = false;   // an older link of this phone had a session
        {
            std::unique_lock lock(mutex_);
            if (!link->handshake) {
                // Stale (the attempt was already refused or reset): answering would
                // only start a ping-pong of alerts.
                logger_.debug("stray SessionProof from %s ignored", link->device);
                return;
            }
            try {
                link->handshake->onProof(message);
            } catch (const Error& e) {
                failure = e.what();
            }
            // Checked again under the lock that publishes the session: a phone removed
            // on the TV after its SessionHello must not get one (removePhone() removes
            // first, then looks for the phone's session).
            if (failure.empty() && !trusted_->find(link->phoneId)) {
                resetLink(*link);
                lock.unlock();
                return alert(link, bt::AlertCode::NotPaired, "this phone was removed on the TV");
            }
            if (failure.empty()) {
                link->session = std::make_shared<bt::SecureSession>(bt::Role::Stb, link->handshake->keys());
                link->handshake.reset();
                phoneId = link->phoneId;
                replaced = dropOtherLinksLocked(link);
            }
        }
        if (!failure.empty()) return alert(link, bt::AlertCode::BadProof, failure);
        // Watchers see the old session end before the new one starts, as after a disconnect
        // (and before anything is sent, which may fail).
        if (replaced) connectionChanged(phoneId, "", false);
        sendMessage(link, {bt::MessageType::SessionReady, nextId_++, 0, {}});
        logger_.information("phone %s connected on %s", phoneId, link->device);
        connectionChanged(phoneId, link->phoneName, true);
        return;
    }
    default:
        return alert(link, bt::AlertCode::Malformed, "handshake message of the STB's role");
    }
}

void PhoneLinks::finishPairing(const std::shared_ptr<Link>& link)
{
    Bytes done;
    bt::PairingResult result;
    {
        std::lock_guard lock(mutex_);
        if (!link->pairing) return;
        auto finished = link->pairing->finish();
        done = std::move(finished.first);
        result = std::move(finished.second);
    }
    TrustedPhone phone{result.phoneId, result.phoneName, result.phoneKey, result.pairingKey,
                       std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count()};
    try {
        trusted_->add(std::move(phone));
    } catch (const Error& e) {
        logger_.error("cannot store the paired phone: %s", std::string(e.what()));
        return alert(link, bt::AlertCode::PairingRejected, "the TV could not store the pairing");
    }
    bool replaced = false;   // the phone, paired again on this link, had a session on another
    {
        std::lock_guard lock(mutex_);
        resetLink(*link);
        link->session = std::make_shared<bt::SecureSession>(bt::Role::Stb, result.sessionKeys);
        link->phoneId = result.phoneId;
        link->phoneName = result.phoneName;
        pairingOpenUntil_ = {};  // one phone per pairing window
        replaced = dropOtherLinksLocked(link);
    }
    if (replaced) connectionChanged(result.phoneId, "", false);
    sendRaw(link, done);
    sendMessage(link, {bt::MessageType::SessionReady, nextId_++, 0, {}});
    logger_.information("phone %s (%s) paired", result.phoneId, result.phoneName);
    // Only now: a link-layer bond alone is phone-wide, not the app's (research: Trusted after app pairing).
    if (phoneTrusted_) phoneTrusted_(link->device);
    auto p = object();
    p->set("stage", "app");
    p->set("phoneId", result.phoneId);
    p->set("phoneName", result.phoneName);
    p->set("ok", true);
    p->set("reason", "paired");
    emit_("bluetooth.1.pairingResult", p);
    connectionChanged(result.phoneId, result.phoneName, true);
    updateAdvertising();
}

void PhoneLinks::handleRecord(const std::shared_ptr<Link>& link, const Bytes& record)
{
    std::shared_ptr<bt::SecureSession> session;
    {
        std::lock_guard lock(mutex_);
        session = link->session;
    }
    if (!session) return alert(link, bt::AlertCode::NotPaired, "no session: pair or open a session first");
    crypto::SecretBytes plaintext;
    try {
        plaintext = session->open(record);
    } catch (const Error& e) {
        logger_.warning("record from %s dropped: %s", link->device, std::string(e.what()));
        if (session->consecutiveFailures() >= kMaxBadRecords)
            alert(link, bt::AlertCode::SessionReset, "too many bad records");
        return;
    }
    bt::Message message;
    try {
        message = bt::Message::decode(plaintext.view());
    } catch (const Error& e) {
        logger_.warning("message from %s dropped: %s", link->device, std::string(e.what()));
        return;
    }
    dispatch(link, message);
}

void PhoneLinks::dispatch(const std::shared_ptr<Link>& link, const bt::Message& message)
{
    std::string phoneId;
    Handler handler;
    {
        std::lock_guard lock(mutex_);
        phoneId = link->phoneId;
        if (message.replyTo != 0) {
            auto it = pending_.find({phoneId, message.replyTo});
            if (it == pending_.end()) {
                logger_.debug("late or unknown reply %?d from %s", message.replyTo, phoneId);
                return;
            }
            it->second->set_value(message);
            pending_.erase(it);
            return;
        }
        if (auto it = handlers_.find(message.type); it != handlers_.end()) handler = it->second.second;
    }
    bt::Message reply;
    if (message.type == bt::MessageType::Ping) {
        reply = {bt::MessageType::Pong, 0, 0, message.body};
    } else if (!handler) {
        reply = {bt::MessageType::Result, 0, 0,
                 bt::ResultBody{false, std::string(toString(ErrorCode::NotFound)), std::string("nothing on this STB handles ") + bt::toString(message.type), {}}
                     .encode()};
    } else {
        try {
            auto answer = handler(phoneId, message);
            if (!answer) return;
            reply = std::move(*answer);
        } catch (const Error& e) {
            reply = {bt::MessageType::Result, 0, 0,
                     bt::ResultBody{false, std::string(toString(e.code())), e.what(), {}}.encode()};
        } catch (const std::exception& e) {
            logger_.error("handler for %s failed: %s", std::string(bt::toString(message.type)), std::string(e.what()));
            reply = {bt::MessageType::Result, 0, 0, bt::ResultBody{false, std::string(toString(ErrorCode::Internal)), "internal error", {}}.encode()};
        }
    }
    reply.id = nextId_++;
    reply.replyTo = message.id;
    try {
        sendMessage(link, reply);
    } catch (const Error& e) {
        logger_.warning("reply to %s not sent: %s", phoneId, std::string(e.what()));
    }
}

// ---- sending ----

void PhoneLinks::sendRaw(const std::shared_ptr<Link>& link, ByteView message)
{
    std::lock_guard lock(link->sendMutex);
    for (const auto& f : bt::fragment(message, link->channel, link->mtu)) notify_(f);
}

void PhoneLinks::sendMessage(const std::shared_ptr<Link>& link, const bt::Message& message)
{
    std::shared_ptr<bt::SecureSession> session;
    {
        std::lock_guard lock(mutex_);
        session = link->session;
    }
    if (!session) throw Error(ErrorCode::Unavailable, "no session on " + link->device);
    const Bytes envelope = message.encode();
    std::lock_guard lock(link->sendMutex);
    const Bytes record = session->seal(envelope);
    for (const auto& f : bt::fragment(record, link->channel, link->mtu)) notify_(f);
}

void PhoneLinks::alert(const std::shared_ptr<Link>& link, bt::AlertCode code, const std::string& reason)
{
    logger_.information("alert to %s: %s (%s)", link->device, std::string(bt::toString(code)), reason);
    {
        std::lock_guard lock(mutex_);
        resetLink(*link);
    }
    try {
        sendRaw(link, bt::Alert{code, reason}.encode());
    } catch (const Error& e) {
        logger_.warning("alert to %s not sent: %s", link->device, std::string(e.what()));
    }
}

void PhoneLinks::resetLink(Link& link)
{
    link.pairing.reset();
    link.codeShown = false;
    link.tvConfirmed = false;
    link.handshake.reset();
    link.session.reset();
    link.phoneId.clear();
    link.phoneName.clear();
}

std::shared_ptr<PhoneLinks::Link> PhoneLinks::sessionFor(const std::string& phoneId) const
{
    std::lock_guard lock(mutex_);
    return sessionForLocked(phoneId);
}

std::shared_ptr<PhoneLinks::Link> PhoneLinks::sessionForLocked(const std::string& phoneId) const
{
    for (const auto& [device, link] : links_)
        if (link->session && link->phoneId == phoneId) return link;
    return nullptr;
}

bool PhoneLinks::dropOtherLinksLocked(const std::shared_ptr<Link>& link)
{
    bool hadSession = false;
    for (auto it = links_.begin(); it != links_.end();) {
        if (it->second != link && it->second->phoneId == link->phoneId) {
            hadSession = hadSession || it->second->session != nullptr;
            resetLink(*it->second);   // a send() that found it just before cannot use its session
            it = links_.erase(it);
        } else {
            ++it;
        }
    }
    if (hadSession) failPendingLocked(link->phoneId);
    return hadSession;
}

void PhoneLinks::failPending(const std::string& phoneId)
{
    std::lock_guard lock(mutex_);
    failPendingLocked(phoneId);
}

void PhoneLinks::failPendingLocked(const std::string& phoneId)
{
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->first.first == phoneId) {
            it->second->set_exception(
                std::make_exception_ptr(Error(ErrorCode::Unavailable, "phone " + phoneId + " disconnected")));
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
}

// ---- PhoneChannel ----

std::vector<bt::PhoneInfo> PhoneLinks::phones() const
{
    std::vector<bt::PhoneInfo> out;
    for (const auto& p : trusted_->list()) out.push_back({p.id, p.name, p.publicKey, sessionFor(p.id) != nullptr});
    return out;
}

std::uint32_t PhoneLinks::send(const std::string& phoneId, bt::Message message)
{
    auto link = sessionFor(phoneId);
    if (!link) throw Error(ErrorCode::Unavailable, "phone " + phoneId + " is not connected");
    message.id = nextId_++;
    if (message.id == 0) message.id = nextId_++;
    sendMessage(link, message);
    return message.id;
}

bt::Message PhoneLinks::request(const std::string& phoneId, bt::Message message, std::chrono::milliseconds timeout)
{
    message.id = nextId_++;
    if (message.id == 0) message.id = nextId_++;
    auto promise = std::make_shared<std::promise<bt::Message>>();
    auto future = promise->get_future();
    std::shared_ptr<Link> link;
    {
        // Found and registered under one lock: a link dropped after this (disconnected, or
        // the phone came back on another) fails the request at once instead of leaving it
        // to its timeout.
        std::lock_guard lock(mutex_);
        link = sessionForLocked(phoneId);
        if (!link) throw Error(ErrorCode::Unavailable, "phone " + phoneId + " is not connected");
        pending_[{phoneId, message.id}] = promise;
    }
    try {
        sendMessage(link, message);
    } catch (...) {
        std::lock_guard lock(mutex_);
        pending_.erase({phoneId, message.id});
        throw;
    }
    if (future.wait_for(timeout) != std::future_status::ready) {
        std::lock_guard lock(mutex_);
        pending_.erase({phoneId, message.id});
        throw Error(ErrorCode::Unavailable, "phone " + phoneId + " did not answer " + bt::toString(message.type) +
                                                " within " + std::to_string(timeout.count()) + " ms");
    }
    return future.get();
}

void PhoneLinks::connectionChanged(const std::string& phoneId, const std::string& name, bool connected)
{
    auto p = object();
    p->set("phoneId", phoneId);
    if (connected) p->set("name", name);
    emit_(connected ? "bluetooth.1.phoneConnected" : "bluetooth.1.phoneDisconnected", p);
    if (!connected) logger_.information("phone %s disconnected", phoneId);
    std::vector<ConnectionHandler> watchers;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [token, w] : watchers_) watchers.push_back(w);
    }
    for (const auto& w : watchers) {
        try {
            w(phoneId, connected);
        } catch (const std::exception& e) {
            logger_.error("connection watcher failed: %s", std::string(e.what()));
        }
    }
}

std::uint64_t PhoneLinks::watchConnections(ConnectionHandler handler)
{
    std::lock_guard lock(mutex_);
    const auto token = nextToken_++;
    watchers_[token] = std::move(handler);
    return token;
}

std::uint64_t PhoneLinks::subscribe(bt::MessageType type, Handler handler)
{
    std::lock_guard lock(mutex_);
    if (handlers_.count(type))
        throw Error(ErrorCode::AlreadyExists, std::string("a handler for ") + bt::toString(type) + " exists");
    const auto token = nextToken_++;
    handlers_[type] = {token, std::move(handler)};
    return token;
}

void PhoneLinks::unsubscribe(std::uint64_t token)
{
    std::lock_guard lock(mutex_);
    std::erase_if(handlers_, [&](const auto& entry) { return entry.second.first == token; });
    watchers_.erase(token);
}

} // namespace boxoffice::plugins::bluetooth
