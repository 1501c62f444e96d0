#pragma once
// Converts what Poco::Data throws into boxoffice::Error with the codes the
// storage layer promises (see Transaction.h).

#include <boxoffice/storage/Database.h>

#include <Poco/Exception.h>

#include <string_view>

namespace boxoffice::storage::detail {

[[noreturn]] void rethrowStorageError(const Poco::Exception& e, Backend backend, std::string_view context);

} // namespace boxoffice::storage::detail
