#pragma once
// The daemon shell shared by boxofficed (STB) and boxoffice-server: command
// line, JSON configuration, logging, the control API, the plugin host,
// systemd notification and watchdog, and orderly shutdown on SIGTERM/SIGINT.
//
// Configuration (JSON; relative paths are relative to the file's directory):
//   host.pluginDirectory   plugin libraries to load (required)
//   host.dataDirectory     per-plugin persistent data (default /var/lib/boxoffice)
//   logging.level          default level of our loggers (default information)
//   rpc.address, rpc.port  loopback address and port (port 0: pick one)
//   rpc.portFile           where to write the bound port once listening
//   rpc.webRoot            static files served beside /jsonrpc (optional)
//   rpc.maxRequestBytes, rpc.requestsPerSecond, rpc.requestBurst,
//   rpc.failedAuthPerMinute, rpc.failedAuthBurst,
//   rpc.maxThreads, rpc.maxWebSockets     limits, see rpc::ServerOptions
//   rpc.tokens[i].client / .sha256 / .scopes[j]   client tokens (digests only)
//   plugins.<name>.*       each plugin's own section; .enabled=false skips it
// `--set key=value` overrides any key of the file (e.g. --set rpc.port=0).

#include <boxoffice/host/PluginHost.h>
#include <boxoffice/rpc/Dispatcher.h>

#include <Poco/Util/ServerApplication.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::host {

class DaemonApplication : public Poco::Util::ServerApplication {
public:
    struct Identity {
        std::string name;           // "boxofficed"
        std::string summary;        // one line for --help
        std::string defaultConfig;  // used without --config
    };

    explicit DaemonApplication(Identity identity);
    ~DaemonApplication() override;

    // Exit codes (sysexits.h): 0 ok, 64 usage, 78 configuration, 70 internal.
    static int runMain(DaemonApplication& app, int argc, char** argv);

protected:
    // Daemon-specific JSON-RPC methods, registered before plugins start.
    virtual void addMethods(rpc::Dispatcher&) {}

    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    void loadConfiguration();
    std::string tokenDigest(const std::string& tokenKey) const;
    void setUpLogging();
    std::filesystem::path path(const std::string& key, const std::string& fallback) const;

    Identity identity_;
    bool helpRequested_ = false;
    std::string configFile_;
    std::vector<std::pair<std::string, std::string>> overrides_;  // --set key=value
    std::filesystem::path configDirectory_;
};

} // namespace boxoffice::host
