#include <boxoffice/rpc/Dispatcher.h>
#include <boxoffice/rpc/DetailedError.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/ErrorMapping.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <condition_variable>
#include <sstream>

namespace boxoffice::rpc {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::size_t kMaxBatch = 64;

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return isLower(c) || (c >= 'A' && c <= 'Z'); }

// Names read plugin.version.name: a plugin name ([a-z][a-z0-9-]*), a decimal
// interface version of at most four digits, a camelCase member.
bool validName(const std::string& name)
{
    const auto first = name.find('.');
    const auto second = first == std::string::npos ? first : name.find('.', first + 1);
    if (second == std::string::npos || name.find('.', second + 1) != std::string::npos) return false;
    const std::string_view plugin(name.data(), first);
    const std::string_view version(name.data() + first + 1, second - first - 1);
    const std::string_view member(name.data() + second + 1, name.size() - second - 1);
    if (plugin.empty() || !isLower(plugin[0])) return false;
    for (char c : plugin)
        if (!isLower(c) && !isDigit(c) && c != '-') return false;
    if (version.empty() || version.size() > 4) return false;
    for (char c : version)
        if (!isDigit(c)) return false;
    if (member.empty() || !isAlpha(member[0])) return false;
    for (char c : member)
        if (!isAlpha(c) && !isDigit(c)) return false;
    return true;
}

std::string toText(const Var& value)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(value, out);
    return out.str();
}

Object::Ptr errorMember(int code, const std::string& message, const std::string& keyword)
{
    Object::Ptr error = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    error->set("code", code);
    error->set("message", message);
    Object::Ptr data = new Object;
    data->set("error", keyword);
    error->set("data", data);
    return error;
}

Var errorReply(const Var& id, int code, const std::string& message, const std::string& keyword)
{
    Object::Ptr reply = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    reply->set("jsonrpc", "2.0");
    reply->set("id", id);
    reply->set("error", errorMember(code, message, keyword));
    return reply;
}

bool validId(const Var& id)
{
    return id.isEmpty() || id.isString() || (id.isNumeric() && id.type() != typeid(bool));
}

} // namespace

Dispatcher::Dispatcher(Poco::Logger& logger) : logger_(logger)
{
    addBuiltins();
}

void Dispatcher::addBuiltins()
{
    // Subscriptions need a session to deliver to; any authenticated client may
    // ask, the event's own scope is checked per event.
    addMethod("host.1.subscribe", "", [this](const Request& r) { return subscribe(r, true); }, "host");
    addMethod("host.1.unsubscribe", "", [this](const Request& r) { return subscribe(r, false); }, "host");
}

void Dispatcher::addMethod(const std::string& method, const std::string& scope, Handler handler,
                           const std::string& owner)
{
    if (!validName(method))
        throw Error(ErrorCode::InvalidArgument, "method name '" + method + "' does not read plugin.version.method");
    if (!handler) throw Error(ErrorCode::InvalidArgument, "method '" + method + "' has no handler");
    std::unique_lock lock(methodsMutex_);
    if (methods_.contains(method)) throw Error(ErrorCode::AlreadyExists, "method '" + method + "' is already registered");
    methods_.emplace(method, std::make_shared<const Method>(Method{scope, std::move(handler), owner, gates_.gateFor(owner)}));
}

void Dispatcher::addEvent(const std::string& event, const std::string& scope, const std::string& owner)
{
    if (!validName(event))
        throw Error(ErrorCode::InvalidArgument, "event name '" + event + "' does not read plugin.version.event");
    std::unique_lock lock(methodsMutex_);
    if (events_.contains(event)) throw Error(ErrorCode::AlreadyExists, "event '" + event + "' is already registered");
    events_.emplace(event, Event{scope, owner});
}

void Dispatcher::removeOwner(const std::string& owner)
{
    std::vector<std::string> removedEvents;
    {
        std::unique_lock lock(methodsMutex_);
        std::erase_if(methods_, [&](const auto& entry) { return entry.second->owner == owner; });
        for (auto it = events_.begin(); it != events_.end();) {
            if (it->second.owner == owner) {
                removedEvents.push_back(it->first);
                it = events_.erase(it);
            } else {
                ++it;
            }
        }
    }
    {
        std::lock_guard lock(subscriptionsMutex_);
        for (auto& [sink, subscription] : subscriptions_) {
            std::erase_if(subscription.events, [&](const std::string& e) {
                return std::find(removedEvents.begin(), removedEvents.end(), e) != removedEvents.end();
            });
        }
    }
    // Wait for calls that started before the removal.
    gates_.waitIdle(owner);
}

