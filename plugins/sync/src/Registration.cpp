#include "Registration.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Base64Url.h>

#include <Poco/JSON/Object.h>

#include <algorithm>
#include <cctype>

namespace boxoffice::plugins::sync {

using boxoffice::sync::LinkResponse;
using Poco::JSON::Object;
using storage::Transaction;

namespace {

const storage::Schema& schema()
{
    static const storage::Schema s{
        "sync-registration",
        {{"the box's registration (one row)",
          {"CREATE TABLE sync_registration (id {int64} PRIMARY KEY, state {text} NOT NULL, code {text} NOT NULL,"
           " expires_at {int64} NOT NULL, account_id {text} NOT NULL)"}}}};
    return s;
}

bool knownState(const std::string& s)
{
    return s == "unregistered" || s == "pending" || s == "registered" || s == "expired";
}

// The server's codes are short upper-case letters and digits; anything else is not
// put into a request path.
bool plausibleCode(const std::string& code)
{
    return !code.empty() && code.size() <= 16 &&
           std::all_of(code.begin(), code.end(), [](unsigned char c) { return std::isupper(c) || std::isdigit(c); });
}

// A refusal of the server as an Error of its own code, with its message.
[[noreturn]] void refused(const std::string& what, const LinkResponse& response)
{
    ErrorCode code = ErrorCode::Unavailable;
    try {
        if (response.body.type() == typeid(Object::Ptr)) {
            const auto body = response.body.extract<Object::Ptr>();
            if (body && body->has("error") && body->get("error").isString())
                code = errorCodeFromString(body->getValue<std::string>("error"));
        }
    } catch (const std::exception&) {
        // Not the server's error shape: Unavailable, with the status in the message.
    }
    throw Error(code, "the server refused " + what + ": " + response.error());
}

// The server's view of a registration: {code, deviceId, state, accountId?, expiresAt}.
RegistrationState parse(const LinkResponse& response)
{
    if (response.body.type() != typeid(Object::Ptr)) throw Error(ErrorCode::Malformed, "registration answer is not an object");
    const auto body = response.body.extract<Object::Ptr>();
    auto text = [&](const std::string& name) {
        return body->has(name) && body->get(name).isString() ? body->getValue<std::string>(name) : std::string();
    };
    RegistrationState s;
    s.code = text("code");
    if (!plausibleCode(s.code)) throw Error(ErrorCode::Malformed, "registration answer has no usable code");
    if (!body->has("expiresAt")) throw Error(ErrorCode::Malformed, "registration answer has no expiresAt");
    s.expiresAt = body->getValue<std::int64_t>("expiresAt");
    const auto state = text("state");
    if (state == "pending" || state == "expired") {
        s.state = state;
    } else if (state == "completed") {
        s.state = "registered";
        s.accountId = text("accountId");
        if (s.accountId.empty()) throw Error(ErrorCode::Malformed, "completed registration without accountId");
    } else {
        throw Error(ErrorCode::Malformed, "registration answer has an unknown state '" + state + "'");
    }
    return s;
}

} // namespace

Poco::Dynamic::Var toJson(const RegistrationState& s)
{
    Object::Ptr o = new Object;
    o->set("state", s.state);
    if (s.state == "registered") {
        o->set("accountId", s.accountId);
    } else if (!s.code.empty()) {
        o->set("code", s.code);
        o->set("expiresAt", s.expiresAt);
    }
    return o;
}

Registration::Registration(std::shared_ptr<HttpsLink> link, std::filesystem::path deviceCertificate,
                           const std::string& database, std::chrono::milliseconds pollEvery, Listener onChange,
                           Poco::Logger& logger)
    : link_(std::move(link)), deviceCertificate_(std::move(deviceCertificate)), db_(database),
      pollEvery_(pollEvery), onChange_(std::move(onChange)), logger_(logger)
{
    db_.migrate(schema());
    state_ = load();
}

Registration::~Registration() { stop(); }

RegistrationState Registration::load()
{
    auto row = db_.query("SELECT state, code, expires_at, account_id FROM sync_registration WHERE id = 1").single();
    if (!row) return {};
    RegistrationState s{row->text(0), row->text(1), row->int64(2), row->text(3)};
    if (!knownState(s.state) || (s.state == "registered" && s.accountId.empty())) {
        logger_.warning("sync: ignoring a stored registration in state '%s'", s.state);
        return {};
    }
    return s;
}

void Registration::update(const RegistrationState& next)
{
    {
        std::lock_guard lock(mutex_);
        if (next == state_) return;
    }
    // On disk first: what the TV was told must survive a restart.
    db_.write([&](Transaction& tx) {
        tx.execute("INSERT INTO sync_registration (id, state, code, expires_at, account_id) VALUES (1, ?, ?, ?, ?)"
                   " ON CONFLICT (id) DO UPDATE SET state = excluded.state, code = excluded.code,"
                   " expires_at = excluded.expires_at, account_id = excluded.account_id",
                   {next.state, next.code, next.expiresAt, next.accountId});
    });
    {
        std::lock_guard lock(mutex_);
        state_ = next;
    }
    if (next.state == "registered") logger_.information("sync: registered to account %s", next.accountId);
    if (onChange_) onChange_(next);
}

void Registration::start()
{
    thread_ = std::thread([this] { run(); });
}

void Registration::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        wake_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
}

