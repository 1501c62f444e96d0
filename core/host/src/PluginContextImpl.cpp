#include "PluginContextImpl.h"

#include <boxoffice/base/Error.h>

#include <sys/stat.h>

namespace boxoffice::host {

PluginContextImpl::PluginContextImpl(std::string name, ApiVersion hostApi,
                                     Poco::AutoPtr<Poco::Util::AbstractConfiguration> config, Poco::Logger& logger,
                                     ServiceRegistry& services, rpc::Dispatcher& dispatcher,
                                     std::filesystem::path dataDirectory)
    : name_(std::move(name)), hostApi_(hostApi), config_(std::move(config)), logger_(logger), services_(services),
      dispatcher_(dispatcher), dataDirectory_(std::move(dataDirectory))
{
}

std::filesystem::path PluginContextImpl::dataDirectory() const
{
    std::error_code ec;
    std::filesystem::create_directories(dataDirectory_, ec);
    if (ec) throw Error(ErrorCode::Io, "cannot create " + dataDirectory_.string() + ": " + ec.message());
    ::chmod(dataDirectory_.c_str(), 0700);
    return dataDirectory_;
}

void PluginContextImpl::checkOwnName(const std::string& what, const std::string& name) const
{
    if (name.compare(0, name_.size() + 1, name_ + ".") != 0)
        throw Error(ErrorCode::PermissionDenied,
                    "plugin '" + name_ + "' may only add " + what + "s named " + name_ + ".*, not " + name);
}

void PluginContextImpl::addMethod(const std::string& method, const std::string& scope, rpc::Handler handler)
{
    checkOwnName("method", method);
    dispatcher_.addMethod(method, scope, std::move(handler), name_);
}

void PluginContextImpl::addEvent(const std::string& event, const std::string& scope)
{
    checkOwnName("event", event);
    dispatcher_.addEvent(event, scope, name_);
}

void PluginContextImpl::emit(const std::string& event, const Poco::Dynamic::Var& params)
{
    checkOwnName("event", event);
    dispatcher_.emit(event, params);
}

} // namespace boxoffice::host
