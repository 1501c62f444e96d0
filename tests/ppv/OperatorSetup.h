#pragma once
// The operator's side of the flow tests: alice's wallet (2000 EUR) and phone-1, the
// studio, stb-1 registered to alice, and the given PPV events on sale now, set up
// through the server's operator API.

#include "ServerProcess.h" // tests/server: the real server and its development keys

#include <boxoffice/wire/Types.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace boxoffice::ppv::test {

struct ServerEvent {
    const char* id;
    const char* title;
    wire::Amount price;
};

inline void setUpOperator(server::test::ServerProcess& server, wire::UnixTime now, const std::vector<ServerEvent>& events)
{
    const auto& keys = server::test::DevKeys::get().dir;
    auto ops = server.operatorClient();
    auto ok = [](const serverapi::ClientResponse& r) {
        if (r.status >= 300) throw std::runtime_error("setup failed: " + r.raw);
    };
    auto post = [&](const std::string& path, const std::string& body) { ok(ops.call("POST", path, body)); };
    post("/v1/operator/accounts", R"({"accountId":"acct-alice","kind":"wallet","currency":"EUR"})");
    post("/v1/operator/accounts", R"({"accountId":"studio","kind":"merchant","currency":"EUR"})");
    post("/v1/operator/deposits", R"({"transferId":"dep-1","accountId":"acct-alice","amount":2000,"currency":"EUR"})");
    post("/v1/operator/devices", R"({"certificate":")" + server::test::certificateField(keys / "devices/stb-1/device.cert") +
                                     R"(","accountId":"acct-alice"})");
    post("/v1/operator/phones", R"({"certificate":")" + server::test::certificateField(keys / "phones/phone-1/phone.cert") +
                                    R"(","accountId":"acct-alice"})");
    for (const auto& e : events)
        ok(ops.call("PUT", std::string("/v1/operator/events/") + e.id,
                    std::string(R"({"title":")") + e.title + R"(","payee":"studio","price":)" + std::to_string(e.price) +
                        R"(,"currency":"EUR","saleFrom":)" + std::to_string(now - 3600) + R"(,"saleUntil":)" +
                        std::to_string(now + 86400) + R"(,"startsAt":)" + std::to_string(now - 60) + R"(,"endsAt":)" +
                        std::to_string(now + 90000) + R"(,"eventKeyId":"ev-demo/1"})"));
}

} // namespace boxoffice::ppv::test
