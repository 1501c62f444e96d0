#pragma once
// The contract between the plugin host and a plugin.
//
// A plugin is a shared library that exports three C functions (the
// BOXOFFICE_PLUGIN macro writes them): its API version, its manifest, and a
// factory. The host reads the first two through the C ABI only, so an
// incompatible plugin is refused before any C++ type crosses the boundary.
//
// Lifecycle: initialize(context) returns an empty string when the plugin runs,
// otherwise the reason it cannot; nothing else is called after a failure, so a
// plugin undoes its own partial work before returning one. deinitialize() is
// the exact inverse of a successful initialize(). No exception may leave
// either; the host catches them anyway and marks the plugin failed. JSON-RPC
// methods and events added through the context are withdrawn by the host (after
// calls in flight finish) before deinitialize() runs; services the plugin
// published it withdraws itself.

#include <boxoffice/host/ApiVersion.h>
#include <boxoffice/host/ServiceRegistry.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/Logger.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <filesystem>
#include <string>

extern "C" {

// Null-terminated lists of names.
struct BoxOfficePluginManifest {
    const char* name;                // lower-case, [a-z0-9-], also a capability
    const char* version;             // the plugin's own semantic version
    std::uint32_t hostApiMin;        // packed ApiVersion: oldest host it works with
    std::uint32_t hostApiMax;        // packed ApiVersion: newest host it works with
    const char* const* needs;        // plugin names or capabilities it requires
    const char* const* provides;     // capabilities it offers besides its name
    const char* description;
};

}

namespace boxoffice::host {

class PluginContext {
public:
    virtual ~PluginContext() = default;

    virtual const std::string& pluginName() const = 0;
    virtual ApiVersion hostApi() const = 0;
    // The plugin's own section ("plugins.<name>" of the daemon's configuration).
    virtual const Poco::Util::AbstractConfiguration& config() const = 0;
    virtual Poco::Logger& logger() const = 0;
    virtual ServiceRegistry& services() = 0;
    // A directory only this plugin writes, kept across restarts (mode 0700).
    virtual std::filesystem::path dataDirectory() const = 0;

    // JSON-RPC: `method` and `event` must start with "<pluginName>.".
    virtual void addMethod(const std::string& method, const std::string& scope, rpc::Handler handler) = 0;
    virtual void addEvent(const std::string& event, const std::string& scope) = 0;
    virtual void emit(const std::string& event, const Poco::Dynamic::Var& params) = 0;
};

class Plugin {
public:
    virtual ~Plugin() = default;
    virtual std::string initialize(PluginContext& context) = 0;
    virtual void deinitialize() = 0;
};

// The names of the C entry points, for the loader.
inline constexpr const char* kEntryApiVersion = "boxoffice_plugin_api_version";
inline constexpr const char* kEntryManifest = "boxoffice_plugin_manifest";
inline constexpr const char* kEntryCreate = "boxoffice_plugin_create";
inline constexpr const char* kEntryDestroy = "boxoffice_plugin_destroy";

} // namespace boxoffice::host

// Works with every host of the same major API version from the one compiled against.
#define BOXOFFICE_HOST_API_RANGE_MIN ((BOXOFFICE_HOST_API_MAJOR << 16) | BOXOFFICE_HOST_API_MINOR)
#define BOXOFFICE_HOST_API_RANGE_MAX ((BOXOFFICE_HOST_API_MAJOR << 16) | 0xffff)

#ifndef BOXOFFICE_PLUGIN_BUILT_AGAINST
#define BOXOFFICE_PLUGIN_BUILT_AGAINST ((BOXOFFICE_HOST_API_MAJOR << 16) | BOXOFFICE_HOST_API_MINOR)
#endif

// Declares the plugin class and its manifest. Use once per plugin library:
//   static const char* const kNeeds[] = {"billing", nullptr};
//   static const char* const kProvides[] = {"purchase", nullptr};
//   BOXOFFICE_PLUGIN(PpvPlugin, (BoxOfficePluginManifest{"ppv", "1.0.0",
//       BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX, kNeeds, kProvides, "..."}))
#define BOXOFFICE_PLUGIN(PluginClass, ManifestExpr)                                                        \
    extern "C" __attribute__((visibility("default"))) std::uint32_t boxoffice_plugin_api_version() noexcept \
    {                                                                                                      \
        return BOXOFFICE_PLUGIN_BUILT_AGAINST;                                                             \
    }                                                                                                      \
    extern "C" __attribute__((visibility("default"))) const BoxOfficePluginManifest*                       \
    boxoffice_plugin_manifest() noexcept                                                                   \
    {                                                                                                      \
        static const BoxOfficePluginManifest manifest = ManifestExpr;                                      \
        return &manifest;                                                                                  \
    }                                                                                                      \
    extern "C" __attribute__((visibility("default"))) boxoffice::host::Plugin* boxoffice_plugin_create() noexcept \
    {                                                                                                      \
        try {                                                                                              \
            return new PluginClass();                                                                      \
        } catch (...) {                                                                                    \
            return nullptr;                                                                                \
        }                                                                                                  \
    }                                                                                                      \
    extern "C" __attribute__((visibility("default"))) void boxoffice_plugin_destroy(                       \
        boxoffice::host::Plugin* plugin) noexcept                                                          \
    {                                                                                                      \
        delete plugin;                                                                                     \
    }
