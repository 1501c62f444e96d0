// boxoffice-phone: the reference phone on the command line. Plays the phone's
// side of the Bluetooth protocol against an STB through the fake radio of the
// test BlueZ (tests/bluetooth/fakebluez), for the demo and for manual runs.
//
//   boxoffice-phone --bus ADDR pair            link + application pairing
//   boxoffice-phone --bus ADDR ping --count 10 session, round trips, latency
//   boxoffice-phone --bus ADDR listen --approve   answer settlement requests
//   boxoffice-phone --bus ADDR info
//   boxoffice-phone --server HOST:PORT --ca CA --credentials DIR register CODE
//   boxoffice-phone --server HOST:PORT --ca CA --credentials DIR purchases
//   boxoffice-phone --bus ADDR --server ... --credentials DIR listen --approve
//       (also carries history handoffs to the server, flow 5)
//
// --credentials names the phone's keytool directory (sign.key.pem, phone.cert):
// the key the phone registered with the server, also its Bluetooth key when the
// state file is created. --server gives the phone its own HTTPS line; without
// it approvals go back to the STB to relay, sealed to the server certificate
// given by --server-certificate (the operator's server.cert from boxoffice-keytool).
// --trust-anchor (the operator's root.json) lets the phone follow a rotated server
// key: a server certificate presented to it is used once it checks under the root.

#include <boxoffice/base/Error.h>
#include <boxoffice/base/Hex.h>
#include <boxoffice/bluetooth/Info.h>
#include <boxoffice/bluetooth/Messages.h>
#include <boxoffice/crypto/Random.h>
#include <boxoffice/phone/FakeRadioLink.h>
#include <boxoffice/phone/Phone.h>
#include <boxoffice/phone/ServerLine.h>
#include <boxoffice/phone/Settler.h>
#include <boxoffice/serverapi/Client.h>
#include <boxoffice/trust/KeyFiles.h>

#include <filesystem>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <thread>

using namespace boxoffice;
namespace bt = boxoffice::bluetooth;

namespace {

volatile std::sig_atomic_t interrupted = 0;

int usage()
{
    std::cerr << "usage: boxoffice-phone [--bus ADDRESS] [--address AA:BB:CC:DD:EE:FF] [--mtu N] [--state FILE]\n"
                 "                       [--name NAME] [--stb NAME] [--server HOST:PORT --ca FILE]\n"
                 "                       [--credentials PHONE_DIR] [--server-certificate FILE]\n"
                 "                       [--trust-anchor ROOT_JSON] COMMAND [ARGS]\n"
                 "commands:\n"
                 "  register CODE                        bind the STB showing CODE to the phone's account (server)\n"
                 "  purchases                            the account's purchases and receipts (server)\n"
                 "  info                                 show the STB's info characteristic\n"
                 "  pair [--yes] [--passkey N]           pair (link, then application), confirming the codes\n"
                 "  ping [--count N] [--size BYTES]      open a session and measure round trips\n"
                 "  listen [--approve|--not-me] [--seconds N]\n"
                 "                                       open a session and answer the STB's messages:\n"
                 "                                       settlement requests approved, declined (neither flag)\n"
                 "                                       or reported \"not me\" (signed) over the server\n"
                 "                                       line, or relayed by the STB without --server\n"
                 "                                       (sealed to --server-certificate);\n"
                 "                                       history handoffs uploaded over --server, the\n"
                 "                                       settlement result returned to the STB\n"
                 "  forget STB                           drop the pairing with STB\n";
    return 2;
}

bool ask(const std::string& question, bool yes)
{
    std::cout << question << (yes ? " [yes]" : " [y/N] ") << std::flush;
    if (yes) {
        std::cout << '\n';
        return true;
    }
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "y" || answer == "yes";
}

std::string pickStb(const phone::Phone& p, const std::string& wanted)
{
    if (!wanted.empty()) return wanted;
    const auto stbs = p.pairedStbs();
    if (stbs.size() != 1) throw Error(ErrorCode::InvalidArgument, "paired with " + std::to_string(stbs.size()) + " STBs: name one with --stb");
    return stbs.front();
}

void describe(const bt::Message& m)
{
    std::cout << "<- " << bt::toString(m.type) << " id " << m.id;
    if (m.type == bt::MessageType::SettlementRequest) {
        const auto r = bt::SettlementRequestBody::decode(m.body);
        std::cout << ": " << r.title << ", " << r.amountMinor / 100 << '.' << (r.amountMinor % 100 < 10 ? "0" : "")
                  << r.amountMinor % 100 << ' ' << r.currency << " to " << r.payee << " (transaction " << r.transactionId
                  << ")";
    }
    std::cout << '\n';
}

std::string money(std::int64_t minor, const std::string& currency)
{
    return std::to_string(minor / 100) + '.' + (minor % 100 < 10 ? "0" : "") + std::to_string(minor % 100) + ' ' + currency;
}

// The phone's line to the server from --server HOST:PORT, --ca and --credentials.
std::shared_ptr<phone::ServerLine> serverLine(std::map<std::string, std::string>& options)
{
    if (!options.count("server")) return std::make_shared<phone::OfflineServerLine>();
    if (!options.count("credentials") || !options.count("ca"))
        throw Error(ErrorCode::InvalidArgument, "--server needs --ca and --credentials");
    const auto& server = options["server"];
    const auto colon = server.rfind(':');
    if (colon == std::string::npos) throw Error(ErrorCode::InvalidArgument, "--server must read HOST:PORT");
    serverapi::ClientOptions c;
    c.host = server.substr(0, colon);
    c.port = static_cast<std::uint16_t>(std::stoi(server.substr(colon + 1)));
    c.serverCa = options["ca"];
    const std::filesystem::path dir = options["credentials"];
    c.phoneId = trust::loadPhone(dir).certificate.subject;
    c.phoneKey = crypto::P256PrivateKey::fromPem(trust::readKeyFile(dir / "sign.key.pem"));
    return std::make_shared<phone::HttpsServerLine>(c);
}

} // namespace

