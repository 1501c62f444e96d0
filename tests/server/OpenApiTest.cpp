// Every route the server registers is in server/openapi/boxoffice-server.yaml
// with its method and security, and the document names no route that does not exist.

#include "DevKeys.h"
#include "ServerBackend.h"

#include <boxoffice/serverapi/Server.h>
#include <boxoffice/serversync/Routes.h>
#include <boxoffice/settlement/Routes.h>
#include <boxoffice/trust/KeyFiles.h>

#include <Poco/Logger.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

using namespace boxoffice;
using boxoffice::server::test::DevKeys;
using boxoffice::server::test::ScratchDir;

namespace {

// path -> method -> security scheme ("" for none), read from the YAML's fixed layout.
std::map<std::string, std::map<std::string, std::string>> documented()
{
    std::ifstream in(BOXOFFICE_OPENAPI_DOCUMENT);
    std::map<std::string, std::map<std::string, std::string>> out;
    std::string line, path, method;
    bool inPaths = false;
    while (std::getline(in, line)) {
        if (line == "paths:") { inPaths = true; continue; }
        if (!inPaths) continue;
        if (line.rfind("  /", 0) == 0 && line.back() == ':') {
            path = line.substr(2, line.size() - 3);
            continue;
        }
        if (line.size() > 4 && line.rfind("    ", 0) == 0 && line[4] != ' ' && line.back() == ':') {
            method = line.substr(4, line.size() - 5);
            out[path][method] = "";
            continue;
        }
        const auto at = line.find("security: [{");
        if (at != std::string::npos && !path.empty()) {
            const auto start = at + 12;
            out[path][method] = line.substr(start, line.find(':', start) - start);
        }
    }
    return out;
}

std::string lower(std::string s)
{
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

TEST(OpenApi, DocumentsEveryRegisteredRouteAndNothingElse) {
    const auto& keys = DevKeys::get();
    ScratchDir dir;
    storage::Database db("sqlite:" + (dir.path() / "s.db").string());
    serverapi::ServerOptions o;
    serverapi::Server server(o, db, Poco::Logger::get("test"));
    ledger::Ledger ledger(db);
    settlement::Settlement settlement(ledger, settlement::Keys::load(keys.dir));
    const auto signer = trust::loadServerSigner(keys.dir / "server");
    settlement::addRoutes(server, settlement, signer, "settlement");
    serversync::HistorySync sync(ledger, serversync::ServerKeys::load(keys.dir));
    serversync::addRoutes(server, sync, "sync");

    const auto doc = documented();
    ASSERT_FALSE(doc.empty());
    std::set<std::pair<std::string, std::string>> registered;
    for (const auto& r : server.routes()) {
        registered.insert({r.pattern, lower(r.method)});
        auto path = doc.find(r.pattern);
        ASSERT_NE(path, doc.end()) << r.pattern << " is not in the OpenAPI document";
        auto method = path->second.find(lower(r.method));
        ASSERT_NE(method, path->second.end()) << r.method << " " << r.pattern << " is not documented";
        const std::string expected = r.auth == serverapi::Auth::None ? "" : std::string(serverapi::toString(r.auth));
        EXPECT_EQ(method->second, expected) << r.method << " " << r.pattern << ": documented security";
    }
    for (const auto& [path, methods] : doc)
        for (const auto& [method, security] : methods)
            EXPECT_TRUE(registered.count({path, method})) << method << " " << path << " is documented but not served";
}

} // namespace
