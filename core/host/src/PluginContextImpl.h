#pragma once
// What the host hands one activated plugin.

#include <boxoffice/host/Plugin.h>

#include <Poco/AutoPtr.h>

namespace boxoffice::host {

class PluginContextImpl : public PluginContext {
public:
    PluginContextImpl(std::string name, ApiVersion hostApi, Poco::AutoPtr<Poco::Util::AbstractConfiguration> config,
                      Poco::Logger& logger, ServiceRegistry& services, rpc::Dispatcher& dispatcher,
                      std::filesystem::path dataDirectory);

    const std::string& pluginName() const override { return name_; }
    ApiVersion hostApi() const override { return hostApi_; }
    const Poco::Util::AbstractConfiguration& config() const override { return *config_; }
    Poco::Logger& logger() const override { return logger_; }
    ServiceRegistry& services() override { return services_; }
    std::filesystem::path dataDirectory() const override;

    void addMethod(const std::string& method, const std::string& scope, rpc::Handler handler) override;
    void addEvent(const std::string& event, const std::string& scope) override;
    void emit(const std::string& event, const Poco::Dynamic::Var& params) override;

private:
    void checkOwnName(const std::string& what, const std::string& name) const;

    std::string name_;
    ApiVersion hostApi_;
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> config_;
    Poco::Logger& logger_;
    ServiceRegistry& services_;
    rpc::Dispatcher& dispatcher_;
    std::filesystem::path dataDirectory_;
};

} // namespace boxoffice::host
