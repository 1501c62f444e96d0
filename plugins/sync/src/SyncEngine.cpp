#include "SyncEngine.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/Revocation.h>
#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/RevocationList.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>

#include <chrono>
#include <ctime>
#include <sstream>

namespace boxoffice::plugins::sync {

using boxoffice::sync::LinkResponse;
using Poco::JSON::Object;

namespace {

Object::Ptr objectOf(const Poco::Dynamic::Var& body)
{
    if (body.type() != typeid(Object::Ptr)) return nullptr;
    return body.extract<Object::Ptr>();
}

std::string fieldText(const Object::Ptr& o, const std::string& name)
{
    if (!o || !o->has(name) || !o->get(name).isString()) return {};
    return o->getValue<std::string>(name);
}

} // namespace

SyncEngine::SyncEngine(std::shared_ptr<HttpsLink> link, std::shared_ptr<billing::History> history,
                       std::shared_ptr<Outbox> outbox, std::shared_ptr<trust::TrustedClock> clock,
                       std::shared_ptr<ServerTrustState> trust, EngineOptions options, Poco::Logger& logger)
    : link_(std::move(link)), history_(std::move(history)), outbox_(std::move(outbox)), clock_(std::move(clock)),
      trust_(std::move(trust)), options_(std::move(options)), logger_(logger), deviceId_(history_->status().deviceId),
      random_(std::random_device{}())
{
    loadKeptServerCertificate();
    loadKeptRevocations();
}

// The certificate the server presented before this run, if any: held as it is (checked at
// each use), ahead of the configured one.
void SyncEngine::loadKeptServerCertificate()
{
    std::optional<wire::Certificate> kept;
    if (!options_.serverCertificateFile.empty() && std::filesystem::exists(options_.serverCertificateFile)) {
        try {
            kept = trust::loadCertificate(options_.serverCertificateFile);
            serverCertificateKept_ = kept->encode();
        } catch (const std::exception& e) {
            logger_.warning("sync: ignoring the kept server certificate: %s", std::string(e.what()));
        }
    }
    trust_->setServers({std::move(kept), options_.serverCertificate});
}

// The lists kept from an earlier run: only newer ones (per signer) replace them. The
// root's first: it may revoke the server key the server's list is checked with.
void SyncEngine::loadKeptRevocations()
{
    if (!trust_->hasRoot()) return;
    if (!options_.rootRevocationsFile.empty() && std::filesystem::exists(options_.rootRevocationsFile)) {
        try {
            const auto list = trust::loadRevocationList(options_.rootRevocationsFile);
            trust_->applyRootList(list);
            rootRevocationsKept_ = list.sequence;
        } catch (const std::exception& e) {
            logger_.warning("sync: ignoring the kept root revocation list: %s", std::string(e.what()));
        }
    }
    if (!options_.revocationsFile.empty() && std::filesystem::exists(options_.revocationsFile)) {
        try {
            const auto list = trust::loadRevocationList(options_.revocationsFile);
            trust::verifyServerRevocations(list, serverKey());
            revocationSequence_ = list.sequence;
            revocationSigner_ = list.signer.keyId;
        } catch (const std::exception& e) {
            logger_.warning("sync: ignoring the kept revocation list: %s", std::string(e.what()));
        }
    }
}

SyncEngine::~SyncEngine() { stop(); }

std::int64_t SyncEngine::nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void SyncEngine::start()
{
    // The line came up (another plugin's call got through): send what waits at once.
    watchToken_ = link_->watchOnline([this](bool online) {
        if (!online) return;
        std::lock_guard lock(mutex_);
        requested_ = true;
        wake_.notify_all();
    });
    thread_ = std::thread([this] { run(); });
}

void SyncEngine::stop()
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        wake_.notify_all();
    }
    if (watchToken_) link_->unwatch(watchToken_);
    watchToken_ = 0;
    if (thread_.joinable()) thread_.join();
}

