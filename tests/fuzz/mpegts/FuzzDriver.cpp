// Stand-alone driver for compilers without libFuzzer (GCC): runs the target on the
// files given as arguments, or on a fixed number of deterministic mutations of a
// valid scrambled stream (headend output) and of its ECM section.

#include "../../descrambler/SyntheticStream.h"

#include <boxoffice/headend/Headend.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    using namespace boxoffice;
    if (argc > 1 && argv[1][0] != '-') {
        for (int i = 1; i < argc; ++i) {
            std::ifstream in(argv[i], std::ios::binary);
            const Bytes input(std::istreambuf_iterator<char>(in), {});
            LLVMFuzzerTestOneInput(input.data(), input.size());
        }
        return 0;
    }
    const int runs = argc > 1 ? std::atoi(argv[1] + 1) : 300;
    headend::HeadendConfig c;
    c.eventKey = crypto::SecretBytes(Bytes(16, 0x42));
    c.packetsPerCryptoPeriod = 40;
    c.ecmIntervalPackets = 8;
    headend::Headend h(c);
    Bytes seed{3, 0};
    const Bytes stream = h.process(testutil::makeStream(testutil::StreamOptions{.packets = 240}));
    seed.insert(seed.end(), stream.begin(), stream.end());
    std::mt19937 rng(12345);
    for (int run = 0; run < runs; ++run) {
        Bytes input = seed;
        input[0] = static_cast<std::uint8_t>(rng());
        input[1] = static_cast<std::uint8_t>(rng());
        const int edits = 1 + static_cast<int>(rng() % 40);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = 2 + rng() % (input.size() - 2);
            switch (rng() % 4) {
            case 0: input[at] = static_cast<std::uint8_t>(rng()); break;
            case 1: input[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
            case 2: input.erase(input.begin() + static_cast<std::ptrdiff_t>(at)); break;
            case 3: input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
            }
        }
        LLVMFuzzerTestOneInput(input.data(), input.size());
        // The ECM alone, damaged.
        for (std::size_t p = 2; p + 188 <= seed.size(); p += 188)
            if (((seed[p + 1] & 0x1F) << 8 | seed[p + 2]) == 0x1FF0) {
                Bytes ecm(seed.begin() + static_cast<std::ptrdiff_t>(p + 5),
                          seed.begin() + static_cast<std::ptrdiff_t>(p + 5 + 82));
                ecm[rng() % ecm.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
                Bytes withHeader{0, 0};
                withHeader.insert(withHeader.end(), ecm.begin(), ecm.end());
                LLVMFuzzerTestOneInput(withHeader.data(), withHeader.size());
                break;
            }
    }
    std::printf("%d runs\n", runs);
    return 0;
}
