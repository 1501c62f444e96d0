#include <boxoffice/trust/Revocation.h>

namespace boxoffice::trust {

void verifyRootRevocations(const wire::RevocationList& list, const TrustAnchor& root)
{
    verifySignature(list, root.verifyingKey());
}

void verifyServerRevocations(const wire::RevocationList& list, const VerifyingKey& serverKey)
{
    // The server revokes tickets it refunded; keys and devices are the root's decision.
    if (!list.revokedKeyIds.empty() || !list.revokedDeviceIds.empty())
        throw Error(ErrorCode::PermissionDenied,
                    "revocation_list: a list signed by the server may revoke tickets only, not keys or devices");
    verifySignature(list, serverKey);
}

void RevocationState::replace(Slot& slot, const wire::RevocationList& list)
{
    std::lock_guard lock(mutex_);
    if (list.sequence <= slot.sequence)
        throw Error(ErrorCode::Replayed, "revocation_list.sequence: " + std::to_string(list.sequence)
                                             + " is not newer than " + std::to_string(slot.sequence));
    slot.sequence = list.sequence;
    slot.nextUpdate = list.nextUpdate;
    slot.keys = {list.revokedKeyIds.begin(), list.revokedKeyIds.end()};
    slot.devices = {list.revokedDeviceIds.begin(), list.revokedDeviceIds.end()};
    slot.tickets = {list.revokedTicketIds.begin(), list.revokedTicketIds.end()};
}

void RevocationState::apply(const wire::RevocationList& list, const TrustAnchor& root)
{
    verifyRootRevocations(list, root);
    replace(root_, list);
}

void RevocationState::apply(const wire::RevocationList& list, const VerifyingKey& serverKey)
{
    verifyServerRevocations(list, serverKey);
    replace(server_, list);
}

bool RevocationState::isKeyRevoked(std::string_view keyId) const
{
    std::lock_guard lock(mutex_);
    return root_.keys.contains(keyId);
}

bool RevocationState::isDeviceRevoked(std::string_view deviceId) const
{
    std::lock_guard lock(mutex_);
    return root_.devices.contains(deviceId);
}

bool RevocationState::isTicketRevoked(std::string_view ticketId) const
{
    std::lock_guard lock(mutex_);
    return root_.tickets.contains(ticketId) || server_.tickets.contains(ticketId);
}

std::uint64_t RevocationState::rootSequence() const
{
    std::lock_guard lock(mutex_);
    return root_.sequence;
}

RootListStatus RevocationState::rootList(wire::UnixTime now) const
{
    std::lock_guard lock(mutex_);
    RootListStatus s{root_.sequence, root_.nextUpdate, std::nullopt};
    if (root_.sequence != 0 && now >= root_.nextUpdate) s.overdueFor = now - root_.nextUpdate;
    return s;
}

std::uint64_t RevocationState::serverSequence() const
{
    std::lock_guard lock(mutex_);
    return server_.sequence;
}

} // namespace boxoffice::trust
