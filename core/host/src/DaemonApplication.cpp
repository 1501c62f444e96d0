#include <boxoffice/host/DaemonApplication.h>

#include "SystemdNotifier.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/Server.h>
#include <boxoffice/rpc/TokenStore.h>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/OptionException.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <pthread.h>
#include <iostream>

#ifndef BOXOFFICE_VERSION
#define BOXOFFICE_VERSION "0.0.0"
#endif

namespace boxoffice::host {

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitInternal = 70;
constexpr int kExitConfig = 78;

class ConfigError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace

DaemonApplication::DaemonApplication(Identity identity) : identity_(std::move(identity))
{
    setUnixOptions(true);
}

DaemonApplication::~DaemonApplication() = default;

int DaemonApplication::runMain(DaemonApplication& app, int argc, char** argv)
{
    try {
        return app.run(argc, argv);
    } catch (const Poco::Util::OptionException& error) {
        std::cerr << app.identity_.name << ": " << error.displayText() << " (try --help)\n";
        return kExitUsage;
    } catch (const std::exception& error) {
        std::cerr << app.identity_.name << ": " << error.what() << "\n";
        return kExitInternal;
    }
}

void DaemonApplication::defineOptions(Poco::Util::OptionSet& options)
{
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("help", "h", "show this help and exit").required(false).repeatable(false));
    options.addOption(Poco::Util::Option("config", "c", "read the configuration from FILE (JSON)")
                          .required(false)
                          .repeatable(false)
                          .argument("FILE"));
    options.addOption(Poco::Util::Option("set", "s", "override configuration KEY with VALUE")
                          .required(false)
                          .repeatable(true)
                          .argument("KEY=VALUE"));
}

void DaemonApplication::handleOption(const std::string& name, const std::string& value)
{
    ServerApplication::handleOption(name, value);
    if (name == "help") {
        helpRequested_ = true;
        stopOptionsProcessing();
    } else if (name == "config") {
        configFile_ = value;
    } else if (name == "set") {
        const auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0)
            throw Poco::Util::InvalidArgumentException("--set needs KEY=VALUE, not '" + value + "'");
        overrides_.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    }
}

std::filesystem::path DaemonApplication::path(const std::string& key, const std::string& fallback) const
{
    const std::string value = config().getString(key, fallback);
    if (value.empty()) return {};
    std::filesystem::path p(value);
    return p.is_absolute() ? p : configDirectory_ / p;
}

void DaemonApplication::loadConfiguration()
{
    if (configFile_.empty()) configFile_ = identity_.defaultConfig;
    std::ifstream in(configFile_);
    if (!in) throw ConfigError("cannot read configuration " + configFile_ + ": " + std::strerror(errno));
    Poco::AutoPtr<Poco::Util::JSONConfiguration> json;
    try {
        json = new Poco::Util::JSONConfiguration(in);
    } catch (const Poco::Exception& error) {
        throw ConfigError("configuration " + configFile_ + " is not valid JSON: " + error.displayText());
    }
    config().add(json, PRIO_APPLICATION);
    if (!overrides_.empty()) {
        Poco::AutoPtr<Poco::Util::MapConfiguration> overrides(new Poco::Util::MapConfiguration);
        for (const auto& [key, value] : overrides_) overrides->setString(key, value);
        config().add(overrides, PRIO_APPLICATION - 100);  // lower value wins in Poco
    }
    configDirectory_ = std::filesystem::absolute(configFile_).parent_path();
    if (!config().has("host.pluginDirectory"))
        throw ConfigError("configuration " + configFile_ + " lacks host.pluginDirectory");
    const auto plugins = path("host.pluginDirectory", "");
    if (!std::filesystem::is_directory(plugins))
        throw ConfigError("configuration " + configFile_ + ": host.pluginDirectory " + plugins.string() +
                          " is not a directory");
}

void DaemonApplication::setUpLogging()
{
    Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter);
    // systemd's journal stamps lines itself.
    formatter->setProperty("pattern", std::getenv("JOURNAL_STREAM") ? "%p %s: %t" : "%Y-%m-%d %H:%M:%S.%i %p %s: %t");
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, new Poco::ConsoleChannel));
    const std::string level = config().getString("logging.level", "information");
    int parsed = 0;
    try {
        parsed = Poco::Logger::parseLevel(level);
    } catch (const Poco::Exception&) {
        throw ConfigError("configuration " + configFile_ + ": logging.level '" + level + "' is not a log level");
    }
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel(parsed);
    Poco::Logger::setChannel("", channel);
    Poco::Logger::setLevel("", parsed);
}

// A client's token digest: `sha256` in the configuration, or `sha256File`, a file
// holding it (a digest minted at boot, e.g. the TV's). Never the token itself.
std::string DaemonApplication::tokenDigest(const std::string& tokenKey) const
{
    const bool inConfig = config().has(tokenKey + ".sha256"), inFile = config().has(tokenKey + ".sha256File");
    if (inConfig && inFile)
        throw Error(ErrorCode::InvalidArgument, tokenKey + ": sha256 and sha256File both given; keep one");
    if (!inFile) return config().getString(tokenKey + ".sha256", "");
    const std::string file = config().getString(tokenKey + ".sha256File");
    std::ifstream in(file);
    std::string digest;
    if (!(in >> digest)) {
        const std::string why = in.is_open() ? "empty" : std::strerror(errno);
        throw Error(ErrorCode::NotFound, tokenKey + ".sha256File: cannot read a digest from '" + file + "': " + why);
    }
    return digest;
}

