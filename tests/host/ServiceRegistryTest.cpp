#include <boxoffice/base/Error.h>
#include <boxoffice/host/ServiceRegistry.h>

#include <gtest/gtest.h>

using namespace boxoffice;
using namespace boxoffice::host;

namespace {

struct Clock {
    static constexpr const char* kServiceId = "boxoffice.test.Clock/1";
    virtual ~Clock() = default;
    virtual int now() const { return 42; }
};

struct OtherClock : Clock {
    int now() const override { return 7; }
};

TEST(ServiceRegistry, PublishFindWithdraw)
{
    ServiceRegistry registry;
    EXPECT_EQ(registry.find<Clock>(), nullptr);
    EXPECT_THROW(registry.require<Clock>(), Error);
    registry.publish<Clock>(std::make_shared<OtherClock>(), "time");
    ASSERT_NE(registry.find<Clock>(), nullptr);
    EXPECT_EQ(registry.require<Clock>()->now(), 7);
    EXPECT_EQ(registry.ids(), std::vector<std::string>{"boxoffice.test.Clock/1"});
    registry.withdraw<Clock>("time");
    EXPECT_EQ(registry.find<Clock>(), nullptr);
}

TEST(ServiceRegistry, OneProviderPerInterfaceAndOnlyTheOwnerWithdraws)
{
    ServiceRegistry registry;
    registry.publish<Clock>(std::make_shared<Clock>(), "time");
    try {
        registry.publish<Clock>(std::make_shared<OtherClock>(), "intruder");
        FAIL() << "second provider accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ErrorCode::AlreadyExists);
        EXPECT_NE(std::string(error.what()).find("published by time"), std::string::npos);
    }
    EXPECT_THROW(registry.withdraw<Clock>("intruder"), Error);
    EXPECT_EQ(registry.find<Clock>()->now(), 42);
    EXPECT_EQ(registry.withdrawAll("time"), std::vector<std::string>{"boxoffice.test.Clock/1"});
    EXPECT_TRUE(registry.ids().empty());
}

TEST(ServiceRegistry, RejectsEmptyService)
{
    ServiceRegistry registry;
    EXPECT_THROW(registry.publish<Clock>(nullptr, "time"), Error);
}

} // namespace
