#include <boxoffice/host/PluginHost.h>

#include "PluginContextImpl.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/host/Plugin.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/SharedLibrary.h>
#include <Poco/Util/MapConfiguration.h>

#include <algorithm>
#include <map>
#include <functional>
#include <set>

namespace boxoffice::host {

const char* toString(PluginState state)
{
    switch (state) {
    case PluginState::Deactivated: return "deactivated";
    case PluginState::Activated: return "activated";
    case PluginState::Failed: return "failed";
    case PluginState::Blocked: return "blocked";
    }
    return "unknown";
}

namespace {

using ApiVersionFn = std::uint32_t (*)() noexcept;
using ManifestFn = const BoxOfficePluginManifest* (*)() noexcept;
using CreateFn = Plugin* (*)() noexcept;
using DestroyFn = void (*)(Plugin*) noexcept;

std::vector<std::string> names(const char* const* list)
{
    std::vector<std::string> out;
    for (; list && *list; ++list) out.emplace_back(*list);
    return out;
}

bool validPluginName(const std::string& name)
{
    if (name.empty() || name.size() > 63 || name[0] < 'a' || name[0] > 'z') return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

// Plugin libraries stay mapped for the life of the process (see PluginHost.h).
// Poco::SharedLibrary's destructor does not unload, so the handles are simply
// kept here; a second host loading the same path reuses them.
Poco::SharedLibrary& openLibrary(const std::filesystem::path& path)
{
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<Poco::SharedLibrary>> libraries;
    std::lock_guard lock(mutex);
    auto& library = libraries[path.string()];
    // Local scope: plugins must not resolve each other's symbols.
    if (!library) library = std::make_unique<Poco::SharedLibrary>(path.string(), Poco::SharedLibrary::SHLIB_LOCAL);
    return *library;
}

} // namespace

struct PluginHost::Entry {
    PluginInfo info;       // guarded by Impl::infoMutex
    bool loadable = false; // the library loaded and both version checks passed
    bool enabled = true;
    CreateFn create = nullptr;
    DestroyFn destroy = nullptr;
    Plugin* instance = nullptr;
    std::unique_ptr<PluginContextImpl> context;
    std::vector<Entry*> dependencies;  // resolved providers of every need
};

struct PluginHost::Impl {
    explicit Impl(Options o) : options(std::move(o)), logger(Poco::Logger::get(options.loggerPrefix + ".host"))
    {
        if (!options.dispatcher) throw Error(ErrorCode::InvalidArgument, "the plugin host needs a JSON-RPC dispatcher");
        if (!options.config) {
            ownConfig = new Poco::Util::MapConfiguration;
            options.config = ownConfig.get();
        }
    }

    Options options;
    Poco::Logger& logger;
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> ownConfig;
    ServiceRegistry registry;
    mutable std::mutex infoMutex;        // PluginInfo of every entry
    std::recursive_mutex lifecycleMutex; // one state change at a time
    std::vector<std::unique_ptr<Entry>> entries;
    std::vector<Entry*> startOrder;
    std::vector<Entry*> activationOrder;  // currently activated, in activation order

    Entry* find(const std::string& name)
    {
        for (auto& e : entries)
            if (e->info.name == name && e->loadable) return e.get();
        for (auto& e : entries)
            if (e->info.name == name) return e.get();
        return nullptr;
    }

    void setState(Entry& e, PluginState state, std::string reason)
    {
        std::lock_guard lock(infoMutex);
        e.info.state = state;
        e.info.reason = std::move(reason);
    }

    void fail(Entry& e, const std::string& reason)
    {
        logger.error("plugin %s: %s", e.info.name, reason);
        setState(e, PluginState::Failed, reason);
    }

