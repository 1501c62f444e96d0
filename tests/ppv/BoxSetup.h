#pragma once
// The STB side of the flow tests: the plugins of a box (the real libraries) in a
// PluginHost, with one set of settings for every fixture, so the flow-3 and flow-5
// tests run the same box and differ only where their flows do.

#include "ServerProcess.h" // tests/server: the real server and its development keys

#include <boxoffice/host/PluginHost.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>

namespace boxoffice::ppv::test {

// `device`'s identity (development keys) for billing, ppv and sync; EUR billing; PIN 2468
// (cheap to derive); the bluetooth radio on `busAddress` called `radioName`; ev-final
// broadcast as DVB event 7. No line: see giveLine.
inline Poco::AutoPtr<Poco::Util::MapConfiguration> boxConfig(const std::string& device, const std::string& busAddress,
                                                             const std::string& radioName)
{
    const auto& keys = server::test::DevKeys::get().dir;
    Poco::AutoPtr<Poco::Util::MapConfiguration> c = new Poco::Util::MapConfiguration;
    for (const auto* plugin : {"billing", "ppv", "sync"}) {
        const std::string p = std::string("plugins.") + plugin + ".";
        c->setString(p + "deviceDirectory", (keys / "devices" / device).string());
        c->setString(p + "trustAnchor", (keys / "root/root.json").string());
    }
    c->setString("plugins.billing.currency", "EUR");
    c->setString("plugins.ppv.pin.initial", "2468");
    c->setInt("plugins.ppv.pin.iterations", 1000);
    c->setString("plugins.bluetooth.busAddress", busAddress);
    c->setString("plugins.bluetooth.name", radioName);
    c->setDouble("plugins.bluetooth.pairingTimeoutSeconds", 5);
    c->setDouble("plugins.bluetooth.linkConfirmTimeoutSeconds", 5);
    c->setString("plugins.ppv.broadcast.ev-final.uri", "udp://127.0.0.1:5004");
    c->setInt("plugins.ppv.broadcast.ev-final.dvbEventId", 7);
    return c;
}

// The box's line (the sync plugin) to `server`, over mTLS.
inline void giveLine(Poco::Util::MapConfiguration& c, const server::test::ServerProcess& server)
{
    c.setString("plugins.sync.host", "localhost");
    c.setInt("plugins.sync.port", server.port());
    const auto certificate = (server::test::DevKeys::get().dir / "server/server.cert").string();
    c.setString("plugins.sync.serverCertificate", certificate);
    c.setString("plugins.ppv.serverCertificate", certificate);   // verifies the server's time and revocations
}

// A PluginHost with the real STB plugin libraries `names`, started.
inline std::unique_ptr<host::PluginHost> startBox(Poco::Util::AbstractConfiguration& c, const std::filesystem::path& data,
                                                  rpc::Dispatcher& methods, std::initializer_list<const char*> names)
{
    host::PluginHost::Options options;
    options.config = &c;
    options.dataRoot = data;
    options.dispatcher = &methods;
    auto box = std::make_unique<host::PluginHost>(options);
    const auto plugins = std::filesystem::path(std::getenv("BOXOFFICE_BUILD_DIR")) / "lib/boxoffice/plugins";
    for (const auto* name : names) box->load(plugins / (std::string("libboxoffice-") + name + ".so"));
    box->startAll();
    return box;
}

} // namespace boxoffice::ppv::test
