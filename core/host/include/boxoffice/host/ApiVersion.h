#pragma once
// The version of the host API that plugins are compiled against.
//
// Rules (Kodi-style, checked both ways before a plugin is started):
// - the host accepts a plugin built against API major.minor when the major is
//   the host's and the minor is no newer than the host's and no older than
//   kOldestPluginApi;
// - the plugin declares the host API range it works with and the host must
//   fall inside it, otherwise the plugin refuses the host.
// Bump the minor for additions, the major for anything that breaks binaries.

#include <cstdint>
#include <string>

namespace boxoffice::host {

struct ApiVersion {
    std::uint16_t major = 0;
    std::uint16_t minor = 0;

    constexpr std::uint32_t packed() const { return (std::uint32_t{major} << 16) | minor; }
    static constexpr ApiVersion unpack(std::uint32_t v)
    {
        return {static_cast<std::uint16_t>(v >> 16), static_cast<std::uint16_t>(v & 0xffff)};
    }
    std::string toString() const { return std::to_string(major) + "." + std::to_string(minor); }
    friend constexpr auto operator<=>(const ApiVersion&, const ApiVersion&) = default;
};

inline constexpr ApiVersion kHostApi{1, 0};
inline constexpr ApiVersion kOldestPluginApi{1, 0};

} // namespace boxoffice::host

// Plain macros so that the C entry points of a plugin can use them.
#define BOXOFFICE_HOST_API_MAJOR 1
#define BOXOFFICE_HOST_API_MINOR 0
