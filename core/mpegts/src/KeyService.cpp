#include <boxoffice/mpegts/KeyService.h>

#include <boxoffice/base/Error.h>

namespace boxoffice::mpegts {

void EventKeyService::addEventKey(std::uint16_t eventId, ByteView key) {
    std::lock_guard lock(mutex_);
    keys_[eventId] = crypto::SecretBytes(key);
}

void EventKeyService::removeEventKey(std::uint16_t eventId) {
    std::lock_guard lock(mutex_);
    keys_.erase(eventId);
}

void EventKeyService::setDefaultKey(ByteView key) {
    std::lock_guard lock(mutex_);
    defaultKey_ = crypto::SecretBytes(key);
}

std::optional<ControlWords> EventKeyService::onEcm(ByteView section, std::string& reason) noexcept {
    try {
        const EcmHeader header = peekEcm(section);
        crypto::SecretBytes key;
        {
            std::lock_guard lock(mutex_);
            auto it = keys_.find(header.eventId);
            key = it != keys_.end() ? it->second : defaultKey_;
        }
        if (key.empty()) {
            reason = "no key for event " + std::to_string(header.eventId);
            return std::nullopt;
        }
        return openEcm(section, key);
    } catch (const std::exception& e) {
        reason = e.what();
        return std::nullopt;
    }
}

} // namespace boxoffice::mpegts
