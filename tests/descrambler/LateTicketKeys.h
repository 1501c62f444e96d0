#pragma once
// A key service whose ticket arrives late: it gives no control words (and says
// why) until the test sets `open`, then those of the event key.

#include <boxoffice/base/Bytes.h>
#include <boxoffice/mpegts/KeyService.h>

#include <optional>
#include <string>

namespace boxoffice::testutil {

class LateTicketKeys final : public mpegts::KeyService {
public:
    explicit LateTicketKeys(ByteView eventKey) { inner.setDefaultKey(eventKey); }
    std::optional<mpegts::ControlWords> onEcm(ByteView section, std::string& reason) noexcept override {
        if (!open)
            return reason = "no ticket yet", std::nullopt;
        return inner.onEcm(section, reason);
    }
    bool open = false;

private:
    mpegts::EventKeyService inner;
};

} // namespace boxoffice::testutil
