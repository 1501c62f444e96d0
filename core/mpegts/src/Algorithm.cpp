#include <boxoffice/mpegts/Algorithm.h>

#include <boxoffice/base/Error.h>

#include <string>

namespace boxoffice::mpegts {

std::string_view toString(Algorithm algorithm) noexcept {
    switch (algorithm) {
    case Algorithm::DvbCissa: return "dvb-cissa";
    case Algorithm::DvbCsa2: return "dvb-csa2";
    case Algorithm::AtisIdsa: return "atis-idsa";
    }
    return "unknown";
}

Algorithm algorithmFromString(std::string_view name) {
    for (auto a : {Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa})
        if (toString(a) == name)
            return a;
    throw Error(ErrorCode::InvalidArgument,
                "unknown scrambling algorithm '" + std::string(name) + "' (dvb-cissa, dvb-csa2, atis-idsa)");
}

std::size_t controlWordSize(Algorithm algorithm) noexcept {
    return algorithm == Algorithm::DvbCsa2 ? 8 : 16;
}

std::uint8_t scramblingMode(Algorithm algorithm) noexcept {
    switch (algorithm) {
    case Algorithm::DvbCissa: return 0x10;
    case Algorithm::DvbCsa2: return 0x02;
    case Algorithm::AtisIdsa: return 0x70;
    }
    return 0;
}

} // namespace boxoffice::mpegts
