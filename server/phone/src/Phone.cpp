#include <boxoffice/phone/Phone.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/bluetooth/Framing.h>
#include <boxoffice/bluetooth/Protocol.h>
#include <boxoffice/bluetooth/SecureSession.h>
#include <boxoffice/crypto/ConstantTime.h>
#include <boxoffice/crypto/Random.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace boxoffice::phone {

namespace bt = boxoffice::bluetooth;

namespace {

enum class State { Idle, Pairing, SessionHandshake, AwaitReady, Ready, Failed };

ErrorCode codeFor(bt::AlertCode code)
{
    switch (code) {
    case bt::AlertCode::NotPaired:
    case bt::AlertCode::PairingClosed:
    case bt::AlertCode::PairingRejected: return ErrorCode::PermissionDenied;
    case bt::AlertCode::BadProof: return ErrorCode::BadSignature;
    case bt::AlertCode::TooLarge: return ErrorCode::LimitExceeded;
    case bt::AlertCode::Malformed: return ErrorCode::Malformed;
    case bt::AlertCode::Unsupported: return ErrorCode::UnsupportedVersion;
    default: return ErrorCode::Unavailable;
    }
}

std::uint8_t randomChannel()
{
    std::uint8_t c = 0;
    while (c == 0) c = crypto::randomBytes(1)[0];
    return c;
}

} // namespace

struct Phone::Impl {
    crypto::P256PrivateKey key;
    std::string name;
    std::string id;
    std::map<std::string, crypto::SecretBytes> pairings;  // by STB name

    mutable std::mutex mutex;
    std::condition_variable changed;
    std::shared_ptr<Link> link;
    std::uint64_t generation = 0;
    std::uint8_t channel = 0;
    bt::Reassembler reassembler{bt::kMaxTransportMessage};
    State state = State::Idle;
    std::optional<Error> failure;
    std::unique_ptr<bt::PhonePairing> pairing;
    std::function<bool(const std::string&)> confirm;
    std::unique_ptr<bt::PhoneSessionHandshake> handshake;
    std::shared_ptr<bt::SecureSession> session;
    std::string stbName;
    std::optional<bt::Alert> lastAlert;
    std::map<std::uint32_t, std::shared_ptr<std::promise<bt::Message>>> pending;
    Handler handler;
    std::atomic<std::uint32_t> nextId{1};

    std::recursive_mutex sendMutex;

    std::mutex queueMutex;
    std::condition_variable queueReady;
    std::deque<std::pair<std::uint64_t, Bytes>> queue;
    bool stopping = false;
    std::thread worker;

    Impl(crypto::P256PrivateKey k, std::string n) : key(std::move(k)), name(std::move(n)), id(bt::phoneIdOf(key.publicKey())) {}

    void fail(const Error& error)
    {
        std::lock_guard lock(mutex);
        failure = error;
        state = State::Failed;
        session.reset();
        pairing.reset();
        handshake.reset();
        for (auto& [i, p] : pending) p->set_exception(std::make_exception_ptr(error));
        pending.clear();
        changed.notify_all();
    }

    void onFragment(std::uint64_t gen, ByteView fragment)
    {
        std::optional<Bytes> message;
        {
            std::lock_guard lock(mutex);
            if (gen != generation) return;
            const auto c = bt::fragmentChannel(fragment);
            if (!c || *c != channel) return;  // another phone's notification
            try {
                message = reassembler.push(fragment);
            } catch (const Error&) {
                return;  // a broken message: the request it carried times out
            }
        }
        if (!message) return;
        {
            std::lock_guard lock(queueMutex);
            queue.emplace_back(gen, std::move(*message));
        }
        queueReady.notify_one();
    }

