#pragma once
// The phone's own line to the operator's server (HTTPS, requests signed with
// the phone's P-256 key). The reference phone only has the seam for now:
// OfflineServerLine is a phone without a line, which makes the STB relay
// (approval with relay = true, history handoff).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/base/Error.h>

#include <string>

namespace boxoffice::phone {

class ServerLine {
public:
    virtual ~ServerLine() = default;
    virtual bool available() const = 0;
    // POSTs a canonical wire object to `path`; returns the server's response object.
    virtual Bytes post(const std::string& path, ByteView body) = 0;
};

class OfflineServerLine : public ServerLine {
public:
    bool available() const override { return false; }
    Bytes post(const std::string& path, ByteView) override
    {
        throw Error(ErrorCode::Unavailable, "no line to the server for " + path);
    }
};

} // namespace boxoffice::phone
