#include "PhoneHandoff.h"

#include <boxoffice/base/Error.h>
#include <boxoffice/bluetooth/Protocol.h>
#include <boxoffice/sync/ServerLink.h>

#include <Poco/Logger.h>

namespace boxoffice::plugins::billing {

namespace bt = boxoffice::bluetooth;
using boxoffice::billing::History;

namespace {

Poco::Logger& logger() { return Poco::Logger::get("billing.handoff"); }

bt::Message resultMessage(bool ok, const std::string& error, const std::string& text)
{
    return {bt::MessageType::Result, 0, 0, bt::ResultBody{ok, error, text, {}}.encode()};
}

// The phone's Result (not ok) as the error it names.
Error refusalOf(const std::string& phoneId, const bt::ResultBody& result)
{
    const auto code = result.error.empty() ? ErrorCode::Unavailable : errorCodeFromString(result.error);
    return Error(code, "phone " + phoneId + " did not settle the history: " +
                           (result.text.empty() ? result.error : result.text));
}

} // namespace

std::size_t PhoneHandoff::maxBatchBytes()
{
    // What the handoff body's own fields take, measured on an empty one.
    static const std::size_t overhead = bt::HistoryHandoffBody{}.encode().size();
    return bt::kMaxBodySize - overhead;
}

PhoneHandoff::PhoneHandoff(std::shared_ptr<History> history, host::ServiceRegistry& services, Options options)
    : history_(std::move(history)), services_(services), options_(options)
{
    worker_ = std::thread([this] { run(); });
}

PhoneHandoff::~PhoneHandoff()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

bool PhoneHandoff::needed() const
{
    if (history_->credit().outstanding <= 0) return false;
    // With a line, the sync plugin uploads the history itself.
    const auto link = services_.find<sync::ServerLink>();
    return !link || !link->online();
}

PhoneHandoff::Outcome PhoneHandoff::handoff(const std::string& requested)
{
    std::lock_guard once(handoffMutex_);
    if (history_->credit().outstanding <= 0)
        throw Error(ErrorCode::NotFound, "no deferred purchase waits for settlement");
    const auto channel = services_.find<bt::PhoneChannel>();
    if (!channel) throw Error(ErrorCode::Unavailable, "no phone channel (the bluetooth plugin is not running)");
    std::string phoneId;
    for (const auto& p : channel->phones())
        if (p.connected && (requested.empty() || p.id == requested)) phoneId = p.id;
    if (phoneId.empty())
        throw Error(ErrorCode::Unavailable, requested.empty() ? "no trusted phone is connected"
                                                              : "phone " + requested + " is not connected");

    auto batch = history_->exportUnsettled(maxBatchBytes());
    if (!batch) throw Error(ErrorCode::NotFound, "every record is settled");
    bt::HistoryHandoffBody body;
    body.fromSequence = batch->firstSequence;
    body.toSequence = batch->lastSequence;
    body.history = batch->sealed;
    logger().information("history %s..%s handed to phone %s", std::to_string(batch->firstSequence),
                         std::to_string(batch->lastSequence), phoneId);
    const auto reply = channel->request(phoneId, {bt::MessageType::HistoryHandoff, 0, 0, body.encode()}, options_.phoneTimeout);
    if (reply.type == bt::MessageType::Result) {
        const auto result = bt::ResultBody::decode(reply.body);
        throw refusalOf(phoneId, result.ok ? bt::ResultBody{false, "", "it answered without a settlement result", {}} : result);
    }
    if (reply.type != bt::MessageType::SettlementResult)
        throw Error(ErrorCode::Malformed, std::string("phone answered the handoff with ") + bt::toString(reply.type));
    const auto settlement = bt::SettlementResultBody::decode(reply.body);
    // highestSequence is the phone's word; the signed result inside is what counts.
    Outcome out{phoneId, std::move(*batch), history_->applySettlement(settlement.result, settlement.serverCertificate)};
    logger().information("history settled through %s by phone %s (%s records, %s freed)",
                         std::to_string(out.settlement.settledThrough), phoneId,
                         std::to_string(out.settlement.recordsSettled), std::to_string(out.settlement.creditFreed));
    return out;
}

std::optional<bt::Message> PhoneHandoff::settlementFromPhone(const std::string& phoneId, const bt::Message& m)
{
    try {
        const auto body = bt::SettlementResultBody::decode(m.body);
        const auto settled = history_->applySettlement(body.result, body.serverCertificate);
        logger().information("settlement result from phone %s: settled through %s", phoneId,
                             std::to_string(settled.settledThrough));
        return resultMessage(true, "", "settled through " + std::to_string(settled.settledThrough));
    } catch (const Error& e) {
        logger().warning("settlement result from phone %s refused: %s", phoneId, std::string(e.what()));
        return resultMessage(false, std::string(toString(e.code())), e.what());
    } catch (const std::exception& e) {
        return resultMessage(false, std::string(toString(ErrorCode::Internal)), e.what());
    }
}

void PhoneHandoff::run()
{
    std::shared_ptr<bt::PhoneChannel> channel;
    std::uint64_t resultToken = 0, connectionToken = 0;
    while (true) {
        if (!channel) {
            if ((channel = services_.find<bt::PhoneChannel>())) {
                try {
                    resultToken = channel->subscribe(bt::MessageType::SettlementResult,
                                                     [this](const std::string& phone, const bt::Message& m) {
                                                         return settlementFromPhone(phone, m);
                                                     });
                    // The channel's handlers must not block on the phone: the worker hands off.
                    connectionToken = channel->watchConnections([this](const std::string& phone, bool up) {
                        if (!up || !options_.onConnect) return;
                        {
                            std::lock_guard lock(mutex_);
                            connected_.push_back(phone);
                        }
                        wake_.notify_all();
                    });
                } catch (const std::exception& e) {
                    logger().warning("settlement results from phones not accepted: %s", std::string(e.what()));
                }
            }
        }
        std::string phone;
        {
            std::unique_lock lock(mutex_);
            // Until the channel is found, look for it again every second.
            wake_.wait_for(lock, channel ? std::chrono::seconds(60) : std::chrono::seconds(1),
                           [this] { return stopping_ || !connected_.empty(); });
            if (stopping_) break;
            if (connected_.empty()) continue;
            phone = connected_.front();
            connected_.pop_front();
        }
        try {
            // One batch fits one message: hand off until everything is settled or the
            // phone stops making progress (then the next connection tries again).
            for (int batch = 0; batch < kMaxBatchesPerConnection && needed(); ++batch) {
                const auto before = history_->status().settledThrough;
                if (handoff(phone).settlement.settledThrough <= before) break;
            }
        } catch (const std::exception& e) {
            logger().warning("history not handed to phone %s: %s", phone, std::string(e.what()));
        }
    }
    if (channel) {
        if (resultToken) channel->unsubscribe(resultToken);
        if (connectionToken) channel->unsubscribe(connectionToken);
    }
}

} // namespace boxoffice::plugins::billing
