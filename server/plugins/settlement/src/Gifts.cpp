#include <boxoffice/settlement/Gifts.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/ledger/Types.h>
#include <boxoffice/settlement/Deliveries.h>
#include <boxoffice/trust/Signing.h>

namespace boxoffice::settlement {
namespace {

using storage::Transaction;

constexpr const char* kColumns =
    "gift_id, event_id, requested_device_id, requested_account_id, amount, currency, requested_deliver_at, message,"
    " buyer_account_id, phone_id, recipient_account_id, recipient_device_id, payee, deliver_at, created_at, voucher,"
    " receipt, ticket_id";

void checkGiftId(const std::string& id)
{
    bool ok = !id.empty() && id.size() <= 48;
    for (char c : id)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-');
    if (!ok) throw Error(ErrorCode::InvalidArgument, "gift id must be 1..48 characters of [A-Za-z0-9._-]");
}

} // namespace

std::vector<std::string> Gifts::migration()
{
    return {"CREATE TABLE stl_gift (gift_id {text} PRIMARY KEY, event_id {text} NOT NULL,"
            " requested_device_id {text} NOT NULL, requested_account_id {text} NOT NULL, amount {int64} NOT NULL,"
            " currency {text} NOT NULL, requested_deliver_at {int64} NOT NULL, message {text} NOT NULL,"
            " buyer_account_id {text} NOT NULL, phone_id {text} NOT NULL, recipient_account_id {text} NOT NULL,"
            " recipient_device_id {text} NOT NULL, payee {text} NOT NULL, deliver_at {int64} NOT NULL,"
            " created_at {int64} NOT NULL, voucher {blob} NOT NULL, receipt {blob} NOT NULL,"
            " ticket_id {text} NOT NULL UNIQUE, transfer_id {text} NOT NULL UNIQUE)",
            "CREATE INDEX stl_gift_buyer ON stl_gift (buyer_account_id, created_at)"};
}

std::optional<GiftView> Gifts::find(Transaction& tx, const std::string& giftId)
{
    auto r = tx.query(std::string("SELECT ") + kColumns + " FROM stl_gift WHERE gift_id = ?", {giftId}).single();
    if (!r) return std::nullopt;
    GiftView g;
    g.request = {r->text(0), r->text(1), r->text(2), r->text(3), r->int64(4), r->text(5), r->int64(6), r->text(7)};
    g.buyerAccountId = r->text(8);
    g.phoneId = r->text(9);
    g.recipientAccountId = r->text(10);
    g.recipientDeviceId = r->text(11);
    g.payee = r->text(12);
    g.deliverAt = r->int64(13);
    g.createdAt = r->int64(14);
    g.voucher = wire::Voucher::decode(r->blob(15));
    g.receipt = wire::Receipt::decode(r->blob(16));
    g.delivered = tx.query("SELECT 1 FROM stl_delivery WHERE ticket_id = ? AND acknowledged_at IS NOT NULL",
                           {r->text(17)})
                      .single()
                      .has_value();
    return g;
}

GiftView Gifts::give(const std::string& phoneId, const GiftRequest& request)
{
    checkGiftId(request.giftId);
    ledger::checkId(request.eventId, "event id");
    ledger::checkCurrency(request.currency);
    if (request.recipientDeviceId.empty() && request.recipientAccountId.empty())
        throw Error(ErrorCode::InvalidArgument, "name the recipient by recipientDeviceId or recipientAccountId");
    if (!request.recipientDeviceId.empty()) ledger::checkId(request.recipientDeviceId, "recipient device id");
    if (!request.recipientAccountId.empty()) ledger::checkId(request.recipientAccountId, "recipient account id");
    if (request.amount <= 0 || request.amount > wire::maxAmount)
        throw Error(ErrorCode::InvalidArgument, "amount must be 1.." + std::to_string(wire::maxAmount));
    if (request.deliverAt < 0 || request.deliverAt > 253402300799)
        throw Error(ErrorCode::InvalidArgument, "deliverAt must be a unix time in seconds");
    if (request.message.size() > 500) throw Error(ErrorCode::InvalidArgument, "message is longer than 500 bytes");
    const auto buyer = settlement_.accountOfPhone(phoneId);

    auto run = [&](Transaction& tx) {
        if (auto existing = find(tx, request.giftId)) {
            if (existing->request != request || existing->buyerAccountId != buyer)
                throw Error(ErrorCode::Conflict, "gift id " + request.giftId + " was used for another gift");
            return *existing;
        }
        // The recipient's STB.
        std::string deviceId = request.recipientDeviceId;
        std::string recipientAccount;
        if (!deviceId.empty()) {
            auto d = tx.query("SELECT account_id FROM stl_device WHERE device_id = ?", {deviceId}).single();
            if (!d || (!request.recipientAccountId.empty() && d->text(0) != request.recipientAccountId))
                throw Error(ErrorCode::NotFound, "no registered STB " + deviceId);
            recipientAccount = d->text(0);
        } else {
            recipientAccount = request.recipientAccountId;
            auto devices = tx.query("SELECT device_id FROM stl_device WHERE account_id = ? ORDER BY device_id",
                                    {recipientAccount});
            if (devices.empty()) throw Error(ErrorCode::NotFound, "account " + recipientAccount + " has no STB");
            if (devices.size() > 1)
                throw Error(ErrorCode::InvalidArgument, "account " + recipientAccount + " has " +
                                                            std::to_string(devices.size()) +
                                                            " STBs: name one with recipientDeviceId");
            deviceId = devices[0].text(0);
        }
        const auto event = settlement_.findEvent(tx, request.eventId);
        if (!event) throw Error(ErrorCode::NotFound, "no event " + request.eventId);
        const auto now = settlement_.nowSeconds();
        if (event->blackout) throw Error(ErrorCode::PermissionDenied, "event " + event->eventId + " is blacked out");
        if (now < event->saleFrom) throw Error(ErrorCode::NotYetValid, "sales for this event have not opened");
        if (now >= event->saleUntil) throw Error(ErrorCode::Expired, "sales for this event have closed");
        if (event->price != request.amount || event->currency != request.currency)
            throw Error(ErrorCode::Conflict, "the price of " + event->eventId + " is " + std::to_string(event->price) +
                                                 " " + event->currency);
        const auto deliverAt = request.deliverAt == 0 ? now : request.deliverAt;
        if (deliverAt < now) throw Error(ErrorCode::InvalidArgument, "deliverAt is in the past");
        if (deliverAt >= event->endsAt) throw Error(ErrorCode::InvalidArgument, "deliverAt is after the event ends");
        if (settlement_.ledger().findAccount(tx, buyer).value().inhibited)
            throw Error(ErrorCode::PermissionDenied, "account " + buyer + " is inhibited after a 'not me' report:"
                                                     " the operator or the account holder must clear it");

        const auto transferId = "gift:" + request.giftId;
        // Posted at once (LimitExceeded below the wallet's floor: the whole gift rolls back).
        settlement_.ledger().create(tx, {transferId, buyer, event->payee, request.amount, request.currency, 0,
                                         "gift " + request.giftId});
        const auto ticket = settlement_.issueTicket(tx, "tg-" + request.giftId, transferId, *event, deviceId, now);
        tx.execute("INSERT INTO stl_ticket (ticket_id, order_id, transfer_id, device_id, issued_at)"
                   " VALUES (?, ?, ?, ?, ?)",
                   {ticket.ticketId, transferId, transferId, deviceId, now});
        settlement_.deliveries().enqueue(tx, ticket, "gift", deliverAt);

        wire::Voucher voucher;
        voucher.voucherId = "v-" + request.giftId;
        voucher.orderId = transferId;
        voucher.ticketId = ticket.ticketId;
        voucher.eventId = event->eventId;
        voucher.buyerAccountId = buyer;
        voucher.recipientAccountId = recipientAccount;
        voucher.recipientDeviceId = deviceId;
        voucher.deliverAt = deliverAt;
        voucher.issuedAt = now;
        trust::sign(voucher, settlement_.keys().server.key);
        wire::Receipt receipt;
        receipt.receiptId = "r-" + transferId;
        receipt.orderId = transferId;
        receipt.transactionNumber = transferId;
        receipt.ticketId = ticket.ticketId;
        receipt.accountId = buyer;
        receipt.payee = event->payee;
        receipt.amount = request.amount;
        receipt.currency = request.currency;
        receipt.issuedAt = now;
        trust::sign(receipt, settlement_.keys().server.key);
        tx.execute(std::string("INSERT INTO stl_gift (") + kColumns +
                       ", transfer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {request.giftId, request.eventId, request.recipientDeviceId, request.recipientAccountId,
                    request.amount, request.currency, request.deliverAt, request.message, buyer, phoneId,
                    recipientAccount, deviceId, event->payee, deliverAt, now, voucher.encode(), receipt.encode(),
                    ticket.ticketId, transferId});
        return find(tx, request.giftId).value();
    };
    try {
        return settlement_.ledger().database().write(run);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::AlreadyExists) throw; // lost a race with a concurrent duplicate
        return settlement_.ledger().database().write(run);
    }
}

std::vector<GiftView> Gifts::vouchersOf(const std::string& phoneId, std::size_t limit)
{
    const auto buyer = settlement_.accountOfPhone(phoneId);
    return settlement_.ledger().database().read([&](Transaction& tx) {
        std::vector<GiftView> out;
        for (const auto& r : tx.query("SELECT gift_id FROM stl_gift WHERE buyer_account_id = ?"
                                      " ORDER BY created_at DESC, gift_id LIMIT ?",
                                      {buyer, static_cast<std::int64_t>(limit)}))
            out.push_back(find(tx, r.text(0)).value());
        return out;
    });
}

} // namespace boxoffice::settlement
