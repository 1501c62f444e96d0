// boxoffice-headend: scrambles a clear MPEG-TS file for BoxOffice receivers.

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/headend/Headend.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace {

void usage() {
    std::cerr << "usage: boxoffice-headend --in CLEAR.ts --out SCRAMBLED.ts --event-key HEX [options]\n"
                 "  --algorithm dvb-cissa|dvb-csa2|atis-idsa   (default dvb-cissa)\n"
                 "  --event-key-file FILE    read the hex event key from a file instead\n"
                 "  --event-id N             EIT event_id of the PPV event (default 1)\n"
                 "  --crypto-period SECONDS  by PCR time (default 10)\n"
                 "  --packets-per-period N   crypto-periods by packet count instead\n"
                 "  --program N              program_number to scramble (default: first in PAT)\n"
                 "  --ecm-pid PID            (default 0x1FF0)\n"
                 "  --ca-system-id ID        (default 0xFF42)\n"
                 "  --ppv-event ID,START,DURATION,NAME   signal in the EIT p/f (Unix seconds, seconds)\n";
}

unsigned long number(std::string_view text, const char* what) {
    char* end = nullptr;
    const std::string s(text);
    const unsigned long v = std::strtoul(s.c_str(), &end, 0);
    if (s.empty() || *end != '\0')
        throw boxoffice::Error(boxoffice::ErrorCode::InvalidArgument, std::string("bad ") + what + ": " + s);
    return v;
}

} // namespace

int main(int argc, char** argv) {
    using namespace boxoffice;
    try {
        headend::HeadendConfig config;
        std::string in, out;
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc)
                    throw Error(ErrorCode::InvalidArgument, std::string(arg) + " needs a value");
                return argv[++i];
            };
            if (arg == "--in") in = value();
            else if (arg == "--out") out = value();
            else if (arg == "--algorithm") config.algorithm = mpegts::algorithmFromString(value());
            else if (arg == "--event-key") config.eventKey = crypto::SecretBytes(fromHex(value(), "event key"));
            else if (arg == "--event-key-file") {
                std::string path = value();
                FILE* f = std::fopen(path.c_str(), "r");
                if (!f)
                    throw Error(ErrorCode::Io, "cannot open " + path);
                char buffer[200] = {};
                const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
                std::fclose(f);
                std::string text(buffer, n);
                while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
                    text.pop_back();
                config.eventKey = crypto::SecretBytes(fromHex(text, "event key"));
            }
            else if (arg == "--event-id") config.eventId = static_cast<std::uint16_t>(number(value(), "event id"));
            else if (arg == "--crypto-period") config.cryptoPeriodSeconds = std::stod(value());
            else if (arg == "--packets-per-period") config.packetsPerCryptoPeriod = number(value(), "packet count");
            else if (arg == "--program") config.programNumber = static_cast<std::uint16_t>(number(value(), "program"));
            else if (arg == "--ecm-pid") config.ecmPid = static_cast<std::uint16_t>(number(value(), "ECM PID"));
            else if (arg == "--ca-system-id") config.caSystemId = static_cast<std::uint16_t>(number(value(), "CA system id"));
            else if (arg == "--ppv-event") {
                const std::string v = value();
                headend::PpvEvent e;
                std::size_t a = v.find(','), b = v.find(',', a + 1), c = v.find(',', b + 1);
                if (a == std::string::npos || b == std::string::npos || c == std::string::npos)
                    throw Error(ErrorCode::InvalidArgument, "--ppv-event wants ID,START,DURATION,NAME");
                e.eventId = static_cast<std::uint16_t>(number(v.substr(0, a), "event id"));
                e.start = static_cast<std::int64_t>(number(v.substr(a + 1, b - a - 1), "start"));
                e.duration = static_cast<std::uint32_t>(number(v.substr(b + 1, c - b - 1), "duration"));
                e.name = v.substr(c + 1);
                config.events.push_back(e);
            }
            else if (arg == "--help" || arg == "-h") { usage(); return 0; }
            else throw Error(ErrorCode::InvalidArgument, "unknown option " + std::string(arg));
        }
        if (in.empty() || out.empty() || config.eventKey.empty()) {
            usage();
            return 2;
        }
        const auto stats = headend::scrambleFile(in, out, config);
        std::cout << "packets in " << stats.packetsIn << ", out " << stats.packetsOut << ", scrambled "
                  << stats.scrambled << ", ECM packets " << stats.ecmPackets << ", crypto-periods "
                  << stats.cryptoPeriods << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "boxoffice-headend: " << e.what() << "\n";
        return 1;
    }
}
