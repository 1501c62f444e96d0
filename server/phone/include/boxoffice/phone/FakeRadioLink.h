#pragma once
// A Link through the fake org.bluez's radio interface (org.boxoffice.FakeRadio1
// on the test bus, see tests/bluetooth/fakebluez/FakeRadio.h): the test double
// for the air and the phone's Bluetooth stack. Link-layer pairing goes through
// the STB's agent exactly as bluetoothd would drive it.

#include <boxoffice/phone/Link.h>

#include <memory>
#include <string>

namespace boxoffice::phone {

class FakeRadioLink : public Link {
public:
    struct Options {
        std::string busAddress;                    // the bus the fake org.bluez is on
        std::string address = "AA:BB:CC:DD:EE:01"; // this phone's Bluetooth address
        std::uint16_t mtu = 185;
    };

    // Connects (Error(Unavailable) when the fake radio is not there).
    explicit FakeRadioLink(Options options);
    ~FakeRadioLink() override;

    // Link-layer pairing: `method` confirmation (numeric comparison with `passkey`),
    // authorization (Just Works), passkey or pincode. True when the STB accepted.
    bool pairLink(std::uint32_t passkey, const std::string& method = "confirmation");
    // Connects again after the radio went away (bluetoothd restarted).
    void reconnect();
    void disconnect();
    std::string devicePath() const;

    std::size_t mtu() const override;
    void write(ByteView fragment) override;
    Bytes readInfo() override;
    void onNotification(std::function<void(ByteView)> handler) override;
    void onDisconnect(std::function<void()> handler) override;
    void subscribe() override;
    bool connected() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace boxoffice::phone
