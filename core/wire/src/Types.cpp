#include <boxoffice/wire/Types.h>

#include <boxoffice/base/Error.h>

namespace boxoffice::wire {

std::string_view toString(ObjectType type) noexcept
{
    switch (type) {
    case ObjectType::Certificate: return "certificate";
    case ObjectType::Ticket: return "ticket";
    case ObjectType::Order: return "order";
    case ObjectType::Approval: return "approval";
    case ObjectType::Receipt: return "receipt";
    case ObjectType::Acknowledgement: return "acknowledgement";
    case ObjectType::Voucher: return "voucher";
    case ObjectType::SettlementResult: return "settlement_result";
    case ObjectType::HistoryRecord: return "history_record";
    case ObjectType::TrustedTime: return "trusted_time";
    case ObjectType::RevocationList: return "revocation_list";
    }
    return {};
}

std::string_view toString(SignatureAlgorithm algorithm) noexcept
{
    switch (algorithm) {
    case SignatureAlgorithm::Ed25519: return "ed25519";
    case SignatureAlgorithm::EcdsaP256Sha256: return "ecdsa-p256-sha256";
    }
    return {};
}

bool isValidId(std::string_view id) noexcept
{
    if (id.empty() || id.size() > maxIdSize) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                        || c == '_' || c == ':' || c == '@' || c == '/' || c == '+' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void checkId(std::string_view id, std::string_view what)
{
    if (!isValidId(id))
        throw Error(ErrorCode::InvalidArgument,
                    std::string(what) + " must be 1.." + std::to_string(maxIdSize) + " of [A-Za-z0-9._:@/+-]");
}

} // namespace boxoffice::wire
