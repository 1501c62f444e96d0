#pragma once
// Typed service registry: plugins publish interfaces, others find them.
//
// An interface names itself with a static `kServiceId` ("boxoffice.billing.Ledger/1");
// the id, not RTTI, identifies it, because plugins are loaded with local symbol
// scope and type_info may differ between libraries.
//
//   struct Ledger { static constexpr const char* kServiceId = "boxoffice.billing.Ledger/1"; ... };
//   context.services().publish<Ledger>(ledger, context.pluginName());
//   auto ledger = context.services().find<Ledger>();   // nullptr when absent

#include <boxoffice/base/Error.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace boxoffice::host {

class ServiceRegistry {
public:
    template <class Interface>
    void publish(std::shared_ptr<Interface> service, const std::string& owner)
    {
        publishRaw(Interface::kServiceId, std::static_pointer_cast<void>(std::move(service)), owner);
    }

    template <class Interface>
    std::shared_ptr<Interface> find() const
    {
        return std::static_pointer_cast<Interface>(findRaw(Interface::kServiceId));
    }

    // Like find(), but throws Error(Unavailable) naming the service.
    template <class Interface>
    std::shared_ptr<Interface> require() const
    {
        auto service = find<Interface>();
        if (!service)
            throw Error(ErrorCode::Unavailable, std::string("service ") + Interface::kServiceId + " is not available");
        return service;
    }

    template <class Interface>
    void withdraw(const std::string& owner)
    {
        withdrawRaw(Interface::kServiceId, owner);
    }

    // Withdraws what `owner` still has published; returns the ids withdrawn.
    std::vector<std::string> withdrawAll(const std::string& owner);

    std::vector<std::string> ids() const;

private:
    struct Entry {
        std::shared_ptr<void> service;
        std::string owner;
    };

    void publishRaw(const std::string& id, std::shared_ptr<void> service, const std::string& owner);
    std::shared_ptr<void> findRaw(const std::string& id) const;
    void withdrawRaw(const std::string& id, const std::string& owner);

    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

} // namespace boxoffice::host
