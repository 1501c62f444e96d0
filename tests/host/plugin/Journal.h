#pragma once
// A service the host tests publish so that test plugins can report what
// happened to them, in order.

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace boxoffice::test {

struct Journal {
    static constexpr const char* kServiceId = "boxoffice.test.Journal/1";

    void record(std::string line)
    {
        std::lock_guard lock(mutex);
        lines.push_back(std::move(line));
    }
    std::vector<std::string> take()
    {
        std::lock_guard lock(mutex);
        return std::exchange(lines, {});
    }

    std::mutex mutex;
    std::vector<std::string> lines;
};

} // namespace boxoffice::test
