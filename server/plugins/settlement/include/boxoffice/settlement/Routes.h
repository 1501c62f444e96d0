#pragma once
// The REST routes of the settlement plugin (documented in server/openapi/boxoffice-server.yaml).

#include <boxoffice/serverapi/Router.h>
#include <boxoffice/settlement/Settlement.h>

namespace boxoffice::settlement {

void addRoutes(serverapi::Router& router, Settlement& settlement, const trust::Credentials& serverSigner,
               const std::string& owner);

} // namespace boxoffice::settlement
