#include <boxoffice/wire/TrustedTime.h>

#include "Object.h"

namespace boxoffice::wire {

namespace {
constexpr auto fields = [](auto& v, auto& o) {
    v.time("time", o.time);
    v.id("audience", o.audience, true);
    v.bytes("nonce", o.nonce, 0, 32);
};
}

BOXOFFICE_WIRE_OBJECT_IMPL(TrustedTime, fields)

} // namespace boxoffice::wire