int DaemonApplication::main(const std::vector<std::string>&)
{
    if (helpRequested_) {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(identity_.name);
        help.setUsage("[--config FILE]");
        help.setHeader(identity_.summary);
        help.setFooter("Default configuration: " + identity_.defaultConfig + "\nVersion " BOXOFFICE_VERSION);
        help.format(std::cout);
        return EXIT_OK;
    }
    // Termination signals are taken by waitForTerminationRequest() with sigwait.
    // Block them now, before any thread starts, so every thread inherits the
    // mask: otherwise a SIGTERM arriving early (systemd may send it right after
    // READY=1) or landing on a worker thread kills the process uncleanly.
    sigset_t termination;
    sigemptyset(&termination);
    sigaddset(&termination, SIGINT);
    sigaddset(&termination, SIGTERM);
    sigaddset(&termination, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &termination, nullptr);

    try {
        loadConfiguration();
        setUpLogging();
    } catch (const ConfigError& error) {
        std::cerr << identity_.name << ": " << error.what() << "\n";
        return kExitConfig;
    }
    auto& log = Poco::Logger::get("boxoffice." + identity_.name);
    SystemdNotifier systemd;
    try {
        rpc::Dispatcher dispatcher(Poco::Logger::get("boxoffice.rpc"));
        rpc::TokenStore tokens;
        for (int i = 0; config().has("rpc.tokens[" + std::to_string(i) + "].client"); ++i) {
            const std::string base = "rpc.tokens[" + std::to_string(i) + "]";
            std::set<std::string> scopes;
            for (int j = 0; config().has(base + ".scopes[" + std::to_string(j) + "]"); ++j)
                scopes.insert(config().getString(base + ".scopes[" + std::to_string(j) + "]"));
            try {
                tokens.add(config().getString(base + ".client"), tokenDigest(base), scopes);
            } catch (const Error& error) {
                throw ConfigError("configuration " + configFile_ + ": " + error.what());
            }
        }
        if (tokens.empty()) log.warning("no client tokens configured: the control API will refuse every call");

        dispatcher.addMethod("host.1.version", "read", [this](const rpc::Request&) {
            Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
            out->set("daemon", identity_.name);
            out->set("version", std::string(BOXOFFICE_VERSION));
            out->set("hostApi", kHostApi.toString());
            return Poco::Dynamic::Var(out);
        }, "host");
        addMethods(dispatcher);

        PluginHost::Options hostOptions;
        hostOptions.config = &config();
        hostOptions.dataRoot = path("host.dataDirectory", "/var/lib/boxoffice");
        hostOptions.dispatcher = &dispatcher;
        PluginHost host(hostOptions);
        host.addControlMethods(dispatcher);
        host.loadDirectory(path("host.pluginDirectory", ""));
        host.startAll();

        rpc::ServerOptions rpcOptions;
        rpcOptions.address = config().getString("rpc.address", rpcOptions.address);
        rpcOptions.port = static_cast<std::uint16_t>(config().getUInt("rpc.port", 9998));
        rpcOptions.maxRequestBytes = config().getUInt64("rpc.maxRequestBytes", rpcOptions.maxRequestBytes);
        rpcOptions.requestsPerSecond = config().getDouble("rpc.requestsPerSecond", rpcOptions.requestsPerSecond);
        rpcOptions.requestBurst = config().getDouble("rpc.requestBurst", rpcOptions.requestBurst);
        rpcOptions.failedAuthPerMinute = config().getDouble("rpc.failedAuthPerMinute", rpcOptions.failedAuthPerMinute);
        rpcOptions.failedAuthBurst = config().getDouble("rpc.failedAuthBurst", rpcOptions.failedAuthBurst);
        rpcOptions.maxThreads = config().getInt("rpc.maxThreads", rpcOptions.maxThreads);
        rpcOptions.maxWebSockets = config().getInt("rpc.maxWebSockets", rpcOptions.maxWebSockets);
        rpcOptions.staticRoot = path("rpc.webRoot", "");
        rpc::Server server(dispatcher, tokens, rpcOptions, Poco::Logger::get("boxoffice.rpc"));
        server.start();
        if (const auto portFile = path("rpc.portFile", ""); !portFile.empty()) {
            const auto temporary = portFile.string() + ".tmp";
            std::ofstream(temporary) << server.port() << "\n";
            std::filesystem::rename(temporary, portFile);
        }

        std::size_t running = 0;
        for (const auto& info : host.plugins()) running += info.state == PluginState::Activated;
        const std::string status = std::to_string(running) + " plugins running, control API on port " +
                                   std::to_string(server.port());
        log.information("ready: %s", status);
        systemd.ready(status);

        waitForTerminationRequest();

        log.information("stopping");
        systemd.stopping();
        server.stop();
        host.stopAll();
        log.information("stopped");
        return EXIT_OK;
    } catch (const ConfigError& error) {
        log.fatal(error.what());
        return kExitConfig;
    } catch (const Error& error) {
        log.fatal(error.what());
        return kExitInternal;
    } catch (const Poco::Exception& error) {
        log.fatal(error.displayText());
        return kExitInternal;
    }
}

} // namespace boxoffice::host

#if defined(__SANITIZE_ADDRESS__)
// In sanitizer builds only: GLib, GObject and GStreamer (loaded by the
// descrambler plugin) allocate their type system once and never free it;
// LeakSanitizer would fail every daemon run at exit. Nothing of ours is hidden.
extern "C" __attribute__((visibility("default"))) const char* __lsan_default_suppressions()
{
    return "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libgstreamer-1.0.so\n";
}
#endif
