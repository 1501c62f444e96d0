// JSON-RPC no-op round trips over loopback (HTTP keep-alive and WebSocket)
// against bare Poco baselines in the same run, with the ratios printed at the end.
//
//   build-bench/bin/rpc_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// With repetitions the ratios use the medians; add
// --benchmark_enable_random_interleaving=true on a busy machine. Two ratios per
// pair: wall-clock throughput (what a client sees on an idle box) and process
// CPU time per call (client + server threads), which a machine busy with other
// work barely disturbs — on a saturated box throughput follows CPU per call.
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

// The server's own per-call work without the network, to see where a call's CPU goes.
void BM_AuthenticateOnly(benchmark::State& state)
{
    for (auto _ : state) benchmark::DoNotOptimize(servers().tokens.authenticate(kToken));
}

void BM_DispatchOnly(benchmark::State& state)
{
    const auto caller = servers().tokens.authenticate(kToken);
    for (auto _ : state) benchmark::DoNotOptimize(servers().dispatcher.handle(kRequest, *caller));
}

void BM_BarePocoHttp(benchmark::State& state) { httpRoundTrips(state, servers().bare.port()); }
void BM_JsonRpcHttp(benchmark::State& state) { httpRoundTrips(state, servers().server->port()); }
void BM_BarePocoWebSocket(benchmark::State& state) { webSocketRoundTrips(state, servers().bare.port()); }
void BM_JsonRpcWebSocket(benchmark::State& state) { webSocketRoundTrips(state, servers().server->port()); }

BENCHMARK(BM_AuthenticateOnly);
BENCHMARK(BM_DispatchOnly);
BENCHMARK(BM_BarePocoHttp)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_JsonRpcHttp)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_BarePocoWebSocket)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_JsonRpcWebSocket)->UseRealTime()->MeasureProcessCPUTime();

// Keeps the wall-clock and CPU time per call of each run so that main() can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    struct Cost {
        double real = 0;
        double cpu = 0;
    };
    void ReportRuns(const std::vector<Run>& runs) override
    {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& run : runs) {
            if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
            costs[run.run_name.function_name] = {run.GetAdjustedRealTime(), run.GetAdjustedCPUTime()};
        }
    }
    std::map<std::string, Cost> costs;
};

} // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    // Throughput ratio = baseline cost / our cost (higher is better for us).
    auto ratio = [&](const char* ours, const char* base) {
        const auto a = reporter.costs.find(ours);
        const auto b = reporter.costs.find(base);
        if (a == reporter.costs.end() || b == reporter.costs.end() || a->second.real == 0 || a->second.cpu == 0) return;
        std::cout << ours << " vs " << base << ": calls/s " << b->second.real / a->second.real
                  << "x, calls per CPU-second " << b->second.cpu / a->second.cpu << "x  (goal >= 0.8)\n";
    };
    ratio("BM_JsonRpcHttp", "BM_BarePocoHttp");
    ratio("BM_JsonRpcWebSocket", "BM_BarePocoHttp");
    ratio("BM_JsonRpcWebSocket", "BM_BarePocoWebSocket");
    servers();  // keep the static alive until here
    return 0;
}
