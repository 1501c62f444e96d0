#include "Arguments.h"

#include <boxoffice/base/Error.h>

#include <algorithm>
#include <iostream>
#include <sstream>

namespace boxoffice::keytool {

const std::string& Arguments::get(const std::string& name) const
{
    const auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) throw UsageError("missing --" + name);
    return it->second.back();
}

std::string Arguments::getOr(const std::string& name, const std::string& fallback) const
{
    return has(name) ? get(name) : fallback;
}

long Arguments::number(const std::string& name, long fallback, long min, long max) const
{
    if (!has(name)) return fallback;
    const std::string& text = get(name);
    std::size_t used = 0;
    long value = 0;
    try {
        value = std::stol(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty())
        throw UsageError("--" + name + ": '" + text + "' is not a number");
    if (value < min || value > max)
        throw UsageError("--" + name + ": must be between " + std::to_string(min) + " and " + std::to_string(max));
    return value;
}

std::vector<std::string> Arguments::all(const std::string& name) const
{
    const auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

CommandLine::CommandLine(std::string program, std::vector<CommandSpec> commands)
    : program_(std::move(program)), commands_(std::move(commands))
{
}

std::string CommandLine::usage() const
{
    std::ostringstream out;
    out << "Usage: " << program_ << " <command> [options]\n\n"
        << "Creates and manages the BoxOffice key hierarchy: operator root, ticket issuers,\n"
        << "device identities, phones, the server's keys and TLS certificates, revocations,\n"
        << "event keys. Existing keys are never overwritten without --force.\n\nCommands:\n";
    for (const auto& c : commands_) {
        std::string words;
        for (const auto& w : c.words) words += (words.empty() ? "" : " ") + w;
        out << "  " << words << std::string(words.size() < 20 ? 20 - words.size() : 1, ' ') << c.summary << "\n";
    }
    out << "\nRun '" << program_ << " <command> --help' for the options of a command.\n";
    return out.str();
}

std::string CommandLine::help(const CommandSpec& command) const
{
    std::ostringstream out;
    out << "Usage: " << program_;
    for (const auto& w : command.words) out << " " << w;
    for (const auto& o : command.options) {
        std::string text = "--" + o.name + (o.value.empty() ? "" : " " + o.value);
        out << " " << (o.required ? text : "[" + text + "]") << (o.repeatable ? "..." : "");
    }
    out << "\n\n" << command.summary << "\n";
    if (!command.details.empty()) out << "\n" << command.details << "\n";
    out << "\nOptions:\n";
    for (const auto& o : command.options) {
        const std::string text = "--" + o.name + (o.value.empty() ? "" : " " + o.value);
        out << "  " << text << std::string(text.size() < 24 ? 24 - text.size() : 1, ' ') << o.help
            << (o.required ? " (required)" : "") << "\n";
    }
    out << "  --help                  show this help\n";
    return out.str();
}

Arguments CommandLine::parse(const CommandSpec& command, const std::vector<std::string>& args) const
{
    Arguments parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "'");
        std::string name = arg.substr(2);
        std::string value;
        bool inlineValue = false;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inlineValue = true;
        }
        const auto spec = std::find_if(command.options.begin(), command.options.end(),
                                       [&](const OptionSpec& o) { return o.name == name; });
        if (spec == command.options.end()) throw UsageError("unknown option --" + name);
        if (spec->value.empty()) {
            if (inlineValue) throw UsageError("--" + name + " takes no value");
            parsed.values_[name].push_back("");
            continue;
        }
        if (!inlineValue) {
            if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value " + spec->value);
            value = args[++i];
        }
        if (!spec->repeatable && parsed.has(name)) throw UsageError("--" + name + " given twice");
        parsed.values_[name].push_back(value);
    }
    for (const auto& o : command.options)
        if (o.required && !parsed.has(o.name)) throw UsageError("missing --" + o.name);
    return parsed;
}

int CommandLine::run(const std::vector<std::string>& argv) const
{
    // Longest command whose words prefix the arguments.
    const CommandSpec* command = nullptr;
    for (const auto& c : commands_) {
        if (c.words.size() > argv.size()) continue;
        if (!std::equal(c.words.begin(), c.words.end(), argv.begin())) continue;
        if (!command || c.words.size() > command->words.size()) command = &c;
    }
    const bool wantsHelp = std::find(argv.begin(), argv.end(), "--help") != argv.end()
                           || std::find(argv.begin(), argv.end(), "-h") != argv.end();
    if (!command) {
        if (argv.empty() || wantsHelp || argv[0] == "help") {
            std::cout << usage();
            return argv.empty() ? 2 : 0;
        }
        std::cerr << program_ << ": unknown command '" << argv[0] << "'\n\n" << usage();
        return 2;
    }
    if (wantsHelp) {
        std::cout << help(*command);
        return 0;
    }
    try {
        const std::vector<std::string> rest(argv.begin() + static_cast<std::ptrdiff_t>(command->words.size()), argv.end());
        command->run(parse(*command, rest));
        return 0;
    } catch (const UsageError& e) {
        std::string words;
        for (const auto& w : command->words) words += " " + w;
        std::cerr << program_ << words << ": " << e.what() << "\nTry '" << program_ << words << " --help'.\n";
        return 2;
    } catch (const Error& e) {
        std::cerr << program_ << ": error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << program_ << ": error: " << e.what() << "\n";
        return 1;
    }
}

} // namespace boxoffice::keytool
