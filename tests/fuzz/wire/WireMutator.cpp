// Stand-alone driver for compilers without libFuzzer: mutates valid encodings of every
// wire object (deterministic seed) and feeds them to LLVMFuzzerTestOneInput.
//   wire_fuzz [iterations]
#include <boxoffice/crypto/Random.h>
#include <boxoffice/trust/TicketIssuer.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/HistoryRecord.h>
#include <boxoffice/wire/RevocationList.h>
#include <boxoffice/wire/TrustedTime.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace boxoffice;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<Bytes> seeds()
{
    const trust::SigningKey root("root/1", crypto::Ed25519PrivateKey::generate());
    const auto issuerKey = crypto::Ed25519PrivateKey::generate();
    wire::Certificate c;
    c.role = wire::CertificateRole::Issuer;
    c.subject = "issuer";
    c.keyId = "issuer/1";
    c.publicKey.assign(issuerKey.publicKey().raw().begin(), issuerKey.publicKey().raw().end());
    c.notBefore = 1;
    c.notAfter = 2'000'000'000;
    const trust::Credentials issuer{trust::SigningKey("issuer/1", issuerKey), trust::issueCertificate(c, root)};

    wire::Ticket t;
    t.ticketId = "t-1";
    t.eventId = "ev";
    t.serviceProviderId = "sp";
    t.holderDeviceId = "stb-1";
    t.orderId = "o-1";
    t.notBefore = 1;
    t.notAfter = 2'000'000'000;
    t.eventKeyId = "ev/1";
    const Bytes ticket =
        trust::issueTicket(t, crypto::randomBytes(16), crypto::X25519PrivateKey::generate().publicKey(), issuer).encode();

    wire::Approval a;
    a.transactionNumber = "tx";
    a.orderId = "o";
    a.accountId = "acc";
    a.phoneId = "p";
    a.payee = "Payee é";
    trust::sign(a, trust::SigningKey("p", crypto::P256PrivateKey::generate()));

    wire::HistoryRecord h;
    h.deviceId = "stb-1";
    h.eventId = "ev";
    trust::sign(h, root);

    wire::TrustedTime tt;
    tt.time = 5;
    tt.nonce = Bytes(8, 1);
    trust::sign(tt, root);

    wire::RevocationList r;
    r.revokedKeyIds = {"a", "b"};
    r.revokedTicketIds = {"t"};
    trust::sign(r, root);

    return {ticket, issuer.certificate.encode(), a.encode(), h.encode(), tt.encode(), r.encode()};
}

} // namespace

int main(int argc, char** argv)
{
    const long iterations = argc > 1 ? std::labs(std::atol(argv[1])) : 20000;
    const std::vector<Bytes> corpus = seeds();
    std::uint32_t state = 0x9e3779b9u;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    };
    for (const Bytes& seed : corpus) LLVMFuzzerTestOneInput(seed.data(), seed.size());
    for (long i = 0; i < iterations; ++i) {
        Bytes input = corpus[next() % corpus.size()];
        const int edits = 1 + static_cast<int>(next() % 6);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = input.empty() ? 0 : next() % input.size();
            switch (next() % 5) {
            case 0: if (!input.empty()) input[at] = static_cast<std::uint8_t>(next()); break;
            case 1: if (!input.empty()) input.erase(input.begin() + static_cast<std::ptrdiff_t>(at)); break;
            case 2: input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(next())); break;
            case 3: input.resize(at); break;
            default: if (!input.empty()) input[at] ^= static_cast<std::uint8_t>(1u << (next() % 8)); break;
            }
        }
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("wire_fuzz: %ld mutated inputs, no property violated\n", iterations);
    return 0;
}
