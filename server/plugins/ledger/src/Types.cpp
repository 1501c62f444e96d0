#include <boxoffice/ledger/Types.h>

#include <boxoffice/base/Error.h>

#include <array>
#include <utility>

namespace boxoffice::ledger {
namespace {

constexpr std::array<std::pair<AccountKind, std::string_view>, 5> kKinds{{
    {AccountKind::Wallet, "wallet"},
    {AccountKind::Postpaid, "postpaid"},
    {AccountKind::Merchant, "merchant"},
    {AccountKind::Revenue, "revenue"},
    {AccountKind::Funding, "funding"},
}};

constexpr std::array<std::pair<TransferState, std::string_view>, 4> kStates{{
    {TransferState::Pending, "pending"},
    {TransferState::Posted, "posted"},
    {TransferState::Voided, "voided"},
    {TransferState::Expired, "expired"},
}};

} // namespace

std::string_view toString(AccountKind kind) noexcept
{
    for (const auto& [k, name] : kKinds)
        if (k == kind) return name;
    return "?";
}

std::string_view toString(TransferState state) noexcept
{
    for (const auto& [s, name] : kStates)
        if (s == state) return name;
    return "?";
}

AccountKind accountKindFromString(std::string_view keyword)
{
    for (const auto& [k, name] : kKinds)
        if (name == keyword) return k;
    throw Error(ErrorCode::InvalidArgument, "unknown account kind '" + std::string(keyword) + "'");
}

TransferState transferStateFromString(std::string_view keyword)
{
    for (const auto& [s, name] : kStates)
        if (name == keyword) return s;
    throw Error(ErrorCode::InvalidArgument, "unknown transfer state '" + std::string(keyword) + "'");
}

void checkId(std::string_view id, std::string_view what)
{
    bool ok = !id.empty() && id.size() <= 80;
    for (char c : id) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                             c == '_' || c == ':' || c == '-';
        ok = ok && allowed;
    }
    if (!ok)
        throw Error(ErrorCode::InvalidArgument,
                    std::string(what) + " must be 1..80 characters of [A-Za-z0-9._:-]");
}

void checkCurrency(std::string_view currency)
{
    bool ok = currency.size() == 3;
    for (char c : currency) ok = ok && c >= 'A' && c <= 'Z';
    if (!ok) throw Error(ErrorCode::InvalidArgument, "currency must be three upper-case letters (ISO 4217)");
}

} // namespace boxoffice::ledger