void SyncEngine::run()
{
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        requested_ = false;
        inCycle_ = true;
        lock.unlock();
        try {
            cycle();
        } catch (const std::exception& e) {
            fail(std::string("sync cycle: ") + e.what());
        }
        reportOverdueRootList();   // after the cycle: its fetch may have brought a newer list
        std::int64_t wakeAt = nowMs() + options_.pollMs;
        try {
            if (auto item = link_->configured() ? outbox_->front() : std::nullopt)
                wakeAt = std::min(wakeAt, std::max(item->nextAttemptMs, nowMs()));
        } catch (const std::exception&) {
        }
        lock.lock();
        ++cycles_;
        inCycle_ = false;
        wake_.notify_all();
        const auto until = std::chrono::system_clock::time_point(std::chrono::milliseconds(wakeAt));
        wake_.wait_until(lock, until, [this] { return stopping_ || requested_; });
    }
}

void SyncEngine::cycle()
{
    if (!link_->configured()) return;
    plan();
    const auto now = nowMs();
    // Revocations first, before the uploads: the root's newest list is applied before any
    // settlement result is (a box back after long without a line must not act on what a key
    // revoked meanwhile signs), and their answer brings the server's current certificate,
    // which the time is then checked with (after a key rotation the old one may be revoked).
    // A fetch that did not even get the root's list checked (no answer, a 5xx) holds the uploads
    // back to the next cycle; one refused after that (the server's own key revoked) does not.
    if (now >= nextRevocationsMs_ && !fetchRevocations()) {
        // As after a failed send: the head waits with backoff (the worker wakes by it).
        if (auto item = outbox_->front(); item && item->nextAttemptMs <= now)
            outbox_->retryLater(item->id, now + options_.backoff.delayMs(item->attempts + 1, random_));
        return;
    }
    if (!drain()) return;
    if (now >= nextTimeMs_) fetchTime();
}

trust::RootListStatus SyncEngine::rootListStatus() const
{
    return trust_->rootList(clock_ ? clock_->latestKnown() : static_cast<wire::UnixTime>(::time(nullptr)));
}

// A root list past its nextUpdate is still applied (it revokes less than a newer one would,
// never more), but the box has not been sent a newer one: no line for long, or a server
// serving a stale list. Said once per list in a run, and in the status.
void SyncEngine::reportOverdueRootList()
{
    const auto held = rootListStatus();
    if (held.sequence == overdueRootReported_ || !held.overdueFor) return;
    overdueRootReported_ = held.sequence;
    logger_.warning("sync: the operator root's revocation list held (sequence %s) was due to be replaced %s s ago;"
                    " it is still applied until the server sends a newer one",
                    std::to_string(held.sequence), std::to_string(*held.overdueFor));
}

void SyncEngine::plan()
{
    const auto s = history_->status();
    std::uint64_t from = std::max(s.acknowledgedThrough, outbox_->lastQueuedSequence("history"));
    while (from < s.lastSequence) {
        const auto records = history_->records(from, options_.batchRecords);
        if (records.empty()) break;
        Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
        for (const auto& r : records) list->add(wire::toBase64Url(r.encoded));
        Object::Ptr body = new Object;
        body->set("records", list);
        std::ostringstream text;
        Poco::JSON::Stringifier::condense(body, text);
        OutboxItem item;
        item.kind = "history";
        item.method = "POST";
        item.path = "/v1/stb/history";
        item.body = text.str();
        item.lastSequence = records.back().record.sequence;
        outbox_->push(item);
        from = item.lastSequence;
    }
}

bool SyncEngine::drain()
{
    while (auto item = outbox_->front()) {
        if (item->nextAttemptMs > nowMs()) return true;   // backing off: the line may be fine
        LinkResponse response;
        try {
            response = link_->callText(item->method, item->path, item->body,
                                       "sync-" + deviceId_ + "-" + std::to_string(item->lastSequence));
        } catch (const Error& e) {
            outbox_->retryLater(item->id, nowMs() + options_.backoff.delayMs(item->attempts + 1, random_));
            fail(e.what());
            return false;
        }
        if (response.status < 200 || response.status >= 300) {
            // Refused (409 chain/gap, 429 wallet, 5xx): keep it, try again later, say why.
            outbox_->retryLater(item->id, nowMs() + options_.backoff.delayMs(item->attempts + 1, random_));
            fail("server refused " + item->path + ": " + response.error());
            return true;
        }
        // Delivered: out of the queue first (anything the answer does not settle is
        // planned again from the history, the server being idempotent).
        outbox_->remove(item->id);
        try {
            if (item->kind == "history") handleHistory(response);
        } catch (const std::exception& e) {
            fail(std::string("handling the answer to ") + item->path + ": " + e.what());
        }
        std::lock_guard lock(mutex_);
        lastSyncMs_ = nowMs();
    }
    return true;
}

