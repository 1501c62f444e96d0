// boxoffice-keytool: operator root, issuers, device identities, phones, server keys,
// TLS certificates, revocations, event keys, and the development key set.

#include "Arguments.h"
#include "KeyTool.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/X509.h>
#include <boxoffice/trust/KeyFiles.h>
#include <boxoffice/wire/Certificate.h>
#include <boxoffice/wire/RevocationList.h>
#include <boxoffice/wire/Ticket.h>
#include <boxoffice/wire/TrustedTime.h>

#include <ctime>
#include <iostream>

using namespace boxoffice;
using namespace boxoffice::keytool;

namespace {

const OptionSpec dirOption{"dir", "DIR", "key directory (layout in boxoffice/trust/KeyFiles.h)", true, false};
const OptionSpec forceOption{"force", "", "replace existing keys", false, false};

OptionSpec validDays(long fallback)
{
    return {"valid-days", "N", "validity in days (default " + std::to_string(fallback) + ")", false, false};
}

KeyTool toolFor(const Arguments& args)
{
    return KeyTool(args.get("dir"), args.has("force"), static_cast<wire::UnixTime>(std::time(nullptr)));
}

// Prints any wire object or PEM certificate as readable JSON.
void show(const std::string& file)
{
    const std::string data = trust::readKeyFile(file);
    if (data.rfind("-----BEGIN CERTIFICATE-----", 0) == 0) {
        const auto s = crypto::inspectX509(data);
        std::cout << "{\"x509_subject\":\"" << s.subjectCommonName << "\",\"issuer\":\"" << s.issuerCommonName
                  << "\",\"not_before\":" << s.notBefore << ",\"not_after\":" << s.notAfter
                  << ",\"ca\":" << (s.isCa ? "true" : "false") << "}\n";
        return;
    }
    if (data.empty()) throw Error(ErrorCode::Malformed, file + ": empty");
    const ByteView bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    Poco::JSON::Object::Ptr json;
    switch (static_cast<wire::ObjectType>(bytes[0])) {
    case wire::ObjectType::Certificate: json = wire::Certificate::decode(bytes).toJson(); break;
    case wire::ObjectType::RevocationList: json = wire::RevocationList::decode(bytes).toJson(); break;
    case wire::ObjectType::Ticket: json = wire::Ticket::decode(bytes).toJson(); break;
    case wire::ObjectType::TrustedTime: json = wire::TrustedTime::decode(bytes).toJson(); break;
    default: throw Error(ErrorCode::Malformed, file + ": not a certificate, ticket, trusted time or revocation list");
    }
    json->stringify(std::cout, 2);
    std::cout << "\n";
}

std::vector<CommandSpec> commands()
{
    return {
        {{"root", "create"},
         "Create the operator root key (Ed25519) that certifies everything else.",
         "Writes DIR/root/root.key.pem (secret: keep it offline) and DIR/root/root.json, the trust\n"
         "anchor that STBs and the server are configured with.",
         {dirOption, {"key-id", "ID", "root key id (default root/1)", false, false}, forceOption},
         [](const Arguments& a) { toolFor(a).createRoot(a.getOr("key-id", "root/1"), 0); }},
        {{"issuer", "create"},
         "Create a ticket issuer: an Ed25519 key and its certificate from the root.",
         "Key id <issuer>/1. Writes DIR/issuers/<issuer>/<issuer>_1/ and DIR/issuers/<issuer>/current.",
         {dirOption, {"id", "ISSUER", "issuer id", true, false}, validDays(730), forceOption},
         [](const Arguments& a) {
             const std::string keyId = toolFor(a).createIssuer(a.get("id"), a.number("valid-days", 730, 1, 36500));
             std::cout << "issuer key " << keyId << "\n";
         }},
        {{"issuer", "rotate"},
         "Give an issuer a new key (<issuer>/<n+1>) and make it current.",
         "Old keys and certificates stay: tickets signed with them carry their certificate and keep\n"
         "verifying until the ticket or the certificate expires. To stop an old key, revoke it.",
         {dirOption, {"id", "ISSUER", "issuer id", true, false}, validDays(730)},
         [](const Arguments& a) {
             const std::string keyId = toolFor(a).rotateIssuer(a.get("id"), a.number("valid-days", 730, 1, 36500));
             std::cout << "issuer key " << keyId << " is now current\n";
         }},
        {{"device", "issue"},
         "Issue STB identities: Ed25519 signing + X25519 agreement keys and a root certificate.",
         "With --count N, ID is a prefix and devices ID-0001 .. ID-N are issued (a factory batch).\n"
         "A TLS client certificate for mutual TLS is added when a TLS CA exists (unless --no-tls).",
         {dirOption, {"id", "DEVICE", "device id (prefix with --count)", true, false},
          {"count", "N", "issue N devices ID-0001..ID-N", false, false}, validDays(3650),
          {"no-tls", "", "no TLS client certificate", false, false}, forceOption},
         [](const Arguments& a) {
             KeyTool tool = toolFor(a);
             const long days = a.number("valid-days", 3650, 1, 36500);
             const bool tls = !a.has("no-tls") && tool.hasTlsCa();
             if (!a.has("count")) {
                 tool.issueDevice(a.get("id"), days, tls);
                 return;
             }
             const long count = a.number("count", 1, 1, 100000);
             for (long i = 1; i <= count; ++i) {
                 std::string n = std::to_string(i);
                 n = std::string(n.size() < 4 ? 4 - n.size() : 0, '0') + n;
                 tool.issueDevice(a.get("id") + "-" + n, days, tls);
             }
         }},
        {{"phone", "issue"},
         "Issue a phone key (P-256) and certificate, for the reference phone.",
         "",
         {dirOption, {"id", "PHONE", "phone id", true, false}, validDays(730), forceOption},
         [](const Arguments& a) { toolFor(a).issuePhone(a.get("id"), a.number("valid-days", 730, 1, 36500)); }},
        {{"server", "issue"},
         "Issue the server's signing key (receipts, vouchers, settlements, trusted time) and its X25519 "
         "agreement key (STB history batches carried by the phone are sealed to it).",
         "Key id <server>/1. For a new key later use 'server rotate': --force replaces the keys, and\n"
         "what STBs sealed to the old agreement key no longer opens (refused once a rotation happened).",
         {dirOption, {"id", "SERVER", "server id (default server)", false, false}, validDays(730), forceOption},
         [](const Arguments& a) {
             toolFor(a).issueServer(a.getOr("id", "server"), a.number("valid-days", 730, 1, 36500));
         }},
        {{"server", "rotate"},
         "Give the server a new signing and agreement key (<server id>/<n+1>).",
         "The old agreement key and certificate move to DIR/server/retired/, so that history and\n"
         "approvals that STBs sealed to them before they learnt the new certificate still open; the\n"
         "old signing key is removed. The new certificate starts after the old one, even within the\n"
         "same second (phones follow only a later server certificate). Restart the server processes\n"
         "to use the new key. Revoking the old key id ('revoke --key', when it leaked) does not\n"
         "retire it on the server: removing DIR/server/retired/<key> does.",
         {dirOption, validDays(730)},
         [](const Arguments& a) {
             const std::string keyId = toolFor(a).rotateServer(a.number("valid-days", 730, 1, 36500));
             std::cout << "server key " << keyId << " in use\n";
         }},
        {{"tls", "ca"},
         "Create the TLS certificate authority (P-256) for HTTPS and device mTLS.",
         "",
         {dirOption, validDays(3650), forceOption},
         [](const Arguments& a) { toolFor(a).createTlsCa(a.number("valid-days", 3650, 1, 36500)); }},
        {{"tls", "server-cert"},
         "Issue the server's HTTPS certificate (creates the TLS CA if missing).",
         "The first --name is the common name; every --name and --ip goes into subjectAltName.",
         {dirOption, {"name", "HOST", "DNS name", true, true}, {"ip", "ADDRESS", "IP address", false, true},
          validDays(730), forceOption},
         [](const Arguments& a) {
             toolFor(a).issueTlsServer(a.all("name"), a.all("ip"), a.number("valid-days", 730, 1, 36500));
         }},
        {{"tls", "client-cert"},
         "Issue a device's TLS client certificate (CN = device id) for mutual TLS.",
         "",
         {dirOption, {"device", "DEVICE", "device id", true, false}, validDays(3650), forceOption},
         [](const Arguments& a) {
             toolFor(a).issueTlsClient(a.get("device"), a.number("valid-days", 3650, 1, 36500));
         }},
        {{"revoke"},
         "Add keys, devices or tickets to the root-signed revocation list (DIR/revocations.bin).",
         "Each run publishes a new list with the next sequence number; STBs take only newer lists.",
         {dirOption, {"key", "KEYID", "revoke a certificate key id", false, true},
          {"device", "DEVICE", "revoke a device", false, true}, {"ticket", "TICKET", "revoke a ticket", false, true},
          validDays(7)},
         [](const Arguments& a) {
             if (a.all("key").empty() && a.all("device").empty() && a.all("ticket").empty())
                 throw UsageError("nothing to revoke: give --key, --device or --ticket");
             const auto sequence =
                 toolFor(a).revoke(a.all("key"), a.all("device"), a.all("ticket"), a.number("valid-days", 7, 1, 3650));
             std::cout << "revocation list sequence " << sequence << "\n";
         }},
        {{"event-key"},
         "Generate an event (viewing) key into DIR/events/<id>.key (hex, secret).",
         "",
         {dirOption, {"id", "KEYID", "event key id", true, false},
          {"bits", "128|256", "AES key size (default 128)", false, false}, forceOption},
         [](const Arguments& a) {
             toolFor(a).createEventKey(a.get("id"), static_cast<int>(a.number("bits", 128, 128, 256)));
         }},
        {{"dev"},
         "Write the complete DEVELOPMENT key set used by the demo and the tests.",
         "Root, issuer 'issuer-dev', server signing key, TLS CA and HTTPS certificate for localhost,\n"
         "STBs stb-1 and stb-2 (with mTLS client certificates), phone-1, an empty revocation list\n"
         "and event key ev-demo/1. --out is accepted as a synonym of --dir.",
         {{"dir", "DIR", "output directory", false, false}, {"out", "DIR", "output directory", false, false},
          forceOption},
         [](const Arguments& a) {
             if (a.has("dir") == a.has("out")) throw UsageError("give exactly one of --out or --dir");
             KeyTool(a.has("out") ? a.get("out") : a.get("dir"), a.has("force"),
                     static_cast<wire::UnixTime>(std::time(nullptr)))
                 .createDevelopmentSet();
         }},
        {{"show"},
         "Print a certificate, ticket, trusted time, revocation list or X.509 PEM as JSON.",
         "",
         {{"file", "FILE", "file to show", true, false}},
         [](const Arguments& a) { show(a.get("file")); }},
    };
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    return CommandLine("boxoffice-keytool", commands()).run(args);
}
