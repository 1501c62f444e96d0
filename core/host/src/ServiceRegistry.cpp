#include <boxoffice/host/ServiceRegistry.h>

namespace boxoffice::host {

void ServiceRegistry::publishRaw(const std::string& id, std::shared_ptr<void> service, const std::string& owner)
{
    if (!service) throw Error(ErrorCode::InvalidArgument, "cannot publish an empty " + id);
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(id);
    if (found != entries_.end())
        throw Error(ErrorCode::AlreadyExists, "service " + id + " is already published by " + found->second.owner);
    entries_.emplace(id, Entry{std::move(service), owner});
}

std::shared_ptr<void> ServiceRegistry::findRaw(const std::string& id) const
{
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(id);
    return found == entries_.end() ? nullptr : found->second.service;
}

void ServiceRegistry::withdrawRaw(const std::string& id, const std::string& owner)
{
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(id);
    if (found == entries_.end()) return;
    if (found->second.owner != owner)
        throw Error(ErrorCode::PermissionDenied, owner + " cannot withdraw " + id + " published by " + found->second.owner);
    entries_.erase(found);
}

std::vector<std::string> ServiceRegistry::withdrawAll(const std::string& owner)
{
    std::vector<std::string> withdrawn;
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.owner == owner) {
            withdrawn.push_back(it->first);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    return withdrawn;
}

std::vector<std::string> ServiceRegistry::ids() const
{
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [id, entry] : entries_) out.push_back(id);
    return out;
}

} // namespace boxoffice::host
