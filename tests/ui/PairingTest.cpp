// Pairing a phone from the TV, key presses only, with the REAL bluetooth plugin
// in boxofficed on a private dbus-daemon with the fake org.bluez
// (tests/bluetooth/fakebluez) and a reference phone (server/phone) over the
// fake radio: the link passkey and then the application code appear on the TV
// (bluetooth.1.linkConfirmation / pairingCode over WebSocket) and OK confirms.

#include "TvUi.h"

#include "FakeBluez.h"
#include "PrivateBus.h"

#include <boxoffice/crypto/P256.h>
#include <boxoffice/phone/FakeRadioLink.h>
#include <boxoffice/phone/Phone.h>

#include <Poco/JSON/Array.h>

#include <future>

using namespace boxoffice;
using namespace boxoffice::tests::ui;

namespace {

class TvUiWithBluetooth : public TvUi {
protected:
    std::vector<std::filesystem::path> extraPlugins() override { return {BLUETOOTH_PLUGIN}; }
    std::string extraSections() override
    {
        return R"(, "bluetooth": {"busAddress": ")" + bus_.address() + R"(", "name": "Living room"})";
    }

    void TearDown() override
    {
        TvUi::TearDown();
        // The daemon leaves the bus before the bus goes.
        browser_.reset();
        daemon_.reset();
    }

    fakebluez::PrivateBus bus_;
    fakebluez::FakeBluez fake_{{bus_.address(), 10s, 10s}};
};

TEST_F(TvUiWithBluetooth, PairingShowsThePasskeyAndTheCodeAndOkConfirmsThem)
{
    ASSERT_TRUE(fake_.waitFor([](const auto& s) { return s.applicationActive && s.agentCapability == "DisplayYesNo"; }, 10s));

    press({key::F4});  // BLUE: pair a phone
    ASSERT_TRUE(waitForScreen("pairing"));
    ASSERT_TRUE(eventually([&] { return admin("bluetooth.1.status")->getValue<bool>("pairingOpen"); }, 5s));
    shot("waiting");

    // Link layer: numeric comparison; the TV shows the passkey, OK accepts.
    auto link = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{bus_.address(), "AA:BB:CC:DD:EE:01", 185});
    auto linked = std::async(std::launch::async, [&] { return link->pairLink(123456); });
    ASSERT_TRUE(waitFor("const c = document.getElementById('pairing-code'); return c ? c.textContent : ''", "123456"));
    EXPECT_EQ(focused(), "confirm");
    shot("link-passkey");
    press({key::Enter});
    ASSERT_TRUE(linked.get());

    // Application pairing: the phone shows a code, the TV shows its own, OK confirms.
    phone::Phone phone(crypto::P256PrivateKey::generate(), "Viewer's phone");
    phone.attach(link);
    std::string codeOnPhone;
    auto paired = std::async(std::launch::async, [&] {
        return phone.pair([&](const std::string& code) {
            codeOnPhone = code;
            return true;
        });
    });
    ASSERT_TRUE(waitFor("return document.body.textContent.includes('Does it show this code') ? 'y' : 'n'", "y"));
    const auto codeOnTv = text("pairing-code");
    EXPECT_FALSE(codeOnTv.empty());
    EXPECT_THAT(browser_->text("return document.getElementById('main').textContent"), ::testing::HasSubstr("Viewer's phone"));
    shot("app-code");
    press({key::Enter});
    EXPECT_EQ(paired.get(), "Living room");
    EXPECT_EQ(codeOnTv, codeOnPhone);
    ASSERT_TRUE(waitFor("const s = document.getElementById('pairing-state'); return s ? s.textContent : ''", "Your phone is paired."));
    shot("paired");

    rpc::HttpClient client("127.0.0.1", port_, kTestToken);
    const auto phones = client.call("bluetooth.1.phones").extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(phones->size(), 1u);
    EXPECT_EQ(phones->getObject(0)->getValue<std::string>("id"), phone.id());
}

TEST_F(TvUiWithBluetooth, RejectingThePasskeyOnTheTvFailsTheLinkPairing)
{
    ASSERT_TRUE(fake_.waitFor([](const auto& s) { return s.applicationActive; }, 10s));
    press({key::F4});
    ASSERT_TRUE(waitForScreen("pairing"));
    ASSERT_TRUE(eventually([&] { return admin("bluetooth.1.status")->getValue<bool>("pairingOpen"); }, 5s));
    auto link = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{bus_.address(), "AA:BB:CC:DD:EE:02", 185});
    auto linked = std::async(std::launch::async, [&] { return link->pairLink(654321); });
    ASSERT_TRUE(waitFor("const c = document.getElementById('pairing-code'); return c ? c.textContent : ''", "654321"));
    press({key::Right, key::Enter});  // "No, reject"
    EXPECT_FALSE(linked.get());
    ASSERT_TRUE(waitFor("const s = document.getElementById('pairing-state'); return s ? s.textContent : ''", "Pairing rejected."));
}

} // namespace
