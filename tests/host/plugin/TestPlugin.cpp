// One plugin source, built many times with different manifests and behaviour
// (see tests/host/CMakeLists.txt) to exercise the host with real libraries.

#include "Journal.h"

#include <boxoffice/host/Plugin.h>

#include <stdexcept>

#ifndef TEST_PLUGIN_BEHAVIOUR
#define TEST_PLUGIN_BEHAVIOUR 0  // 0 runs, 1 returns an error, 2 throws std::exception, 3 throws an int
#endif
#ifndef TEST_PLUGIN_HOST_MIN
#define TEST_PLUGIN_HOST_MIN BOXOFFICE_HOST_API_RANGE_MIN
#endif
#ifndef TEST_PLUGIN_HOST_MAX
#define TEST_PLUGIN_HOST_MAX BOXOFFICE_HOST_API_RANGE_MAX
#endif

namespace {

class TestPlugin : public boxoffice::host::Plugin {
public:
    std::string initialize(boxoffice::host::PluginContext& context) override
    {
        journal_ = context.services().find<boxoffice::test::Journal>();
        if (TEST_PLUGIN_BEHAVIOUR == 1) return "configured to fail";
        if (TEST_PLUGIN_BEHAVIOUR == 2) throw std::runtime_error("boom");
        if (TEST_PLUGIN_BEHAVIOUR == 3) throw 42;
        const std::string name = context.pluginName();
        context.addMethod(name + ".1.hello", "read",
                          [name](const boxoffice::rpc::Request&) { return Poco::Dynamic::Var(name); });
        if (journal_) journal_->record("init:" + name + " greeting=" + context.config().getString("greeting", "-"));
        name_ = name;
        return {};
    }

    void deinitialize() override
    {
        if (journal_) journal_->record("deinit:" + name_);
        journal_.reset();
    }

private:
    std::shared_ptr<boxoffice::test::Journal> journal_;
    std::string name_;
};

const char* const kNeeds[] = {TEST_PLUGIN_NEEDS nullptr};
const char* const kProvides[] = {TEST_PLUGIN_PROVIDES nullptr};

} // namespace

BOXOFFICE_PLUGIN(TestPlugin, (BoxOfficePluginManifest{TEST_PLUGIN_NAME, "1.2.3", TEST_PLUGIN_HOST_MIN,
                                                      TEST_PLUGIN_HOST_MAX, kNeeds, kProvides,
                                                      "host test plugin"}))
