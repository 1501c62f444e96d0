#pragma once
// Ticket ids this device has already accepted, to refuse replays. The wallet may
// implement this over its own database; two implementations are provided.

#include <boxoffice/wire/Types.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace boxoffice::trust {

class SeenTickets {
public:
    virtual ~SeenTickets() = default;
    virtual bool contains(std::string_view ticketId) const = 0;
    virtual void add(std::string_view ticketId) = 0;
};

class InMemorySeenTickets final : public SeenTickets {
public:
    bool contains(std::string_view ticketId) const override;
    void add(std::string_view ticketId) override;

private:
    mutable std::mutex mutex_;
    std::set<std::string, std::less<>> ids_;
};

// One id per line, appended and fsync'ed (mode 0600).
class FileSeenTickets final : public SeenTickets {
public:
    explicit FileSeenTickets(std::filesystem::path file);
    bool contains(std::string_view ticketId) const override;
    void add(std::string_view ticketId) override;

private:
    std::filesystem::path file_;
    InMemorySeenTickets cache_;
};

} // namespace boxoffice::trust
