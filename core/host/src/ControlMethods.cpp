// host.1.* JSON-RPC methods: the plugin list, lifecycle control and log levels.

#include <boxoffice/host/PluginHost.h>

#include <boxoffice/base/Error.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

namespace boxoffice::host {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Array::Ptr toArray(const std::vector<std::string>& items)
{
    Array::Ptr out = new Array;
    for (const auto& item : items) out->add(item);
    return out;
}

Object::Ptr describe(const PluginInfo& info)
{
    Object::Ptr out = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    out->set("name", info.name);
    out->set("version", info.version);
    out->set("state", std::string(toString(info.state)));
    out->set("reason", info.reason);
    out->set("description", info.description);
    out->set("needs", toArray(info.needs));
    out->set("provides", toArray(info.provides));
    out->set("builtAgainst", info.builtAgainst.toString());
    out->set("hostApi", info.hostApiMin.toString() + "-" + info.hostApiMax.toString());
    out->set("library", info.library.string());
    return out;
}

int levelFromName(const std::string& name)
{
    try {
        return Poco::Logger::parseLevel(name);
    } catch (const Poco::InvalidArgumentException&) {
        throw Error(ErrorCode::InvalidArgument,
                    "parameter 'level' must be one of none, fatal, critical, error, warning, notice, information, "
                    "debug, trace; not '" + name + "'");
    }
}

const char* levelName(int level)
{
    static const char* names[] = {"none", "fatal", "critical", "error", "warning",
                                  "notice", "information", "debug", "trace"};
    return level >= 0 && level <= 8 ? names[level] : "unknown";
}

} // namespace

void PluginHost::addControlMethods(rpc::Dispatcher& dispatcher)
{
    const std::string prefix = loggerPrefix();
    dispatcher.addMethod("host.1.plugins", "read", [this](const rpc::Request&) {
        Array::Ptr list = new Array;
        for (const auto& info : plugins()) list->add(describe(info));
        return Poco::Dynamic::Var(list);
    }, "host");
    dispatcher.addMethod("host.1.activate", "admin", [this](const rpc::Request& request) {
        const auto name = request.string("name");
        activate(name);
        return Poco::Dynamic::Var(std::string(toString(state(name))));
    }, "host");
    dispatcher.addMethod("host.1.deactivate", "admin", [this](const rpc::Request& request) {
        const auto name = request.string("name");
        deactivate(name);
        return Poco::Dynamic::Var(std::string(toString(state(name))));
    }, "host");
    // Loggers are addressed by plugin name ("ppv") or "host"; "*" means all of ours.
    dispatcher.addMethod("host.1.setLogLevel", "admin", [prefix](const rpc::Request& request) {
        const auto logger = request.string("logger");
        const int level = levelFromName(request.string("level"));
        if (logger == "*") {
            Poco::Logger::setLevel(prefix, level);
        } else {
            if (logger.empty() || logger.find('.') != std::string::npos)
                throw Error(ErrorCode::InvalidArgument, "parameter 'logger' must be a plugin name, \"host\" or \"*\"");
            Poco::Logger::get(prefix + "." + logger).setLevel(level);
        }
        return Poco::Dynamic::Var(std::string(levelName(level)));
    }, "host");
    dispatcher.addMethod("host.1.logLevels", "read", [prefix](const rpc::Request&) {
        std::vector<std::string> names;
        Poco::Logger::names(names);
        Object::Ptr out = new Object;
        for (const auto& name : names) {
            if (name.compare(0, prefix.size() + 1, prefix + ".") != 0) continue;
            out->set(name.substr(prefix.size() + 1), std::string(levelName(Poco::Logger::get(name).getLevel())));
        }
        return Poco::Dynamic::Var(out);
    }, "host");
}

} // namespace boxoffice::host
