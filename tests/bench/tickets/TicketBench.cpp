// What accepting a ticket costs on the STB compared with one raw Ed25519
// verification. A ticket costs two signature checks (root -> issuer certificate,
// issuer -> ticket), an X25519 agreement, HKDF and AES-GCM, plus decoding: the ratio
// should stay near 3. Both are timed interleaved in the same benchmark so the ratio
// is measured under the same load.
#include <boxoffice/crypto/Random.h>
#include <boxoffice/trust/TicketIssuer.h>
#include <boxoffice/trust/TicketVerifier.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

using namespace boxoffice;

namespace {

using Clock = std::chrono::steady_clock;
constexpr wire::UnixTime t0 = 1'800'000'000;

struct Setup {
    trust::SigningKey root{"root/1", crypto::Ed25519PrivateKey::generate()};
    crypto::Ed25519PrivateKey issuerKey = crypto::Ed25519PrivateKey::generate();
    crypto::X25519PrivateKey deviceKey = crypto::X25519PrivateKey::generate();
    trust::Credentials issuer{trust::SigningKey("issuer/1", issuerKey), {}};
    std::filesystem::path clockFile = std::filesystem::temp_directory_path() / "boxoffice-ticket-bench-clock";
    trust::TrustedClock clock{clockFile, [] { return t0 + 60; }};
    trust::RevocationState revocations;
    trust::InMemorySeenTickets seen;
    Bytes ticket;
    Bytes message = crypto::randomBytes(400);
    Bytes signature;

    Setup()
    {
        wire::Certificate c;
        c.role = wire::CertificateRole::Issuer;
        c.subject = "issuer";
        c.keyId = "issuer/1";
        c.publicKey.assign(issuerKey.publicKey().raw().begin(), issuerKey.publicKey().raw().end());
        c.notBefore = t0 - 86400;
        c.notAfter = t0 + 86400 * 365;
        issuer.certificate = trust::issueCertificate(c, root);
        wire::Ticket t;
        t.ticketId = "t-1";
        t.eventId = "ev-1";
        t.serviceProviderId = "sp";
        t.holderDeviceId = "stb-1";
        t.issuedAt = t0;
        t.notBefore = t0;
        t.notAfter = t0 + 86400;
        t.eventKeyId = "ev-1/1";
        ticket = trust::issueTicket(t, crypto::randomBytes(16), deviceKey.publicKey(), issuer).encode();
        signature = issuerKey.sign(message);
    }
    ~Setup() { std::filesystem::remove(clockFile); }

    trust::TrustAnchor anchor() const
    {
        return {root.keyId(), crypto::Ed25519PublicKey::fromRaw(root.verifyingKey().publicKey())};
    }
};

void BM_TicketVsEd25519(benchmark::State& state)
{
    Setup s;
    trust::TicketVerifier verifier(s.anchor(), "stb-1", s.deviceKey, s.clock, s.revocations, s.seen);
    Clock::duration ticketTime{}, verifyTime{};
    for (auto _ : state) {
        auto a = Clock::now();
        benchmark::DoNotOptimize(verifier.verify(s.ticket));
        auto b = Clock::now();
        benchmark::DoNotOptimize(s.issuerKey.publicKey().verify(s.message, s.signature));
        auto c = Clock::now();
        ticketTime += b - a;
        verifyTime += c - b;
    }
    const double n = static_cast<double>(state.iterations());
    const double ticketSeconds = std::chrono::duration<double>(ticketTime).count();
    const double verifySeconds = std::chrono::duration<double>(verifyTime).count();
    state.counters["tickets_per_s"] = n / ticketSeconds;
    state.counters["ed25519_per_s"] = n / verifySeconds;
    state.counters["ratio"] = ticketSeconds / verifySeconds;
}
BENCHMARK(BM_TicketVsEd25519)->Unit(benchmark::kMicrosecond)->MinTime(1.0);

void BM_Ed25519Verify(benchmark::State& state)
{
    Setup s;
    for (auto _ : state) benchmark::DoNotOptimize(s.issuerKey.publicKey().verify(s.message, s.signature));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Ed25519Verify)->Unit(benchmark::kMicrosecond);

void BM_TicketVerifyAndUnwrap(benchmark::State& state)
{
    Setup s;
    trust::TicketVerifier verifier(s.anchor(), "stb-1", s.deviceKey, s.clock, s.revocations, s.seen);
    for (auto _ : state) benchmark::DoNotOptimize(verifier.verify(s.ticket));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TicketVerifyAndUnwrap)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