bool Dispatcher::hasMethod(const std::string& method) const
{
    std::shared_lock lock(methodsMutex_);
    return methods_.contains(method);
}

std::optional<std::string> Dispatcher::handle(std::string_view text, const Caller& caller)
{
    Var parsed;
    try {
        // One parser per thread: constructing one costs more than parsing a small request.
        thread_local Poco::JSON::Parser parser;
        parser.reset();
        parsed = parser.parse(std::string(text));
    } catch (const Poco::Exception&) {
        return toText(errorReply(Var(), ParseError, "Parse error", "malformed"));
    }

    if (parsed.type() == typeid(Array::Ptr)) {
        const auto batch = parsed.extract<Array::Ptr>();
        if (batch->size() == 0) return toText(errorReply(Var(), InvalidRequest, "Invalid Request: empty batch", "malformed"));
        if (batch->size() > kMaxBatch)
            return toText(errorReply(Var(), LimitExceeded,
                                     "batch of " + std::to_string(batch->size()) + " exceeds the limit of " +
                                         std::to_string(kMaxBatch),
                                     "limit exceeded"));
        Array::Ptr replies = new Array;
        for (std::size_t i = 0; i < batch->size(); ++i) {
            Var reply = handleOne(batch->get(static_cast<unsigned>(i)), caller);
            if (!reply.isEmpty()) replies->add(reply);
        }
        if (replies->size() == 0) return std::nullopt;
        return toText(replies);
    }
    Var reply = handleOne(parsed, caller);
    if (reply.isEmpty()) return std::nullopt;
    return toText(reply);
}

Var Dispatcher::handleOne(const Var& message, const Caller& caller)
{
    if (message.type() != typeid(Object::Ptr))
        return errorReply(Var(), InvalidRequest, "Invalid Request: not an object", "malformed");
    const auto request = message.extract<Object::Ptr>();

    const bool isNotification = !request->has("id");
    const Var id = isNotification ? Var() : request->get("id");
    if (!validId(id)) return errorReply(Var(), InvalidRequest, "Invalid Request: id must be a string, number or null", "malformed");

    const Var version = request->get("jsonrpc");
    if (!version.isString() || version.extract<std::string>() != "2.0")
        return errorReply(id, InvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"", "malformed");
    const Var methodVar = request->get("method");
    if (!methodVar.isString()) return errorReply(id, InvalidRequest, "Invalid Request: method must be a string", "malformed");
    const std::string methodName = methodVar.extract<std::string>();
    Var params;
    if (request->has("params")) {
        params = request->get("params");
        if (params.type() != typeid(Object::Ptr) && params.type() != typeid(Array::Ptr))
            return errorReply(id, InvalidRequest, "Invalid Request: params must be an object or an array", "malformed");
    }

    auto reply = [&](Var result) -> Var {
        if (isNotification) return Var();
        Object::Ptr out = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        out->set("jsonrpc", "2.0");
        out->set("id", id);
        out->set("result", result);
        return out;
    };
    auto fail = [&](int code, const std::string& text, const std::string& keyword) -> Var {
        if (isNotification) return Var();
        return errorReply(id, code, text, keyword);
    };

    std::shared_ptr<const Method> method;  // shared, not copied: calls are the hot path
    std::optional<OwnerGates::Entry> entry;
    {
        std::shared_lock lock(methodsMutex_);
        const auto found = methods_.find(methodName);
        if (found == methods_.end()) return fail(MethodNotFound, "Method not found: " + methodName, "not found");
        method = found->second;
        if (!method->scope.empty() && !caller.mayUse(method->scope))
            return fail(Forbidden,
                        "client '" + caller.client + "' lacks scope '" + method->scope + "' for " + methodName,
                        "permission denied");
        // Entered under the lock, so removeOwner() either sees this call or
        // the call never starts.
        entry.emplace(method->gate);
    }
    try {
        return reply(method->handler(Request(methodName, params, caller)));
    } catch (const Error& error) {
        const auto object = toErrorObject(error);
        if (object.code == InternalError) logger_.error("%s failed: %s", methodName, std::string(error.what()));
        Var failed = fail(object.code, object.message, object.keyword);
        if (const auto* detailed = dynamic_cast<const DetailedError*>(&error); detailed && !failed.isEmpty()) {
            Object::Ptr answer = failed.extract<Object::Ptr>();
            Object::Ptr errorObject = answer->getObject("error");
            Object::Ptr data = errorObject->getObject("data");
            for (const auto& [key, value] : detailed->details())
                if (key != "error") data->set(key, value);
        }
        return failed;
    } catch (const Poco::Exception& error) {
        logger_.error("%s failed: %s", methodName, error.displayText());
    } catch (const std::exception& error) {
        logger_.error("%s failed: %s", methodName, std::string(error.what()));
    } catch (...) {
        logger_.error("%s failed with a non-standard exception", methodName);
    }
    return fail(InternalError, "Internal error", "internal");
}

