#pragma once
// The service server plugins register their REST routes with (published by
// the `https` plugin). Routes are withdrawn by owner when a plugin stops.

#include <boxoffice/serverapi/Route.h>

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/P256.h>
#include <boxoffice/trust/Revocation.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::serverapi {

// Looks up a registered phone's current key; nothing for unknown/unregistered phones.
using PhoneKeyLookup = std::function<std::optional<crypto::P256PublicKey>(const std::string& phoneId)>;
// Decides whether a device (TLS client certificate CN) may call: throws
// Error(Revoked / PermissionDenied) to refuse. The server already checked the
// TLS chain and the revocation list.
using DeviceCheck = std::function<void(const std::string& deviceId)>;

class Router {
public:
    static constexpr const char* kServiceId = "boxoffice.server.Router/1";
    virtual ~Router() = default;

    // Error(AlreadyExists) if the same method and pattern is registered already.
    virtual void add(Route route) = 0;
    // Removes the owner's routes and metrics, then waits for its requests in flight, so
    // that the plugin can be torn down after it returns (not to be called from one of them).
    virtual void removeOwner(const std::string& owner) = 0;
    virtual std::vector<Route> routes() const = 0;

    // More Prometheus text for GET /metrics from a plugin (e.g. counts read from the
    // shared database, so every server process reports the same totals); withdrawn
    // with the owner's routes. A source that throws is reported as a comment line.
    using MetricsSource = std::function<std::string()>;
    virtual void addMetrics(const std::string& owner, MetricsSource source) = 0;

    virtual void setPhoneKeyLookup(PhoneKeyLookup lookup) = 0;
    virtual void setDeviceCheck(DeviceCheck check) = 0;

    // The operator root's revocation list the server started with, for the plugins'
    // checks of the certificates they hold (registered devices and phones);
    // nullptr without one. Lives as long as the router.
    virtual const trust::RevocationState* revocations() const = 0;
    // That list as loaded from its file (the root's signature included), for the STBs
    // (GET /v1/stb/revocations); nothing without one.
    virtual std::optional<Bytes> rootRevocationList() const = 0;
};

} // namespace boxoffice::serverapi
