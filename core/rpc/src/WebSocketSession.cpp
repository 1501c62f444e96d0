#include "WebSocketSession.h"

namespace boxoffice::rpc {

void WebSocketSession::send(const std::string& text)
{
    std::lock_guard lock(sendMutex_);
    socket_.sendFrame(text.data(), static_cast<int>(text.size()), Poco::Net::WebSocket::FRAME_TEXT);
}

void WebSocketSession::close(std::uint16_t status, const std::string& reason)
{
    std::lock_guard lock(sendMutex_);
    std::string payload;
    payload.push_back(static_cast<char>(status >> 8));
    payload.push_back(static_cast<char>(status & 0xff));
    payload += reason;
    socket_.sendFrame(payload.data(), static_cast<int>(payload.size()), Poco::Net::WebSocket::FRAME_OP_CLOSE);
}

} // namespace boxoffice::rpc