int main(int argc, char** argv)
{
    std::map<std::string, std::string> options{{"mtu", "185"}, {"address", "AA:BB:CC:DD:EE:01"},
                                               {"state", "phone.json"}, {"name", "Reference phone"}};
    if (const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS")) options["bus"] = env;
    std::vector<std::string> rest;
    std::map<std::string, bool> flags;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--yes" || arg == "--approve" || arg == "--not-me") flags[arg.substr(2)] = true;
        else if (arg.rfind("--", 0) == 0 && i + 1 < argc) options[arg.substr(2)] = argv[++i];
        else if (arg.rfind("--", 0) == 0) return usage();
        else rest.push_back(arg);
    }
    if (rest.empty()) return usage();
    const std::string command = rest[0];
    const bool serverOnly = command == "register" || command == "purchases";
    if (!serverOnly && options["bus"].empty()) return usage();
    std::signal(SIGINT, [](int) { interrupted = 1; });
    std::signal(SIGTERM, [](int) { interrupted = 1; });

    try {
        if (serverOnly) {
            auto line = serverLine(options);
            if (!line->available()) throw Error(ErrorCode::InvalidArgument, command + " needs --server");
            if (command == "register") {
                if (rest.size() != 2) return usage();
                const auto r = line->registerStb(rest[1]);
                std::cout << "registered STB " << r.deviceId << " to account " << r.accountId << " (" << r.state << ")\n";
                return 0;
            }
            for (const auto& o : line->purchases())
                std::cout << o.orderId << ' ' << o.eventId << ' ' << money(o.amount, o.currency) << " to " << o.payee
                          << " from " << o.deviceId << ": " << o.state
                          << (o.receipt ? " receipt " + o.receipt->receiptId : std::string()) << '\n';
            return 0;
        }
        if (options.count("credentials") && !std::filesystem::exists(options["state"])) {
            // The key registered with the server is also the phone's Bluetooth key.
            phone::Phone created(crypto::P256PrivateKey::fromPem(trust::readKeyFile(
                                     std::filesystem::path(options["credentials"]) / "sign.key.pem")),
                                 options["name"]);
            created.save(options["state"]);
        }
        auto me = phone::Phone::open(options["state"], options["name"]);
        if (command == "forget") {
            if (rest.size() != 2) return usage();
            me->forget(rest[1]);
            me->save(options["state"]);
            return 0;
        }
        auto link = std::make_shared<phone::FakeRadioLink>(phone::FakeRadioLink::Options{
            options["bus"], options["address"], static_cast<std::uint16_t>(std::stoi(options["mtu"]))});

        if (command == "info") {
            const auto info = bt::PeripheralInfo::decode(link->readInfo());
            std::cout << "STB \"" << info.name << "\", protocol " << int(info.version) << ", largest message body "
                      << info.maxBody << " bytes, pairing " << (info.pairingOpen ? "open" : "closed") << '\n';
            return 0;
        }
        if (command == "pair") {
            // In real life the controllers derive it; here the phone plays both radios.
            const auto r = crypto::randomBytes(4);
            const std::uint32_t passkey =
                options.count("passkey") ? static_cast<std::uint32_t>(std::stoul(options["passkey"]))
                                         : ((std::uint32_t{r[0]} << 24) | (std::uint32_t{r[1]} << 16) |
                                            (std::uint32_t{r[2]} << 8) | r[3]) % 1000000u;
            char shown[8];
            std::snprintf(shown, sizeof shown, "%06u", passkey);
            std::cout << "Bluetooth pairing: does the TV show " << shown << "? Confirm it on the TV.\n";
            if (!link->pairLink(passkey)) {
                std::cerr << "link pairing refused by the STB\n";
                return 1;
            }
            me->attach(link);
            const auto stb = me->pair([&](const std::string& code) {
                return ask("BoxOffice pairing code " + code + ": does the TV show the same code?", flags["yes"]);
            });
            me->save(options["state"]);
            std::cout << "paired with \"" << stb << "\" as phone " << me->id() << '\n';
            return 0;
        }

        me->attach(link);
        const auto stb = pickStb(*me, options["stb"]);
        me->openSession(stb);
        std::cout << "session open with \"" << stb << "\"\n";

        if (command == "ping") {
            const int count = std::stoi(options.count("count") ? options["count"] : "5");
            const auto size = static_cast<std::size_t>(std::stoul(options.count("size") ? options["size"] : "64"));
            for (int i = 0; i < count && !interrupted; ++i) {
                const Bytes body = crypto::randomBytes(size);
                const auto start = std::chrono::steady_clock::now();
                const auto pong = me->request({bt::MessageType::Ping, 0, 0, body}, std::chrono::seconds(10));
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
                std::cout << "pong " << pong.body.size() << " bytes in " << us.count() << " us"
                          << (pong.body == body ? "" : " (CORRUPT)") << '\n';
            }
            return 0;
        }
        if (command == "listen") {
            const bool approve = flags["approve"];
            const auto decision = flags["not-me"] ? wire::Decision::NotMe
                                  : approve       ? wire::Decision::Approve
                                                  : wire::Decision::Decline;
            std::shared_ptr<phone::Settler> settler;
            if (options.count("credentials")) {
                const auto creds = trust::loadPhone(options["credentials"]);
                settler = std::make_shared<phone::Settler>(
                    creds.certificate.subject, creds.key, serverLine(options), [decision](const phone::ServerOrder& o) {
                        std::cout << "approve " << money(o.amount, o.currency) << " to " << o.payee << " (order "
                                  << o.orderId << ")? " << wire::toString(decision) << std::endl;
                        return decision;
                    },
                    options.count("server-certificate")
                        ? std::optional<wire::Certificate>(trust::loadCertificate(options["server-certificate"]))
                        : std::nullopt);
                if (options.count("trust-anchor")) settler->trustRoot(trust::loadTrustAnchor(options["trust-anchor"]));
            }
            me->onMessage([approve, settler](const bt::Message& m) -> std::optional<bt::Message> {
                describe(m);
                if (settler) {
                    auto reply = settler->handle(m);
                    if (reply && reply->type == bt::MessageType::Result) {
                        const auto r = bt::ResultBody::decode(reply->body);
                        std::cout << "-> " << (r.ok ? "ok" : "refused") << ": " << r.text << std::endl;
                    }
                    if (reply && reply->type == bt::MessageType::SettlementResult)
                        std::cout << "-> history settled by the server through record "
                                  << bt::SettlementResultBody::decode(reply->body).highestSequence << std::endl;
                    if (reply) return reply;
                } else if (m.type == bt::MessageType::SettlementRequest) {
                    // Without the phone's registered key there is nothing valid to sign.
                    return bt::Message{bt::MessageType::Result, 0, 0,
                                       bt::ResultBody{false, "permission denied",
                                                      approve ? "the phone has no registered key (--credentials)"
                                                              : "declined on the phone",
                                                      {}}
                                           .encode()};
                }
                return bt::Message{bt::MessageType::Result, 0, 0, bt::ResultBody{true, "", "received", {}}.encode()};
            });
            const int seconds = std::stoi(options.count("seconds") ? options["seconds"] : "0");
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
            while (!interrupted && me->hasSession() && (seconds == 0 || std::chrono::steady_clock::now() < until))
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            return me->hasSession() || interrupted || seconds ? 0 : 1;
        }
        return usage();
    } catch (const Error& e) {
        std::cerr << "boxoffice-phone: " << e.what() << " (" << toString(e.code()) << ")\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "boxoffice-phone: " << e.what() << '\n';
        return 1;
    }
}
