#include <boxoffice/trust/Revocation.h>

namespace boxoffice::trust {

void RevocationState::apply(const wire::RevocationList& list, const VerifyingKey& signer)
{
    verifySignature(list, signer);
    std::lock_guard lock(mutex_);
    if (list.sequence <= sequence_)
        throw Error(ErrorCode::Replayed, "revocation_list.sequence: " + std::to_string(list.sequence)
                                             + " is not newer than " + std::to_string(sequence_));
    sequence_ = list.sequence;
    keys_ = {list.revokedKeyIds.begin(), list.revokedKeyIds.end()};
    devices_ = {list.revokedDeviceIds.begin(), list.revokedDeviceIds.end()};
    tickets_ = {list.revokedTicketIds.begin(), list.revokedTicketIds.end()};
}

bool RevocationState::isKeyRevoked(std::string_view keyId) const
{
    std::lock_guard lock(mutex_);
    return keys_.find(keyId) != keys_.end();
}

bool RevocationState::isDeviceRevoked(std::string_view deviceId) const
{
    std::lock_guard lock(mutex_);
    return devices_.find(deviceId) != devices_.end();
}

bool RevocationState::isTicketRevoked(std::string_view ticketId) const
{
    std::lock_guard lock(mutex_);
    return tickets_.find(ticketId) != tickets_.end();
}

std::uint64_t RevocationState::sequence() const
{
    std::lock_guard lock(mutex_);
    return sequence_;
}

} // namespace boxoffice::trust
