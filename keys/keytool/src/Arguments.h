#pragma once
// Command-line parsing for boxoffice-keytool: "<command words> [--option value | --flag]...".
// Every command declares its options, so unknown options and missing values are
// clear errors, and --help is generated from the same declarations.

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace boxoffice::keytool {

struct OptionSpec {
    std::string name;        // without "--"
    std::string value;       // value placeholder; empty for a flag
    std::string help;
    bool required = false;
    bool repeatable = false;
};

class Arguments {
public:
    bool has(const std::string& name) const { return values_.count(name) != 0; }
    const std::string& get(const std::string& name) const;   // the (last) value
    std::string getOr(const std::string& name, const std::string& fallback) const;
    long number(const std::string& name, long fallback, long min, long max) const;
    std::vector<std::string> all(const std::string& name) const;

    std::map<std::string, std::vector<std::string>> values_;
};

struct CommandSpec {
    std::vector<std::string> words;   // e.g. {"device", "issue"}
    std::string summary;
    std::string details;
    std::vector<OptionSpec> options;
    std::function<void(const Arguments&)> run;
};

// Thrown for command-line mistakes (exit status 2, with a hint to --help).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class CommandLine {
public:
    CommandLine(std::string program, std::vector<CommandSpec> commands);
    // Parses and runs; returns the process exit status. Prints errors to stderr.
    int run(const std::vector<std::string>& argv) const;

private:
    std::string usage() const;
    std::string help(const CommandSpec& command) const;
    Arguments parse(const CommandSpec& command, const std::vector<std::string>& args) const;

    std::string program_;
    std::vector<CommandSpec> commands_;
};

} // namespace boxoffice::keytool
