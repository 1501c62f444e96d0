// boxoffice-ctl: calls one method of a daemon's JSON-RPC control API and prints
// the result as JSON. For operators, scripts and the demo.
//
//   boxoffice-ctl [--port N | --port-file F] [--token-file F] METHOD [PARAMS-JSON]
//   The token may also come from $BOXOFFICE_TOKEN; it never appears on the
//   command line of a process list when read from a file or the environment.

#include <boxoffice/base/Error.h>
#include <boxoffice/rpc/Client.h>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Util/Application.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <fstream>
#include <iostream>

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitFailed = 1;

std::string firstLine(const std::string& file)
{
    std::ifstream in(file);
    if (!in) throw boxoffice::Error(boxoffice::ErrorCode::Io, "cannot read " + file);
    std::string line;
    std::getline(in, line);
    return line;
}

class Ctl : public Poco::Util::Application {
protected:
    void defineOptions(Poco::Util::OptionSet& options) override
    {
        Application::defineOptions(options);
        options.addOption(Poco::Util::Option("help", "h", "show this help and exit"));
        options.addOption(Poco::Util::Option("host", "", "control API address (default 127.0.0.1)").argument("ADDRESS"));
        options.addOption(Poco::Util::Option("port", "p", "control API port (default 9998)").argument("N"));
        options.addOption(Poco::Util::Option("port-file", "", "read the port from FILE").argument("FILE"));
        options.addOption(Poco::Util::Option("token-file", "t", "read the client token from FILE").argument("FILE"));
        options.addOption(Poco::Util::Option("pretty", "", "indent the JSON output"));
    }

    void handleOption(const std::string& name, const std::string& value) override
    {
        Application::handleOption(name, value);
        if (name == "help") {
            help_ = true;
            stopOptionsProcessing();
        } else if (name == "host") {
            host_ = value;
        } else if (name == "port") {
            port_ = value;
        } else if (name == "port-file") {
            portFile_ = value;
        } else if (name == "token-file") {
            tokenFile_ = value;
        } else if (name == "pretty") {
            pretty_ = true;
        }
    }

    int main(const std::vector<std::string>& args) override
    {
        if (help_ || args.empty()) {
            Poco::Util::HelpFormatter help(options());
            help.setCommand("boxoffice-ctl");
            help.setUsage("[options] METHOD [PARAMS-JSON]");
            help.setHeader("Calls a JSON-RPC method of boxofficed or boxoffice-server and prints the result.\n"
                           "The client token comes from --token-file or $BOXOFFICE_TOKEN.");
            help.setFooter("Example: boxoffice-ctl --port-file /run/boxoffice/port host.1.plugins");
            help.format(std::cout);
            return help_ ? EXIT_OK : kExitUsage;
        }
        try {
            const std::string token = !tokenFile_.empty() ? firstLine(tokenFile_)
                                      : std::getenv("BOXOFFICE_TOKEN") ? std::getenv("BOXOFFICE_TOKEN")
                                                                        : "";
            const std::string portText = !portFile_.empty() ? firstLine(portFile_) : port_;
            int port = 0;
            try {
                port = std::stoi(portText);
            } catch (const std::exception&) {
                port = 0;
            }
            if (port <= 0 || port > 65535) {
                std::cerr << "boxoffice-ctl: '" << portText << "' is not a port\n";
                return kExitUsage;
            }
            Poco::Dynamic::Var params;
            if (args.size() > 1) {
                try {
                    params = Poco::JSON::Parser().parse(args[1]);
                } catch (const Poco::Exception& error) {
                    std::cerr << "boxoffice-ctl: PARAMS-JSON is not JSON: " << error.displayText() << "\n";
                    return kExitUsage;
                }
            }
            boxoffice::rpc::HttpClient client(host_, static_cast<std::uint16_t>(port), token);
            const auto result = client.call(args[0], params);
            Poco::JSON::Stringifier::stringify(result, std::cout, pretty_ ? 2 : 0);
            std::cout << "\n";
            return EXIT_OK;
        } catch (const boxoffice::Error& error) {
            std::cerr << "boxoffice-ctl: " << args[0] << ": " << error.what() << "\n";
            return kExitFailed;
        }
    }

private:
    bool help_ = false;
    bool pretty_ = false;
    std::string host_ = "127.0.0.1";
    std::string port_ = "9998";
    std::string portFile_;
    std::string tokenFile_;
};

} // namespace

int main(int argc, char** argv)
{
    Ctl ctl;
    try {
        ctl.init(argc, argv);
    } catch (const Poco::Exception& error) {
        std::cerr << "boxoffice-ctl: " << error.displayText() << " (try --help)\n";
        return kExitUsage;
    }
    return ctl.run();
}
