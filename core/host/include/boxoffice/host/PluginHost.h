#pragma once
// Loads plugin libraries, resolves their dependencies and runs their lifecycle.
//
// States: Deactivated (loaded, not running), Activated, Failed (its own load,
// version check or initialize failed; the reason says which), Blocked (a
// dependency is missing, failed or forms a cycle). A failure never takes down
// plugins that do not depend on the failed one. Libraries are never unloaded:
// code of a plugin may still run (threads, callbacks, shared_ptr deleters)
// after deinitialize, so its text stays mapped for the life of the process.

#include <boxoffice/host/ApiVersion.h>
#include <boxoffice/host/ServiceRegistry.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <Poco/Util/AbstractConfiguration.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace boxoffice::host {

enum class PluginState { Deactivated, Activated, Failed, Blocked };
const char* toString(PluginState state);

struct PluginInfo {
    std::string name;
    std::string version;
    std::string description;
    std::filesystem::path library;
    PluginState state = PluginState::Deactivated;
    std::string reason;  // why Failed/Blocked/disabled; empty otherwise
    std::vector<std::string> needs;
    std::vector<std::string> provides;
    ApiVersion builtAgainst;
    ApiVersion hostApiMin;
    ApiVersion hostApiMax;
};

class PluginHost {
public:
    struct Options {
        // Root configuration; each plugin gets "plugins.<name>". Must outlive the host.
        const Poco::Util::AbstractConfiguration* config = nullptr;
        std::filesystem::path dataRoot;     // per-plugin data directories live below
        rpc::Dispatcher* dispatcher = nullptr;
        std::string loggerPrefix = "boxoffice";
        ApiVersion hostApi = kHostApi;      // tests pretend to be other hosts
        ApiVersion oldestPluginApi = kOldestPluginApi;
    };

    explicit PluginHost(Options options);
    ~PluginHost();  // stops every plugin
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    // Loads every lib*.so of `directory` in name order. A library that cannot be
    // loaded is listed as Failed with the reason, never thrown.
    void loadDirectory(const std::filesystem::path& directory);
    void load(const std::filesystem::path& library);

    // Starts every enabled plugin in dependency order.
    void startAll();
    // Stops every running plugin, dependents before their dependencies.
    void stopAll();

    // Activates `name` after its dependencies; throws Error naming why not.
    void activate(const std::string& name);
    // Deactivates `name` after every plugin that depends on it.
    void deactivate(const std::string& name);

    // Plugins in start order.
    std::vector<PluginInfo> plugins() const;
    PluginState state(const std::string& name) const;

    ServiceRegistry& services();
    const std::string& loggerPrefix() const;

    // Registers host.1.plugins / activate / deactivate / logLevel methods.
    void addControlMethods(rpc::Dispatcher& dispatcher);

private:
    struct Entry;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace boxoffice::host