void SyncEngine::handleHistory(const LinkResponse& response)
{
    const auto body = objectOf(response.body);
    if (!body || !body->has("acknowledgedThrough")) throw Error(ErrorCode::Malformed, "no acknowledgedThrough in the answer");
    const auto acknowledged = body->getValue<std::uint64_t>("acknowledgedThrough");
    const auto s = history_->status();
    // Only forward, and never beyond what this box wrote.
    if (acknowledged > s.acknowledgedThrough && acknowledged <= s.lastSequence) history_->acknowledge(acknowledged);
    learnCertificate(response.body);
    const auto result = fieldText(body, "result");
    if (result.empty()) return;
    const auto certificate = fieldText(body, "serverCertificate");
    try {
        history_->applySettlement(wire::fromBase64Url(result, "result"),
                                  certificate.empty() ? Bytes{} : wire::fromBase64Url(certificate, "serverCertificate"));
    } catch (const Error& e) {
        // Already applied (a retried upload answered with the same result): nothing to do.
        if (e.code() != ErrorCode::Replayed && e.code() != ErrorCode::Conflict) throw;
    }
}

void SyncEngine::learnCertificate(const Poco::Dynamic::Var& answer)
{
    const auto text = fieldText(objectOf(answer), "serverCertificate");
    if (text.empty() || !trust_->hasRoot()) return;
    auto certificate = wire::Certificate::decode(wire::fromBase64Url(text, "serverCertificate"));
    trust_->verifyServer(certificate);
    const auto encoded = certificate.encode();
    trust_->serverPresented(std::move(certificate));
    // Held before it is kept, and a failed write does not fail the answer (its settlement
    // result, the server's list): it is tried again with the next answer.
    if (encoded != serverCertificateKept_ && !options_.serverCertificateFile.empty()) {
        try {
            trust::writeKeyFile(options_.serverCertificateFile, std::string(encoded.begin(), encoded.end()), false, true);
            serverCertificateKept_ = encoded;
        } catch (const std::exception& e) {
            logger_.warning("sync: the server certificate is held but not kept: %s", std::string(e.what()));
        }
    }
}

trust::VerifyingKey SyncEngine::serverKey()
{
    if (!trust_->hasRoot()) throw Error(ErrorCode::Unavailable, "no operator trust anchor (plugins.sync.trustAnchor)");
    return trust_->currentServer().key;
}

void SyncEngine::fetchTime()
{
    if (!clock_) return;
    try {
        if (!trust_->hasRoot()) throw Error(ErrorCode::Unavailable, "no operator trust anchor (plugins.sync.trustAnchor)");
        const auto key = trust_->currentTimeSigner().key;
        const auto time = clock_->fetchFrom(
            [&](const std::string& path) {
                const auto response = link_->call("GET", path);
                if (response.status != 200) throw Error(ErrorCode::Unavailable, "GET /v1/time: " + response.error());
                return fieldText(objectOf(response.body), "trustedTime");
            },
            key, deviceId_);
        std::lock_guard lock(mutex_);
        trustedTime_ = time;
        nextTimeMs_ = nowMs() + options_.timeEveryMs;
    } catch (const std::exception& e) {
        fail(std::string("trusted time: ") + e.what());
    }
}

