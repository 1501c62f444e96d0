#pragma once
// A phone's connection to the STB's GATT service, as a BLE central sees it:
// ATT writes with response to RX, notifications from TX, a read of the info
// characteristic. A real app implements this over CoreBluetooth or
// android.bluetooth; the reference phone uses FakeRadioLink.

#include <boxoffice/base/Bytes.h>

#include <cstddef>
#include <functional>

namespace boxoffice::phone {

class Link {
public:
    virtual ~Link() = default;

    // The negotiated ATT MTU.
    virtual std::size_t mtu() const = 0;
    // One write request to RX, returning when the STB acknowledged it.
    // Error(Unavailable) when the link is down, Error(PermissionDenied) when the
    // link is not paired (insufficient authentication), Error(Conflict) when the
    // channel byte is taken, Error(Malformed/LimitExceeded) when the STB refused the fragment.
    virtual void write(ByteView fragment) = 0;
    virtual Bytes readInfo() = 0;
    // Handlers run on the link's own thread; set them before subscribe().
    virtual void onNotification(std::function<void(ByteView)> handler) = 0;
    virtual void onDisconnect(std::function<void()> handler) = 0;
    // Subscribes to TX notifications (CCC write).
    virtual void subscribe() = 0;
    virtual bool connected() const = 0;
};

} // namespace boxoffice::phone