    void loadLibrary(const std::filesystem::path& path);
    void resolve();
    std::string blockerOf(const Entry& e);
    void initialize(Entry& e);
    void deinitialize(Entry& e, const std::string& why);
    bool dependsOn(const Entry& e, const Entry& target) const;
};

void PluginHost::Impl::loadLibrary(const std::filesystem::path& path)
{
    auto entry = std::make_unique<Entry>();
    Entry& e = *entry;
    e.info.library = path;
    e.info.name = path.stem().string();
    entries.push_back(std::move(entry));

    Poco::SharedLibrary* library = nullptr;
    try {
        library = &openLibrary(path);
    } catch (const Poco::Exception& error) {
        fail(e, "cannot load library " + path.string() + ": " + error.displayText());
        return;
    }
    for (const char* symbol : {kEntryApiVersion, kEntryManifest, kEntryCreate, kEntryDestroy}) {
        if (!library->hasSymbol(symbol)) {
            fail(e, "not a BoxOffice plugin: " + path.string() + " lacks " + symbol);
            return;
        }
    }
    const auto apiVersion = reinterpret_cast<ApiVersionFn>(library->getSymbol(kEntryApiVersion));
    const auto manifestFn = reinterpret_cast<ManifestFn>(library->getSymbol(kEntryManifest));
    e.create = reinterpret_cast<CreateFn>(library->getSymbol(kEntryCreate));
    e.destroy = reinterpret_cast<DestroyFn>(library->getSymbol(kEntryDestroy));

    const ApiVersion builtAgainst = ApiVersion::unpack(apiVersion());
    const BoxOfficePluginManifest* manifest = manifestFn();
    if (!manifest || !manifest->name || !manifest->version) {
        fail(e, "plugin library " + path.string() + " has an incomplete manifest");
        return;
    }
    {
        std::lock_guard lock(infoMutex);
        e.info.name = manifest->name;
        e.info.version = manifest->version;
        e.info.description = manifest->description ? manifest->description : "";
        e.info.needs = names(manifest->needs);
        e.info.provides = names(manifest->provides);
        e.info.builtAgainst = builtAgainst;
        e.info.hostApiMin = ApiVersion::unpack(manifest->hostApiMin);
        e.info.hostApiMax = ApiVersion::unpack(manifest->hostApiMax);
    }
    const std::string who = "plugin '" + e.info.name + "' " + e.info.version;
    if (!validPluginName(e.info.name)) {
        fail(e, "plugin name '" + e.info.name + "' in " + path.string() + " is not [a-z][a-z0-9-]*");
        return;
    }
    const ApiVersion host = options.hostApi;
    if (builtAgainst.major != host.major || builtAgainst > host || builtAgainst < options.oldestPluginApi) {
        fail(e, "host refuses " + who + ": it was built against host API " + builtAgainst.toString() +
                    ", this host provides API " + host.toString() + " and accepts plugins built against " +
                    options.oldestPluginApi.toString() + " to " + host.toString());
        return;
    }
    if (host < e.info.hostApiMin || host > e.info.hostApiMax) {
        fail(e, who + " refuses this host: it works with host API " + e.info.hostApiMin.toString() + " to " +
                    e.info.hostApiMax.toString() + ", this host provides " + host.toString());
        return;
    }
    for (const auto& other : entries) {
        if (other.get() != &e && other->loadable && other->info.name == e.info.name) {
            fail(e, "duplicate plugin name '" + e.info.name + "': already loaded from " + other->info.library.string());
            return;
        }
    }
    e.loadable = true;
    e.enabled = options.config->getBool("plugins." + e.info.name + ".enabled", true);
    if (!e.enabled) setState(e, PluginState::Deactivated, "disabled in configuration");
    logger.information("loaded %s from %s", who, path.string());
}

void PluginHost::Impl::resolve()
{
    startOrder.clear();
    // Who provides what: a plugin provides its name and its declared capabilities.
    std::map<std::string, std::vector<Entry*>> providers;
    for (auto& e : entries) {
        if (!e->loadable) continue;
        providers[e->info.name].push_back(e.get());
        for (const auto& capability : e->info.provides) providers[capability].push_back(e.get());
    }
    std::vector<Entry*> unresolved;
    for (auto& e : entries) {
        if (!e->loadable) continue;
        e->dependencies.clear();
        for (const auto& need : e->info.needs) {
            const auto found = providers.find(need);
            if (found == providers.end()) {
                if (e->info.state != PluginState::Activated)
                    setState(*e, PluginState::Blocked, "missing dependency '" + need + "'");
                unresolved.push_back(e.get());
                continue;
            }
            for (Entry* provider : found->second)
                if (provider != e.get()) e->dependencies.push_back(provider);
        }
    }

    // Depth-first topological sort; a back edge is a cycle, reported by name.
    enum class Mark { None, Visiting, Done };
    std::map<Entry*, Mark> marks;
    std::vector<Entry*> path;
    std::set<Entry*> inCycle;
    std::function<void(Entry*)> visit = [&](Entry* e) {
        if (marks[e] == Mark::Done) return;
        if (marks[e] == Mark::Visiting) {
            const auto start = std::find(path.begin(), path.end(), e);
            std::string cycle;
            for (auto it = start; it != path.end(); ++it) cycle += (*it)->info.name + " -> ";
            cycle += e->info.name;
            for (auto it = start; it != path.end(); ++it) {
                inCycle.insert(*it);
                setState(**it, PluginState::Blocked, "dependency cycle: " + cycle);
            }
            return;
        }
        marks[e] = Mark::Visiting;
        path.push_back(e);
        for (Entry* dependency : e->dependencies) visit(dependency);
        path.pop_back();
        marks[e] = Mark::Done;
        startOrder.push_back(e);
    };
    for (auto& e : entries)
        if (e->loadable) visit(e.get());
    std::erase_if(startOrder, [&](Entry* e) { return inCycle.contains(e); });
    for (Entry* e : unresolved) std::erase(startOrder, e);
}

// Why `e` cannot start now, or empty when its dependencies all run.
std::string PluginHost::Impl::blockerOf(const Entry& e)
{
    for (const Entry* dependency : e.dependencies) {
        std::lock_guard lock(infoMutex);
        if (dependency->info.state == PluginState::Activated) continue;
        std::string why = "dependency '" + dependency->info.name + "' is " + toString(dependency->info.state);
        if (!dependency->info.reason.empty()) why += " (" + dependency->info.reason + ")";
        return why;
    }
    return {};
}

void PluginHost::Impl::initialize(Entry& e)
{
    const std::string& name = e.info.name;
    Plugin* plugin = e.create();
    if (!plugin) {
        fail(e, "the plugin's factory failed");
        return;
    }
    auto config = Poco::AutoPtr<Poco::Util::AbstractConfiguration>(
        const_cast<Poco::Util::AbstractConfiguration*>(options.config)->createView("plugins." + name));
    e.context = std::make_unique<PluginContextImpl>(name, options.hostApi, config,
                                                    Poco::Logger::get(options.loggerPrefix + "." + name), registry,
                                                    *options.dispatcher, options.dataRoot / name);
    std::string reason;
    try {
        reason = plugin->initialize(*e.context);
    } catch (const std::exception& error) {
        reason = std::string("initialize threw: ") + error.what();
    } catch (...) {
        reason = "initialize threw a non-standard exception";
    }
    if (!reason.empty()) {
        options.dispatcher->removeOwner(name);
        registry.withdrawAll(name);
        e.destroy(plugin);
        e.context.reset();
        fail(e, reason);
        return;
    }
    e.instance = plugin;
    activationOrder.push_back(&e);
    setState(e, PluginState::Activated, "");
    logger.information("activated %s %s", name, e.info.version);
}

void PluginHost::Impl::deinitialize(Entry& e, const std::string& why)
{
    const std::string& name = e.info.name;
    // No new calls, and the ones in flight finish before teardown.
    options.dispatcher->removeOwner(name);
    try {
        e.instance->deinitialize();
    } catch (const std::exception& error) {
        logger.error("plugin %s: deinitialize threw: %s", name, std::string(error.what()));
    } catch (...) {
        logger.error("plugin %s: deinitialize threw a non-standard exception", name);
    }
    for (const auto& id : registry.withdrawAll(name))
        logger.warning("plugin %s left service %s published; withdrawn", name, id);
    e.destroy(e.instance);
    e.instance = nullptr;
    e.context.reset();
    std::erase(activationOrder, &e);
    setState(e, PluginState::Deactivated, why);
    logger.information("deactivated %s", name);
}

bool PluginHost::Impl::dependsOn(const Entry& e, const Entry& target) const
{
    for (const Entry* dependency : e.dependencies)
        if (dependency == &target || dependsOn(*dependency, target)) return true;
    return false;
}

PluginHost::PluginHost(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

PluginHost::~PluginHost()
{
    stopAll();
}

void PluginHost::loadDirectory(const std::filesystem::path& directory)
{
    std::error_code ec;
    std::vector<std::filesystem::path> libraries;
    for (const auto& item : std::filesystem::directory_iterator(directory, ec)) {
        const auto file = item.path().filename().string();
        if (item.is_regular_file() && file.starts_with("lib") && item.path().extension() == ".so")
            libraries.push_back(item.path());
    }
    if (ec) throw Error(ErrorCode::Io, "cannot read plugin directory " + directory.string() + ": " + ec.message());
    std::sort(libraries.begin(), libraries.end());
    for (const auto& library : libraries) load(library);
}

void PluginHost::load(const std::filesystem::path& library)
{
    std::lock_guard lock(impl_->lifecycleMutex);
    impl_->loadLibrary(library);
}

void PluginHost::startAll()
{
    std::lock_guard lock(impl_->lifecycleMutex);
    impl_->resolve();
    for (Entry* e : impl_->startOrder) {
        if (!e->enabled || e->instance) continue;
        if (const auto blocker = impl_->blockerOf(*e); !blocker.empty()) {
            impl_->logger.warning("plugin %s stays down: %s", e->info.name, blocker);
            impl_->setState(*e, PluginState::Blocked, blocker);
            continue;
        }
        impl_->initialize(*e);
    }
}

void PluginHost::stopAll()
{
    std::lock_guard lock(impl_->lifecycleMutex);
    while (!impl_->activationOrder.empty()) impl_->deinitialize(*impl_->activationOrder.back(), "");
}

void PluginHost::activate(const std::string& name)
{
    std::lock_guard lock(impl_->lifecycleMutex);
    Entry* e = impl_->find(name);
    if (!e) throw Error(ErrorCode::NotFound, "no plugin named '" + name + "'");
    if (e->instance) return;
    if (!e->loadable) throw Error(ErrorCode::Unavailable, "plugin '" + name + "' cannot run: " + e->info.reason);
    impl_->resolve();
    if (std::find(impl_->startOrder.begin(), impl_->startOrder.end(), e) == impl_->startOrder.end())
        throw Error(ErrorCode::Unavailable, "plugin '" + name + "' cannot run: " + e->info.reason);
    for (Entry* dependency : e->dependencies) activate(dependency->info.name);
    impl_->initialize(*e);
    if (!e->instance) throw Error(ErrorCode::Unavailable, "plugin '" + name + "' failed to start: " + e->info.reason);
}

void PluginHost::deactivate(const std::string& name)
{
    std::lock_guard lock(impl_->lifecycleMutex);
    Entry* e = impl_->find(name);
    if (!e) throw Error(ErrorCode::NotFound, "no plugin named '" + name + "'");
    if (!e->instance) return;
    // Dependents first, latest activated first.
    const auto order = impl_->activationOrder;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (*it != e && impl_->dependsOn(**it, *e)) impl_->deinitialize(**it, "stopped with its dependency '" + name + "'");
    }
    impl_->deinitialize(*e, "");
}

std::vector<PluginInfo> PluginHost::plugins() const
{
    std::lock_guard lock(impl_->infoMutex);
    std::vector<PluginInfo> out;
    std::set<const Entry*> listed;
    for (const Entry* e : impl_->startOrder) {
        out.push_back(e->info);
        listed.insert(e);
    }
    for (const auto& e : impl_->entries)
        if (!listed.contains(e.get())) out.push_back(e->info);
    return out;
}

PluginState PluginHost::state(const std::string& name) const
{
    std::lock_guard lock(impl_->infoMutex);
    for (const auto& e : impl_->entries)
        if (e->info.name == name && e->loadable) return e->info.state;
    for (const auto& e : impl_->entries)
        if (e->info.name == name) return e->info.state;
    throw Error(ErrorCode::NotFound, "no plugin named '" + name + "'");
}

ServiceRegistry& PluginHost::services()
{
    return impl_->registry;
}

const std::string& PluginHost::loggerPrefix() const
{
    return impl_->options.loggerPrefix;
}

} // namespace boxoffice::host