    // Sends one transport message; a taken channel byte makes us pick another.
    void transmit(ByteView message)
    {
        std::lock_guard lock(sendMutex);
        std::shared_ptr<Link> l;
        std::uint8_t c;
        {
            std::lock_guard stateLock(mutex);
            l = link;
            c = channel;
        }
        if (!l) throw Error(ErrorCode::Unavailable, "no link to an STB");
        for (int attempt = 0;; ++attempt) {
            const auto fragments = bt::fragment(message, c, l->mtu());
            try {
                for (const auto& f : fragments) l->write(f);
                return;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::Conflict || attempt >= 8) throw;
                std::lock_guard stateLock(mutex);
                channel = c = randomChannel();
                reassembler.reset();
            }
        }
    }

    void sendRecord(const bt::Message& message)
    {
        std::shared_ptr<bt::SecureSession> s;
        {
            std::lock_guard lock(mutex);
            s = session;
        }
        if (!s) throw Error(ErrorCode::Unavailable, "no session with an STB");
        const Bytes envelope = message.encode();
        std::lock_guard lock(sendMutex);
        transmit(s->seal(envelope));
    }

    void work()
    {
        for (;;) {
            std::pair<std::uint64_t, Bytes> item;
            {
                std::unique_lock lock(queueMutex);
                queueReady.wait(lock, [this] { return stopping || !queue.empty(); });
                if (stopping) return;
                item = std::move(queue.front());
                queue.pop_front();
            }
            {
                std::lock_guard lock(mutex);
                if (item.first != generation) continue;
            }
            try {
                handle(item.second);
            } catch (const Error& e) {
                fail(e);
            } catch (const std::exception& e) {
                fail(Error(ErrorCode::Internal, e.what()));
            }
        }
    }

    void handle(const Bytes& message)
    {
        switch (bt::kindOf(message)) {
        case bt::Kind::Alert: {
            const auto alert = bt::Alert::decode(message);
            {
                std::lock_guard lock(mutex);
                lastAlert = alert;
            }
            fail(Error(codeFor(alert.code), std::string("STB refused: ") + bt::toString(alert.code) + " (" + alert.reason + ")"));
            return;
        }
        case bt::Kind::Handshake: return handleHandshake(message);
        case bt::Kind::Record: return handleRecord(message);
        }
    }

    void handleHandshake(const Bytes& message)
    {
        switch (bt::handshakeTypeOf(message)) {
        case bt::HandshakeType::PairResponse: {
            Bytes reveal;
            std::function<bool(const std::string&)> ask;
            std::string code;
            {
                std::lock_guard lock(mutex);
                if (state != State::Pairing || !pairing) return;
                reveal = pairing->onResponse(message);
                code = pairing->code();
                ask = confirm;
            }
            transmit(reveal);
            const bool accepted = ask && ask(code);
            if (!accepted) {
                transmit(bt::Alert{bt::AlertCode::PairingRejected, "declined on the phone"}.encode());
                return fail(Error(ErrorCode::PermissionDenied, "pairing declined on the phone"));
            }
            Bytes confirmation;
            {
                std::lock_guard lock(mutex);
                if (!pairing) return;
                confirmation = pairing->confirm();
            }
            return transmit(confirmation);
        }
        case bt::HandshakeType::PairDone: {
            std::lock_guard lock(mutex);
            if (state != State::Pairing || !pairing) return;
            auto result = pairing->onDone(message);
            pairings[result.stbName] = result.pairingKey;
            stbName = result.stbName;
            session = std::make_shared<bt::SecureSession>(bt::Role::Phone, result.sessionKeys);
            pairing.reset();
            state = State::AwaitReady;
            return;
        }
        case bt::HandshakeType::SessionAccept: {
            Bytes proof;
            {
                std::lock_guard lock(mutex);
                if (state != State::SessionHandshake || !handshake) return;
                proof = handshake->onAccept(message);
                // Before the proof leaves: the STB's first record follows it at once.
                session = std::make_shared<bt::SecureSession>(bt::Role::Phone, handshake->keys());
                handshake.reset();
                state = State::AwaitReady;
            }
            return transmit(proof);
        }
        default: throw Error(ErrorCode::Malformed, "handshake message of the phone's role");
        }
    }

    void handleRecord(const Bytes& record)
    {
        std::shared_ptr<bt::SecureSession> s;
        {
            std::lock_guard lock(mutex);
            s = session;
        }
        if (!s) return;
        bt::Message message;
        try {
            message = bt::Message::decode(s->open(record).view());
        } catch (const Error&) {
            return;  // forged, replayed or unknown: dropped
        }
        Handler h;
        {
            std::lock_guard lock(mutex);
            if (message.type == bt::MessageType::SessionReady) {
                if (state == State::AwaitReady) state = State::Ready;
                changed.notify_all();
                return;
            }
            if (message.replyTo != 0) {
                if (auto it = pending.find(message.replyTo); it != pending.end()) {
                    it->second->set_value(message);
                    pending.erase(it);
                }
                return;
            }
            h = handler;
        }
        std::optional<bt::Message> reply;
        if (message.type == bt::MessageType::Ping) {
            reply = bt::Message{bt::MessageType::Pong, 0, 0, message.body};
        } else if (h) {
            try {
                reply = h(message);
            } catch (const Error& e) {
                reply = bt::Message{bt::MessageType::Result, 0, 0,
                                    bt::ResultBody{false, std::string(toString(e.code())), e.what(), {}}.encode()};
            } catch (const std::exception& e) {
                reply = bt::Message{bt::MessageType::Result, 0, 0, bt::ResultBody{false, std::string(toString(ErrorCode::Internal)), e.what(), {}}.encode()};
            }
        } else {
            reply = bt::Message{bt::MessageType::Result, 0, 0,
                                bt::ResultBody{false, std::string(toString(ErrorCode::NotFound)), "the phone does not handle this message", {}}.encode()};
        }
        if (!reply) return;
        reply->id = nextId++;
        reply->replyTo = message.id;
        sendRecord(*reply);
    }

    // Waits for Ready or Failed; returns nothing or throws the failure.
    void awaitReady(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout, const char* what)
    {
        if (!changed.wait_for(lock, timeout, [this] { return state == State::Ready || state == State::Failed; })) {
            state = State::Idle;
            pairing.reset();
            handshake.reset();
            session.reset();
            throw Error(ErrorCode::Unavailable, std::string(what) + " timed out");
        }
        if (state == State::Failed) throw *failure;
    }
};

