#pragma once
// How boxoffice::Error codes map to HTTP statuses (one table, used everywhere).

#include <boxoffice/base/Error.h>

namespace boxoffice::serverapi {

int httpStatusFor(ErrorCode code) noexcept;

} // namespace boxoffice::serverapi
