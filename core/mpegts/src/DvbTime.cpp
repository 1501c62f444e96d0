#include <boxoffice/mpegts/DvbTime.h>

#include <boxoffice/base/Error.h>

namespace boxoffice::mpegts {

namespace {
constexpr std::int64_t mjdOfUnixEpoch = 40587;  // 1970-01-01
constexpr std::int64_t day = 86400;

std::uint32_t bcd(std::uint32_t v) { return ((v / 10) << 4) | (v % 10); }
std::optional<std::uint32_t> unbcd(std::uint32_t v) {
    const std::uint32_t hi = v >> 4, lo = v & 0x0F;
    if (hi > 9 || lo > 9)
        return std::nullopt;
    return hi * 10 + lo;
}
std::uint32_t hms(std::uint32_t seconds) {
    return (bcd(seconds / 3600) << 16) | (bcd(seconds / 60 % 60) << 8) | bcd(seconds % 60);
}
std::optional<std::uint32_t> unhms(std::uint32_t field, std::uint32_t maxHours) {
    auto h = unbcd((field >> 16) & 0xFF), m = unbcd((field >> 8) & 0xFF), s = unbcd(field & 0xFF);
    if (!h || !m || !s || *h > maxHours || *m > 59 || *s > 59)
        return std::nullopt;
    return *h * 3600 + *m * 60 + *s;
}
} // namespace

std::uint64_t toDvbUtc(std::int64_t unixSeconds) {
    const std::int64_t days = unixSeconds >= 0 ? unixSeconds / day : -((-unixSeconds + day - 1) / day);
    const std::int64_t mjd = days + mjdOfUnixEpoch;
    if (mjd < 0 || mjd > 0xFFFF)
        throw Error(ErrorCode::InvalidArgument, "time outside the range of a DVB MJD");
    const auto secondsOfDay = static_cast<std::uint32_t>(unixSeconds - days * day);
    return (static_cast<std::uint64_t>(mjd) << 24) | hms(secondsOfDay);
}

std::optional<std::int64_t> fromDvbUtc(std::uint64_t field) {
    const auto mjd = static_cast<std::int64_t>((field >> 24) & 0xFFFF);
    const auto seconds = unhms(static_cast<std::uint32_t>(field & 0xFFFFFF), 23);
    if (!seconds)
        return std::nullopt;
    return (mjd - mjdOfUnixEpoch) * day + *seconds;
}

std::uint32_t toDvbDuration(std::uint32_t seconds) {
    if (seconds > 99 * 3600 + 59 * 60 + 59)
        throw Error(ErrorCode::InvalidArgument, "duration above 99:59:59");
    return hms(seconds);
}

std::optional<std::uint32_t> fromDvbDuration(std::uint32_t field) { return unhms(field & 0xFFFFFF, 99); }

} // namespace boxoffice::mpegts
