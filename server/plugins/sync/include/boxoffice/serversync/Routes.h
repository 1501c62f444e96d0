#pragma once
// The REST routes of the server's sync plugin (documented in server/openapi/boxoffice-server.yaml):
//   POST /v1/stb/history            (device, mTLS)  {"records": [base64url HistoryRecord...]}
//        -> {"acknowledgedThrough", "recordsStored", "result"?, "serverCertificate"?}
//   GET  /v1/stb/history            (device)        -> {"acknowledgedThrough"}
//   POST /v1/phone/history-batches  (phone-signed)  {"batch": base64url sealed batch}
//        -> {"deviceId", "settledThrough", "result", "serverCertificate"}

#include <boxoffice/serverapi/Router.h>
#include <boxoffice/serversync/HistorySync.h>

namespace boxoffice::serversync {

void addRoutes(serverapi::Router& router, HistorySync& sync, const std::string& owner);

} // namespace boxoffice::serversync