void Registration::run()
{
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, pollEvery_, [this] { return stopping_; });
        if (stopping_ || state_.state != "pending") continue;
        lock.unlock();
        {
            std::lock_guard exchange(exchangeMutex_);
            poll(true);
        }
        lock.lock();
    }
}

// Called with exchangeMutex_ held.
void Registration::poll(bool quiet)
{
    RegistrationState now;
    {
        std::lock_guard lock(mutex_);
        now = state_;
    }
    if (now.state != "pending" || !plausibleCode(now.code)) return;
    LinkResponse response;
    try {
        response = link_->call("GET", "/v1/stb/registrations/" + now.code);
    } catch (const Error& e) {
        // No line: the code stays pending until the server can say otherwise.
        if (!quiet) throw;
        return;
    }
    if (response.status == 404) {
        // The server does not know the code (any more): it cannot be presented.
        logger_.warning("sync: registration code no longer known to the server: %s", response.error());
        now.state = "expired";
        update(now);
        return;
    }
    if (response.status != 200) {
        logger_.warning("sync: registration check refused: %s", response.error());
        return;
    }
    try {
        auto next = parse(response);
        if (next.code != now.code) throw Error(ErrorCode::Malformed, "registration answer is for another code");
        update(next);
    } catch (const Error& e) {
        logger_.warning("sync: registration check: %s", std::string(e.what()));
    }
}

RegistrationState Registration::begin()
{
    std::lock_guard exchange(exchangeMutex_);
    // A pending code may have been presented meanwhile: ask before starting again
    // (the server would give a new code once the old one is completed).
    poll(false);
    {
        std::lock_guard lock(mutex_);
        if (state_.state == "registered" || state_.state == "pending") return state_;
    }
    if (!link_->configured()) throw Error(ErrorCode::Unavailable, "no line: no operator server configured (plugins.sync.port)");
    if (deviceCertificate_.empty())
        throw Error(ErrorCode::InvalidArgument,
                    "plugins.sync has no device certificate (deviceDirectory or deviceCertificate)");
    const auto certificate = trust::loadCertificate(deviceCertificate_).encode();
    Object::Ptr body = new Object;
    body->set("certificate", wire::toBase64Url(certificate));
    const auto response = link_->call("POST", "/v1/stb/registrations", body);
    if (response.status != 201 && response.status != 200) refused("the registration", response);
    auto next = parse(response);
    if (next.state != "pending") throw Error(ErrorCode::Malformed, "a new registration is not pending but " + next.state);
    update(next);
    return next;
}

RegistrationState Registration::current()
{
    {
        std::lock_guard exchange(exchangeMutex_);
        poll(true);
    }
    std::lock_guard lock(mutex_);
    return state_;
}

} // namespace boxoffice::plugins::sync
