#pragma once
// Keys from the real `boxoffice-keytool dev` (once per test program): the operator's
// set and a foreign one (another root) for forged tickets; tickets issued with them.

#include <boxoffice/testing/ChildProcess.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/trust/TicketIssuer.h>

#include <stdexcept>

namespace boxoffice::ppv::test {

struct DevKeys {
    boxoffice::testing::TempDir dir{"ppv-keys"};
    std::optional<trust::TrustAnchor> anchor;
    std::optional<trust::Credentials> issuer, foreignIssuer;
    std::optional<trust::DeviceIdentity> stb1, stb2;

    DevKeys()
    {
        for (const auto* set : {"keys", "foreign"}) {
            boxoffice::testing::ChildProcess tool(BOXOFFICE_KEYTOOL, {"dev", "--out", (dir.path() / set).string()});
            if (tool.wait(std::chrono::seconds(120)) != 0)
                throw std::runtime_error("boxoffice-keytool dev failed: " + tool.output());
        }
        anchor = trust::loadTrustAnchor(keysDir() / "root" / "root.json");
        issuer = trust::loadCurrentIssuer(keysDir(), "issuer-dev");
        foreignIssuer = trust::loadCurrentIssuer(dir.path() / "foreign", "issuer-dev");
        stb1 = trust::loadDeviceIdentity(keysDir() / "devices" / "stb-1");
        stb2 = trust::loadDeviceIdentity(keysDir() / "devices" / "stb-2");
    }
    std::filesystem::path keysDir() const { return dir.path() / "keys"; }

    static DevKeys& get()
    {
        static DevKeys keys;
        return keys;
    }
};

struct TicketSpec {
    std::string ticketId = "t-1";
    std::string eventId = "ev-1";
    wire::UnixTime notBefore = 0;
    wire::UnixTime notAfter = 0;
    std::uint32_t playbackWindow = 0;
    std::uint16_t views = wire::unlimitedViews;
};

inline Bytes issue(const TicketSpec& spec, ByteView eventKey, const trust::DeviceIdentity& holder,
                   const trust::Credentials& issuer)
{
    wire::Ticket draft;
    draft.ticketId = spec.ticketId;
    draft.eventId = spec.eventId;
    draft.serviceProviderId = "sp-dev";
    draft.holderDeviceId = holder.deviceId;
    draft.orderId = "o-" + spec.ticketId;
    draft.issuedAt = spec.notBefore;
    draft.notBefore = spec.notBefore;
    draft.notAfter = spec.notAfter;
    draft.playbackWindow = spec.playbackWindow;
    draft.viewsLeft = spec.views;
    draft.eventKeyId = "key-" + spec.eventId;
    return trust::issueTicket(draft, eventKey, holder.agreementKey.publicKey(), issuer).encode();
}

} // namespace boxoffice::ppv::test