Phone::Phone(crypto::P256PrivateKey key, std::string name) : impl_(std::make_unique<Impl>(std::move(key), std::move(name)))
{
    impl_->worker = std::thread([this] { impl_->work(); });
}

Phone::~Phone()
{
    {
        std::lock_guard lock(impl_->queueMutex);
        impl_->stopping = true;
    }
    impl_->queueReady.notify_all();
    impl_->worker.join();
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(impl_->mutex);
        ++impl_->generation;
        link = std::move(impl_->link);
    }
    if (link) {
        link->onNotification(nullptr);
        link->onDisconnect(nullptr);
    }
}

const std::string& Phone::id() const { return impl_->id; }
const crypto::P256PublicKey& Phone::publicKey() const { return impl_->key.publicKey(); }

std::vector<std::string> Phone::pairedStbs() const
{
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> out;
    for (const auto& [name, key] : impl_->pairings) out.push_back(name);
    return out;
}

bool Phone::pairedWith(const std::string& stbName) const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->pairings.count(stbName) > 0;
}

void Phone::forget(const std::string& stbName)
{
    std::lock_guard lock(impl_->mutex);
    impl_->pairings.erase(stbName);
}

void Phone::attach(std::shared_ptr<Link> link)
{
    std::uint64_t gen;
    {
        std::lock_guard lock(impl_->mutex);
        gen = ++impl_->generation;
        impl_->link = link;
        impl_->channel = randomChannel();
        impl_->reassembler.reset();
        impl_->state = State::Idle;
        impl_->session.reset();
        impl_->pairing.reset();
        impl_->handshake.reset();
        impl_->failure.reset();
    }
    Impl* impl = impl_.get();
    link->onNotification([impl, gen](ByteView f) { impl->onFragment(gen, f); });
    link->onDisconnect([impl, gen] {
        {
            std::lock_guard lock(impl->mutex);
            if (gen != impl->generation) return;
        }
        impl->fail(Error(ErrorCode::Unavailable, "the Bluetooth link went down"));
    });
    link->subscribe();
}

std::string Phone::pair(const std::function<bool(const std::string& code)>& confirm, std::chrono::milliseconds timeout)
{
    Bytes request;
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->link) throw Error(ErrorCode::Unavailable, "no link to an STB");
        impl_->state = State::Pairing;
        impl_->failure.reset();
        impl_->session.reset();
        impl_->confirm = confirm;
        impl_->pairing = std::make_unique<bt::PhonePairing>(impl_->key, impl_->name);
        request = impl_->pairing->request();
    }
    impl_->transmit(request);
    std::unique_lock lock(impl_->mutex);
    impl_->awaitReady(lock, timeout, "pairing");
    impl_->confirm = nullptr;
    return impl_->stbName;
}

