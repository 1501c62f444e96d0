#pragma once
// Reads the vector files and captures in tests/data (located through
// BOXOFFICE_SOURCE_DIR, or the source directory compiled in).

#include <boxoffice/base/Bytes.h>
#include <boxoffice/base/Hex.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace boxoffice::testdata {

inline std::string path(const std::string& name) {
    if (const char* source = std::getenv("BOXOFFICE_SOURCE_DIR"))
        return std::string(source) + "/tests/data/" + name;
#ifdef BOXOFFICE_TEST_SOURCE_DIR
    return std::string(BOXOFFICE_TEST_SOURCE_DIR) + "/tests/data/" + name;
#else
    return "tests/data/" + name;
#endif
}

inline Bytes readFile(const std::string& name) {
    std::ifstream in(path(name), std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open test data " + path(name));
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// "name: value" lines grouped into cases that start at "case:"; '#' comments.
using Case = std::map<std::string, std::string>;
inline std::vector<Case> readCases(const std::string& name) {
    std::ifstream in(path(name));
    if (!in)
        throw std::runtime_error("cannot open test data " + path(name));
    std::vector<Case> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string key = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (key == "case")
            cases.emplace_back();
        if (!cases.empty())
            cases.back()[key] = value;
    }
    return cases;
}

inline Bytes hexOf(const Case& c, const std::string& key) { return fromHex(c.at(key), key); }

} // namespace boxoffice::testdata
