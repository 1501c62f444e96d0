#pragma once
// The sync worker of the STB (DESIGN §5 flow 6): on its own thread, and at once
// when asked (syncNow) or when the line comes up, it (in this order, each when due)
//   1. fetches the revocation lists (GET /v1/stb/revocations): the server's (tickets
//      only, signed under its root-issued certificate) and the operator root's, verifies
//      each with its own signer and keeps the newest of each in its own file for the
//      ticket wallet (one signer's sequence never holds back or replaces the other's).
//      The root's list also goes to the ServerTrustState, so that every server certificate
//      the box acts on (its own checks here, billing's settlement results) is checked at
//      trusted time against it. The server certificate each answer carries, once it
//      verifies, is preferred to the configured one and kept in its own file (ppv and
//      billing read it there), so that a rotated server key reaches the whole box;
//   2. queues the history records the server has not acknowledged (Outbox, in
//      chunks), sends the queue in order over the HttpsLink, and on each answer
//      acknowledges the records (History::acknowledge) and applies the signed
//      settlement result that covers them (deferred purchases settled, credit freed);
//   3. fetches signed trusted time (GET /v1/time, audience = this device, fresh
//      nonce) into the trusted clock.
// A failed send is retried with exponential backoff and jitter; nothing is lost
// across restarts because the queue and the history are both on disk.

#include "Backoff.h"
#include "HttpsLink.h"
#include "Outbox.h"
#include "ServerTrustState.h"

#include <boxoffice/billing/History.h>
#include <boxoffice/trust/Certificates.h>
#include <boxoffice/wire/RevocationList.h>
#include <boxoffice/trust/TrustedClock.h>

#include <Poco/Logger.h>

#include <condition_variable>
#include <memory>
#include <optional>
#include <random>
#include <thread>

namespace boxoffice::plugins::sync {

struct EngineOptions {
    Backoff backoff;
    std::int64_t pollMs = 60'000;            // a sync cycle at least this often
    std::int64_t timeEveryMs = 3'600'000;    // trusted time refresh
    std::int64_t revocationsEveryMs = 900'000;
    std::size_t batchRecords = 64;           // records per upload request
    std::optional<wire::Certificate> serverCertificate;   // configured: verifies what the server signs
    // Where the certificate the server presents in its answers is kept (empty: not kept). It is
    // preferred to the configured one, so a rotated server key reaches ppv and billing too.
    std::filesystem::path serverCertificateFile;
    std::filesystem::path revocationsFile;   // where the server's verified list is kept (empty: not kept)
    std::filesystem::path rootRevocationsFile;   // and the operator root's (empty: not kept)
};

struct SyncStatus {
    bool configured = false;
    bool online = false;
    std::int64_t lastSync = 0;               // unix seconds of the last completed exchange (0: never)
    std::uint64_t queueLength = 0;           // uploads waiting in the outbox
    std::uint64_t unacknowledged = 0;        // history records the server has not acknowledged
    std::uint64_t acknowledgedThrough = 0;
    std::uint64_t settledThrough = 0;
    std::int64_t trustedTime = 0;            // unix seconds of the last accepted trusted time (0: never)
    std::uint64_t revocationSequence = 0;    // of the server's list held (0: none)
    std::uint64_t rootRevocationSequence = 0;   // of the root's list held (0: none)
    std::int64_t rootRevocationNextUpdate = 0;  // when that list says a newer one is due (unix s, 0: none)
    bool rootRevocationsOverdue = false;        // past it by the box's clock: still applied, but stale
    std::string lastError;
};

class SyncEngine {
public:
    SyncEngine(std::shared_ptr<HttpsLink> link, std::shared_ptr<billing::History> history,
               std::shared_ptr<Outbox> outbox, std::shared_ptr<trust::TrustedClock> clock,
               std::shared_ptr<ServerTrustState> trust, EngineOptions options, Poco::Logger& logger);
    ~SyncEngine();   // stops the thread

    void start();
    void stop();
    // Makes every queued upload due, runs one cycle and returns the status after it
    // (waits at most `wait` for the worker).
    SyncStatus syncNow(std::chrono::milliseconds wait = std::chrono::seconds(30));
    SyncStatus status();

private:
    void run();
    void cycle();
    void plan();
    bool drain();           // false when the line is down
    void handleHistory(const boxoffice::sync::LinkResponse& response);
    void fetchTime();
    bool fetchRevocations();   // whether the answer came and its root list (if any) was checked
    trust::RootListStatus rootListStatus() const;   // by the box's clock
    void reportOverdueRootList();
    void loadKeptServerCertificate();
    void loadKeptRevocations();
    trust::VerifyingKey serverKey();   // of trust_->currentServer(); Unavailable without a root
    void learnCertificate(const Poco::Dynamic::Var& body);
    void fail(const std::string& what);
    static std::int64_t nowMs();

    std::shared_ptr<HttpsLink> link_;
    std::shared_ptr<billing::History> history_;
    std::shared_ptr<Outbox> outbox_;
    std::shared_ptr<trust::TrustedClock> clock_;
    std::shared_ptr<ServerTrustState> trust_;   // the root, and the root's list held (its sequence)
    std::uint64_t rootRevocationsKept_ = 0;     // the sequence of the root's list in rootRevocationsFile (engine thread)
    std::uint64_t overdueRootReported_ = 0;     // the root list's sequence last warned about (engine thread)
    Bytes serverCertificateKept_;               // what serverCertificateFile holds (engine thread)
    EngineOptions options_;
    Poco::Logger& logger_;
    std::string deviceId_;
    std::uint64_t watchToken_ = 0;
    std::mt19937_64 random_;

    std::mutex mutex_;                       // guards everything below
    std::condition_variable wake_;
    bool stopping_ = false;
    bool requested_ = false;
    bool inCycle_ = false;
    std::uint64_t cycles_ = 0;
    std::int64_t lastSyncMs_ = 0;
    std::int64_t nextTimeMs_ = 0;
    std::int64_t nextRevocationsMs_ = 0;
    std::int64_t trustedTime_ = 0;
    std::string lastError_;
    std::uint64_t revocationSequence_ = 0;       // the server's list, in revocationsFile
    std::string revocationSigner_;               // and its signer's key id
    std::thread thread_;
};

} // namespace boxoffice::plugins::sync