void Phone::openSession(const std::string& stbName, std::chrono::milliseconds timeout)
{
    Bytes hello;
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->link) throw Error(ErrorCode::Unavailable, "no link to an STB");
        auto it = impl_->pairings.find(stbName);
        if (it == impl_->pairings.end()) throw Error(ErrorCode::NotFound, "this phone is not paired with " + stbName);
        impl_->state = State::SessionHandshake;
        impl_->failure.reset();
        impl_->session.reset();
        impl_->stbName = stbName;
        impl_->handshake = std::make_unique<bt::PhoneSessionHandshake>(impl_->key, it->second);
        hello = impl_->handshake->hello();
    }
    impl_->transmit(hello);
    std::unique_lock lock(impl_->mutex);
    impl_->awaitReady(lock, timeout, "session set-up");
}

bool Phone::hasSession() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->state == State::Ready && impl_->session;
}

bt::Message Phone::request(bt::Message message, std::chrono::milliseconds timeout)
{
    message.id = impl_->nextId++;
    auto promise = std::make_shared<std::promise<bt::Message>>();
    auto future = promise->get_future();
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->state != State::Ready) throw Error(ErrorCode::Unavailable, "no session with an STB");
        impl_->pending[message.id] = promise;
    }
    try {
        impl_->sendRecord(message);
    } catch (...) {
        std::lock_guard lock(impl_->mutex);
        impl_->pending.erase(message.id);
        throw;
    }
    if (future.wait_for(timeout) != std::future_status::ready) {
        std::lock_guard lock(impl_->mutex);
        impl_->pending.erase(message.id);
        throw Error(ErrorCode::Unavailable, std::string("no reply to ") + bt::toString(message.type) + " within " +
                                                std::to_string(timeout.count()) + " ms");
    }
    return future.get();
}

std::uint32_t Phone::send(bt::Message message)
{
    message.id = impl_->nextId++;
    impl_->sendRecord(message);
    return message.id;
}

void Phone::onMessage(Handler handler)
{
    std::lock_guard lock(impl_->mutex);
    impl_->handler = std::move(handler);
}

void Phone::sendTransport(ByteView message) { impl_->transmit(message); }

Bytes Phone::sealForTest(const bt::Message& message)
{
    std::shared_ptr<bt::SecureSession> s;
    {
        std::lock_guard lock(impl_->mutex);
        s = impl_->session;
    }
    if (!s) throw Error(ErrorCode::Unavailable, "no session");
    return s->seal(message.encode());
}

std::optional<bt::Alert> Phone::lastAlert() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->lastAlert;
}

std::uint8_t Phone::channel() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->channel;
}

// ---- persistence ----

std::unique_ptr<Phone> Phone::open(const std::filesystem::path& file, const std::string& name)
{
    if (!std::filesystem::exists(file)) return std::make_unique<Phone>(crypto::P256PrivateKey::generate(), name);
    try {
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        Poco::JSON::Parser parser;
        auto root = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
        auto phone = std::make_unique<Phone>(crypto::P256PrivateKey::fromPem(root->getValue<std::string>("key")),
                                             root->getValue<std::string>("name"));
        auto pairings = root->getObject("pairings");
        for (const auto& stb : pairings->getNames()) {
            auto key = fromHex(pairings->getValue<std::string>(stb), "pairing key");
            phone->impl_->pairings[stb] = crypto::SecretBytes(key);
            crypto::wipe(key);
        }
        return phone;
    } catch (const std::exception& e) {
        throw Error(ErrorCode::Storage, "phone state " + file.string() + " is unreadable: " + e.what());
    }
}

void Phone::save(const std::filesystem::path& file) const
{
    Poco::JSON::Object root;
    root.set("name", impl_->name);
    root.set("key", impl_->key.toPem());
    Poco::JSON::Object::Ptr pairings = new Poco::JSON::Object;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& [stb, key] : impl_->pairings) pairings->set(stb, toHex(key.view()));
    }
    root.set("pairings", pairings);
    std::ostringstream text;
    root.stringify(text, 2);
    const std::string data = text.str();
    const auto temporary = file.string() + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(ErrorCode::Storage, "cannot write " + temporary + ": " + std::strerror(errno));
    const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(temporary.c_str(), file.c_str()) != 0) {
        ::unlink(temporary.c_str());
        throw Error(ErrorCode::Storage, "cannot save the phone state to " + file.string());
    }
}

} // namespace boxoffice::phone