bool SyncEngine::fetchRevocations()
{
    if (!trust_->hasRoot()) return true;
    bool rootChecked = false;
    try {
        const auto response = link_->call("GET", "/v1/stb/revocations");
        if (response.status != 200) throw Error(ErrorCode::Unavailable, "GET /v1/stb/revocations: " + response.error());
        const auto body = objectOf(response.body);
        // The root's list first, checked with the root anchor and held at once: it may revoke
        // the very server key that signed the rest of this answer (which is then refused
        // below). A root list that does not verify refuses the whole answer. Held before it
        // is kept on disk, so that a full disk delays only the keeping (tried again with
        // each answer), not the revocation.
        if (const auto encoded = fieldText(body, "rootRevocations"); !encoded.empty()) {
            try {
                const auto rootBytes = wire::fromBase64Url(encoded, "rootRevocations");
                const auto rootList = wire::RevocationList::decode(rootBytes);
                if (rootList.sequence > trust_->rootSequence()) trust_->applyRootList(rootList);   // verifies it
                else trust::verifyRootRevocations(rootList, trust_->root());
                if (rootList.sequence > rootRevocationsKept_ && !options_.rootRevocationsFile.empty()) {
                    trust::writeKeyFile(options_.rootRevocationsFile, std::string(rootBytes.begin(), rootBytes.end()),
                                        false, true);
                    rootRevocationsKept_ = rootList.sequence;
                }
            } catch (const Error& e) {
                throw Error(e.code(), std::string("rootRevocations: ") + e.what());
            }
        }
        rootChecked = true;
        learnCertificate(response.body);
        // The server's list (tickets only) with the server's key, against its own sequence.
        const auto bytes = wire::fromBase64Url(fieldText(body, "revocations"), "revocations");
        const auto list = wire::RevocationList::decode(bytes);
        trust::verifyServerRevocations(list, serverKey());
        std::lock_guard lock(mutex_);
        // Also the same list under a new signer (a rotated server key re-signs the list it had):
        // the copy signed by the old key may not verify after a restart.
        if (list.sequence > revocationSequence_ ||
            (list.sequence == revocationSequence_ && list.signer.keyId != revocationSigner_)) {
            if (!options_.revocationsFile.empty())
                trust::writeKeyFile(options_.revocationsFile, std::string(bytes.begin(), bytes.end()), false, true);
            revocationSequence_ = list.sequence;
            revocationSigner_ = list.signer.keyId;
        }
        nextRevocationsMs_ = nowMs() + options_.revocationsEveryMs;
    } catch (const std::exception& e) {
        fail(std::string("revocations: ") + e.what());
    }
    return rootChecked;
}

void SyncEngine::fail(const std::string& what)
{
    logger_.warning("sync: %s", what);
    std::lock_guard lock(mutex_);
    lastError_ = what;
}

SyncStatus SyncEngine::status()
{
    SyncStatus s;
    s.configured = link_->configured();
    s.online = link_->online();
    s.queueLength = outbox_->size();
    const auto h = history_->status();
    s.acknowledgedThrough = h.acknowledgedThrough;
    s.settledThrough = h.settledThrough;
    s.unacknowledged = h.lastSequence - std::min(h.lastSequence, h.acknowledgedThrough);
    std::lock_guard lock(mutex_);
    s.lastSync = lastSyncMs_ / 1000;
    s.trustedTime = trustedTime_;
    s.revocationSequence = revocationSequence_;
    const auto rootRevocations = rootListStatus();
    s.rootRevocationSequence = rootRevocations.sequence;
    s.rootRevocationNextUpdate = rootRevocations.nextUpdate;
    s.rootRevocationsOverdue = rootRevocations.overdueFor.has_value();
    s.lastError = lastError_;
    return s;
}

SyncStatus SyncEngine::syncNow(std::chrono::milliseconds wait)
{
    outbox_->makeAllDue();
    {
        std::unique_lock lock(mutex_);
        nextTimeMs_ = 0;
        nextRevocationsMs_ = 0;
        // A cycle running now may have started before the request: wait for the next one.
        const auto target = cycles_ + (inCycle_ ? 2 : 1);
        requested_ = true;
        wake_.notify_all();
        wake_.wait_for(lock, wait, [&] { return stopping_ || cycles_ >= target; });
    }
    return status();
}

} // namespace boxoffice::plugins::sync
