#pragma once
// Registration of the STB to an account (DESIGN §5 flow 1, RFC 8628 in spirit), the
// STB's half: it asks the server for a short code over the device's line
// (POST /v1/stb/registrations with its wire certificate), keeps the code for the TV,
// polls GET /v1/stb/registrations/{code} while the code is pending (on its own
// thread every `pollEvery`, and whenever asked), and learns the account once the
// phone has presented the code over its own line. The state is kept in SQLite (the
// plugin's database) so a registered box stays registered across restarts; every
// change is reported to `onChange` (the plugin emits sync.1.registrationChanged).
//
// States: unregistered → pending (code, expiresAt) → registered (accountId)
//                                                  → expired (the code's time ran out)
// The server is the authority on a code: a pending code turns expired or registered
// only on its answer, so a box that was offline when the phone presented the code
// still learns the account later.

#include "HttpsLink.h"

#include <boxoffice/storage/Database.h>

#include <Poco/Logger.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace boxoffice::plugins::sync {

struct RegistrationState {
    std::string state = "unregistered";   // unregistered | pending | registered | expired
    std::string code;                     // pending/expired: the code shown on the TV
    std::int64_t expiresAt = 0;           // unix seconds the code is valid until
    std::string accountId;                // registered: the account the phone bound the box to

    bool operator==(const RegistrationState&) const = default;
};

class Registration {
public:
    using Listener = std::function<void(const RegistrationState&)>;

    // deviceCertificate: the device's wire certificate file (keytool `device.cert`),
    // read on begin(). database: an SQLite connection string (shared with the outbox).
    Registration(std::shared_ptr<HttpsLink> link, std::filesystem::path deviceCertificate,
                 const std::string& database, std::chrono::milliseconds pollEvery, Listener onChange,
                 Poco::Logger& logger);
    ~Registration();   // stops the thread

    void start();
    void stop();

    // sync.1.register: a registered box answers its state; a pending code is checked
    // with the server first (it may have been completed meanwhile); otherwise the
    // server gives a code (the same one while it is pending).
    // Error(Unavailable) without a line; a server refusal as Error(<its code>, its message).
    RegistrationState begin();
    // sync.1.registration: the state, checked with the server first when pending
    // (a failed check leaves the state as it is).
    RegistrationState current();

private:
    RegistrationState load();
    void update(const RegistrationState& next);   // persists, then reports a change
    void poll(bool quiet);                        // one check of the pending code
    void run();

    std::shared_ptr<HttpsLink> link_;
    std::filesystem::path deviceCertificate_;
    storage::Database db_;
    std::chrono::milliseconds pollEvery_;
    Listener onChange_;
    Poco::Logger& logger_;

    std::mutex exchangeMutex_;          // one exchange with the server at a time
    std::mutex mutex_;                  // guards state_ and the thread's flags
    std::condition_variable wake_;
    RegistrationState state_;
    bool stopping_ = false;
    std::thread thread_;
};

// The JSON shape of the state: {state, code?, expiresAt?, accountId?}.
Poco::Dynamic::Var toJson(const RegistrationState& state);

} // namespace boxoffice::plugins::sync
