// One input -> every decoder. Properties checked (abort on violation):
//   - decoding throws only boxoffice::Error (never crashes, never another exception);
//   - whatever decodes re-encodes to exactly the input (canonical encoding);
//   - a ticket that decodes is refused by a verifier that trusts a different root.
#include <boxoffice/base/Error.h>
#include <boxoffice/trust/TicketVerifier.h>
#include <boxoffice/wire/Acknowledgement.h>
#include <boxoffice/wire/Approval.h>
#include <boxoffice/wire/Base64Url.h>
#include <boxoffice/wire/HistoryRecord.h>
#include <boxoffice/wire/Order.h>
#include <boxoffice/wire/Receipt.h>
#include <boxoffice/wire/RevocationList.h>
#include <boxoffice/wire/SettlementResult.h>
#include <boxoffice/wire/TrustedTime.h>
#include <boxoffice/wire/Voucher.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

using namespace boxoffice;

namespace {

template <typename T> void roundTrip(ByteView input)
{
    T object;
    try {
        object = T::decode(input);
    } catch (const Error&) {
        return;
    }
    if (object.encode() != Bytes(input.begin(), input.end())) {
        std::fprintf(stderr, "non-canonical %s accepted\n", std::string(wire::toString(T::type)).c_str());
        std::abort();
    }
}

struct Verifier {
    std::filesystem::path clockFile = std::filesystem::temp_directory_path() / "boxoffice-wire-fuzz-clock";
    trust::TrustedClock clock{clockFile, [] { return wire::UnixTime{1'800'000'000}; }};
    trust::RevocationState revocations;
    trust::InMemorySeenTickets seen;
    trust::TicketVerifier verifier{
        trust::TrustAnchor{"root/1", crypto::Ed25519PrivateKey::generate().publicKey()}, "stb-1",
        crypto::X25519PrivateKey::generate(), clock, revocations, seen};
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static Verifier v;
    const ByteView input(data, size);
    roundTrip<wire::Certificate>(input);
    roundTrip<wire::Ticket>(input);
    roundTrip<wire::Order>(input);
    roundTrip<wire::Approval>(input);
    roundTrip<wire::Receipt>(input);
    roundTrip<wire::Acknowledgement>(input);
    roundTrip<wire::Voucher>(input);
    roundTrip<wire::SettlementResult>(input);
    roundTrip<wire::HistoryRecord>(input);
    roundTrip<wire::TrustedTime>(input);
    roundTrip<wire::RevocationList>(input);
    try {
        v.verifier.accept(input);
        std::fprintf(stderr, "ticket from an unknown root accepted\n");
        std::abort();
    } catch (const Error&) {
    }
    try {
        wire::fromBase64Url(std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (const Error&) {
    }
    return 0;
}