Var Dispatcher::subscribe(const Request& request, bool on)
{
    const auto& caller = request.caller();
    if (!caller.session) throw Error(ErrorCode::InvalidArgument, "events are delivered over WebSocket only");
    const auto list = request.array("events");
    std::vector<std::string> names;
    {
        std::shared_lock lock(methodsMutex_);
        for (std::size_t i = 0; i < list->size(); ++i) {
            const Var item = list->get(static_cast<unsigned>(i));
            if (!item.isString()) throw Error(ErrorCode::InvalidArgument, "parameter 'events' must hold strings");
            const auto name = item.extract<std::string>();
            const auto found = events_.find(name);
            if (found == events_.end()) throw Error(ErrorCode::InvalidArgument, "unknown event '" + name + "'");
            if (on && !found->second.scope.empty() && !caller.mayUse(found->second.scope))
                throw Error(ErrorCode::PermissionDenied,
                            "client '" + caller.client + "' lacks scope '" + found->second.scope + "' for event " + name);
            names.push_back(name);
        }
    }
    std::lock_guard lock(subscriptionsMutex_);
    auto& subscription = subscriptions_[caller.session.get()];
    subscription.session = caller.session;
    for (const auto& name : names) {
        auto it = std::find(subscription.events.begin(), subscription.events.end(), name);
        if (on && it == subscription.events.end()) subscription.events.push_back(name);
        if (!on && it != subscription.events.end()) subscription.events.erase(it);
    }
    Array::Ptr current = new Array;
    for (const auto& name : subscription.events) current->add(name);
    return current;
}

void Dispatcher::emit(const std::string& event, const Var& params)
{
    Object::Ptr note = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    note->set("jsonrpc", "2.0");
    note->set("method", event);
    note->set("params", params);
    const std::string text = toText(note);

    std::vector<std::shared_ptr<EventSink>> targets;
    {
        std::lock_guard lock(subscriptionsMutex_);
        for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
            auto session = it->second.session.lock();
            if (!session) {
                it = subscriptions_.erase(it);
                continue;
            }
            if (std::find(it->second.events.begin(), it->second.events.end(), event) != it->second.events.end())
                targets.push_back(std::move(session));
            ++it;
        }
    }
    for (const auto& session : targets) {
        try {
            session->send(text);
        } catch (const std::exception& error) {
            logger_.warning("dropping a subscriber of %s: %s", event, std::string(error.what()));
            detach(session.get());
        }
    }
}

void Dispatcher::detach(const EventSink* session)
{
    std::lock_guard lock(subscriptionsMutex_);
    subscriptions_.erase(session);
}

std::string Dispatcher::errorResponse(int code, const std::string& message, const std::string& keyword)
{
    return toText(errorReply(Var(), code, message, keyword));
}

} // namespace boxoffice::rpc

namespace boxoffice::rpc {

std::optional<std::string> Dispatcher::refuse(std::string_view text, int code, const std::string& message,
                                              const std::string& keyword)
{
    Var parsed;
    try {
        parsed = Poco::JSON::Parser().parse(std::string(text));
    } catch (const Poco::Exception&) {
        return errorResponse(code, message, keyword);
    }
    auto refusal = [&](const Var& item) -> Var {
        if (item.type() != typeid(Object::Ptr)) return errorReply(Var(), code, message, keyword);
        const auto request = item.extract<Object::Ptr>();
        if (!request->has("id")) return Var();
        const Var id = request->get("id");
        return errorReply(validId(id) ? id : Var(), code, message, keyword);
    };
    if (parsed.type() == typeid(Array::Ptr)) {
        const auto batch = parsed.extract<Array::Ptr>();
        Array::Ptr replies = new Array;
        for (std::size_t i = 0; i < batch->size(); ++i) {
            Var reply = refusal(batch->get(static_cast<unsigned>(i)));
            if (!reply.isEmpty()) replies->add(reply);
        }
        if (replies->size() == 0) return batch->size() == 0 ? std::optional(errorResponse(code, message, keyword)) : std::nullopt;
        return toText(replies);
    }
    Var reply = refusal(parsed);
    if (reply.isEmpty()) return std::nullopt;
    return toText(reply);
}

} // namespace boxoffice::rpc
