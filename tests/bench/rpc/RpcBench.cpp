// JSON-RPC no-op round trips over loopback (HTTP keep-alive and WebSocket)
// against bare Poco baselines in the same run, with the ratios printed at the end.
//
//   build-bench/bin/rpc_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// With repetitions the ratios use the medians, which tolerate a busy machine.
// The client side is the same for a baseline and its JSON-RPC counterpart
// (send a fixed body, read the whole reply), so the ratio measures the server.

#include <boxoffice/rpc/Client.h>
#include <boxoffice/rpc/Server.h>

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>

#include <benchmark/benchmark.h>

#include <iostream>
#include <map>

namespace {

using namespace boxoffice;

const std::string kRequest = R"({"jsonrpc":"2.0","id":1,"method":"bench.1.noop"})";
const std::string kConstantReply = R"({"jsonrpc":"2.0","id":1,"result":null})";
constexpr const char* kToken = "bench-token";

// The baseline: a bare Poco HTTP server whose handler returns a constant, and
// which echoes a constant on WebSocket frames.
class ConstantHandler : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override
    {
        if (Poco::icompare(request.get("Upgrade", ""), "websocket") == 0) {
            Poco::Net::WebSocket ws(request, response);
            Poco::Buffer<char> buffer(0);
            for (;;) {
                int flags = 0;
                buffer.resize(0);
                const int n = ws.receiveFrame(buffer, flags);
                if (n == 0 || (flags & Poco::Net::WebSocket::FRAME_OP_BITMASK) == Poco::Net::WebSocket::FRAME_OP_CLOSE)
                    return;
                ws.sendFrame(kConstantReply.data(), static_cast<int>(kConstantReply.size()));
            }
        }
        request.stream().ignore(std::numeric_limits<std::streamsize>::max());
        response.setContentType("application/json");
        response.setContentLength(static_cast<std::streamsize>(kConstantReply.size()));
        response.send() << kConstantReply;
    }
};

class ConstantFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new ConstantHandler;
    }
};

struct Servers {
    Servers()
        : dispatcher(Poco::Logger::get("bench.rpc")),
          bare(new ConstantFactory, Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
               new Poco::Net::HTTPServerParams)
    {
        dispatcher.addMethod("bench.1.noop", "read", [](const rpc::Request&) { return Poco::Dynamic::Var(); }, "bench");
        tokens.add("bench", rpc::TokenStore::digest(kToken), {"read"});
        rpc::ServerOptions options;
        options.requestsPerSecond = 1e9;  // measure the server, not the limiter
        options.requestBurst = 1e9;
        server = std::make_unique<rpc::Server>(dispatcher, tokens, options, Poco::Logger::get("bench.server"));
        server->start();
        bare.start();
    }
    ~Servers()
    {
        server->stop();
        bare.stopAll(true);
    }

    rpc::Dispatcher dispatcher;
    rpc::TokenStore tokens;
    std::unique_ptr<rpc::Server> server;
    Poco::Net::HTTPServer bare;
};

Servers& servers()
{
    static Servers instance;
    return instance;
}

void httpRoundTrips(benchmark::State& state, std::uint16_t port)
{
    rpc::HttpClient client("127.0.0.1", port, kToken);
    for (auto _ : state) {
        auto reply = client.post(kRequest);
        if (reply.first != 200) state.SkipWithError("unexpected HTTP status");
        benchmark::DoNotOptimize(reply);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void webSocketRoundTrips(benchmark::State& state, std::uint16_t port)
{
    rpc::WebSocketClient client("127.0.0.1", port, kToken);
    for (auto _ : state) {
        client.sendText(kRequest);
        auto reply = client.receiveText(std::chrono::seconds(5));
        if (!reply) state.SkipWithError("no reply");
        benchmark::DoNotOptimize(reply);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_BarePocoHttp(benchmark::State& state) { httpRoundTrips(state, servers().bare.port()); }
void BM_JsonRpcHttp(benchmark::State& state) { httpRoundTrips(state, servers().server->port()); }
void BM_BarePocoWebSocket(benchmark::State& state) { webSocketRoundTrips(state, servers().bare.port()); }
void BM_JsonRpcWebSocket(benchmark::State& state) { webSocketRoundTrips(state, servers().server->port()); }

BENCHMARK(BM_BarePocoHttp)->UseRealTime();
BENCHMARK(BM_JsonRpcHttp)->UseRealTime();
BENCHMARK(BM_BarePocoWebSocket)->UseRealTime();
BENCHMARK(BM_JsonRpcWebSocket)->UseRealTime();

// Keeps items/s of each run so that main() can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override
    {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& run : runs) {
            const auto found = run.counters.find("items_per_second");
            if (found != run.counters.end()) rates[run.benchmark_name()] = found->second.value;
        }
    }
    std::map<std::string, double> rates;
};

} // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    auto ratio = [&](const char* ours, const char* base) {
        auto rate = [&](const std::string& name) {
            auto found = reporter.rates.find(name + "/real_time_median");
            return found != reporter.rates.end() ? found : reporter.rates.find(name + "/real_time");
        };
        const auto a = rate(ours);
        const auto b = rate(base);
        if (a == reporter.rates.end() || b == reporter.rates.end() || b->second == 0) return;
        std::cout << ours << " / " << base << " = " << a->second / b->second << "  (goal >= 0.8 against the bare HTTP handler)\n";
    };
    ratio("BM_JsonRpcHttp", "BM_BarePocoHttp");
    ratio("BM_JsonRpcWebSocket", "BM_BarePocoHttp");
    ratio("BM_JsonRpcWebSocket", "BM_BarePocoWebSocket");
    servers();  // keep the static alive until here
    return 0;
}
