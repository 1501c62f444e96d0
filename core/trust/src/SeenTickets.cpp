#include <boxoffice/trust/SeenTickets.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/wire/Types.h>

#include "SecureFile.h"

#include <sstream>

namespace boxoffice::trust {

bool InMemorySeenTickets::contains(std::string_view ticketId) const
{
    std::lock_guard lock(mutex_);
    return ids_.find(ticketId) != ids_.end();
}

void InMemorySeenTickets::add(std::string_view ticketId)
{
    std::lock_guard lock(mutex_);
    ids_.emplace(ticketId);
}

FileSeenTickets::FileSeenTickets(std::filesystem::path file) : file_(std::move(file))
{
    if (!std::filesystem::exists(file_)) return;
    std::istringstream in(detail::readFile(file_));
    std::string line;
    while (std::getline(in, line)) {
        // A torn last line from a crash is ignored; anything else invalid is corruption.
        if (line.empty() || in.eof()) {
            if (!line.empty() && wire::isValidId(line)) cache_.add(line);
            continue;
        }
        if (!wire::isValidId(line)) throw Error(ErrorCode::Storage, "seen-tickets file " + file_.string() + " is corrupt");
        cache_.add(line);
    }
}

bool FileSeenTickets::contains(std::string_view ticketId) const { return cache_.contains(ticketId); }

void FileSeenTickets::add(std::string_view ticketId)
{
    if (!wire::isValidId(ticketId)) throw Error(ErrorCode::InvalidArgument, "not a ticket id");
    detail::appendLine(file_, ticketId);
    cache_.add(ticketId);
}

} // namespace boxoffice::trust
