#pragma once
// The operations behind the keytool commands, on a key directory laid out as
// described in <boxoffice/trust/KeyFiles.h>. Each writes its files atomically and
// refuses to replace existing keys unless `force`.

#include <boxoffice/trust/Signing.h>
#include <boxoffice/wire/Types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace boxoffice::keytool {

class KeyTool {
public:
    KeyTool(std::filesystem::path dir, bool force, wire::UnixTime now);

    void createRoot(const std::string& keyId, long validDays);
    std::string createIssuer(const std::string& issuerId, long validDays);   // returns the key id
    std::string rotateIssuer(const std::string& issuerId, long validDays);
    void issueDevice(const std::string& deviceId, long validDays, bool withTlsClient);
    void issuePhone(const std::string& phoneId, long validDays);
    void issueServer(const std::string& serverId, long validDays);
    // A new server key <subject>/<n+1>; the old agreement key and certificate move to
    // server/retired/. Returns the new key id.
    std::string rotateServer(long validDays);
    void createTlsCa(long validDays);
    void issueTlsServer(const std::vector<std::string>& names, const std::vector<std::string>& ips, long validDays);
    void issueTlsClient(const std::string& deviceId, long validDays);
    std::uint64_t revoke(const std::vector<std::string>& keyIds, const std::vector<std::string>& deviceIds,
                         const std::vector<std::string>& ticketIds, long validDays);
    void createEventKey(const std::string& eventKeyId, int bits);
    void createDevelopmentSet();

    bool hasTlsCa() const;

private:
    void write(const std::filesystem::path& relative, std::string_view data, bool secret, bool overwrite) const;
    void writeWire(const std::filesystem::path& relative, const std::vector<std::uint8_t>& bytes, bool overwrite) const;
    std::string issueIssuerKey(const std::string& issuerId, int number, long validDays, bool overwrite);
    void issueServerKey(const trust::SigningKey& root, const std::string& serverId, const std::string& keyId,
                        long validDays, bool overwrite, wire::UnixTime notBefore);

    std::filesystem::path dir_;
    bool force_;
    wire::UnixTime now_;
};

} // namespace boxoffice::keytool
