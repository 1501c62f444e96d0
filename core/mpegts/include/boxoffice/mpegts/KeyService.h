#pragma once
// Where the descrambler gets control words from: it hands every new ECM section
// of its service to a KeyService. The STB's ticket wallet implements it (event
// key from the ticket); EventKeyService below serves fixed event keys for the
// headend's self-checks, tests and operations.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/crypto/SecretBytes.h>
#include <boxoffice/mpegts/Ecm.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace boxoffice::mpegts {

class KeyService {
public:
    // Its id in the plugin host's service registry: the STB's ticket wallet
    // publishes its implementation under it, the playback plugin finds it.
    static constexpr const char* kServiceId = "boxoffice.descrambler.KeyService/1";

    virtual ~KeyService() = default;

    // Called on the streaming thread with a complete, CRC-checked ECM section.
    // Returns the control words, or nullopt when no key covers it (yet) — the
    // descrambler then holds the packets and offers the next repetition of the
    // ECM again. Must not throw; `reason` may say why nothing was returned.
    virtual std::optional<ControlWords> onEcm(ByteView section, std::string& reason) noexcept = 0;
};

// Event keys known in advance, by EIT event_id (any service).
class EventKeyService final : public KeyService {
public:
    void addEventKey(std::uint16_t eventId, ByteView key);
    void removeEventKey(std::uint16_t eventId);
    // A key used for any event without its own.
    void setDefaultKey(ByteView key);

    std::optional<ControlWords> onEcm(ByteView section, std::string& reason) noexcept override;

private:
    std::mutex mutex_;
    std::map<std::uint16_t, crypto::SecretBytes> keys_;
    crypto::SecretBytes defaultKey_;
};

} // namespace boxoffice::mpegts
