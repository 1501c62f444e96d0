#include <boxoffice/rpc/Client.h>

#include <Poco/Buffer.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>

#include <sstream>

namespace boxoffice::rpc {

namespace {

using Poco::JSON::Object;

std::string requestText(std::int64_t id, const std::string& method, const Poco::Dynamic::Var& params)
{
    Object::Ptr request = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    request->set("jsonrpc", "2.0");
    request->set("id", id);
    request->set("method", method);
    if (!params.isEmpty()) request->set("params", params);
    std::ostringstream out;
    request->stringify(out);
    return out.str();
}

Poco::Dynamic::Var parse(const std::string& text)
{
    try {
        Poco::JSON::Parser parser;
        return parser.parse(text);
    } catch (const Poco::Exception& error) {
        throw Error(ErrorCode::Malformed, "response is not JSON: " + error.displayText());
    }
}

} // namespace

Poco::Dynamic::Var resultOf(const Poco::Dynamic::Var& response)
{
    if (response.type() != typeid(Object::Ptr)) throw Error(ErrorCode::Malformed, "response is not a JSON object");
    const auto object = response.extract<Object::Ptr>();
    if (object->has("error")) {
        const auto error = object->getObject("error");
        std::string keyword = "internal";
        if (error && error->has("data")) {
            const auto data = error->getObject("data");
            if (data && data->has("error")) keyword = data->getValue<std::string>("error");
        }
        const std::string message = error ? error->optValue<std::string>("message", "error") : "error";
        const int code = error ? error->optValue<int>("code", 0) : 0;
        throw Error(errorCodeFromString(keyword), message + " (" + std::to_string(code) + ")");
    }
    return object->get("result");
}

HttpClient::HttpClient(const std::string& host, std::uint16_t port, std::string token)
    : session_(std::make_unique<Poco::Net::HTTPClientSession>(host, port)), token_(std::move(token))
{
    session_->setKeepAlive(true);
    session_->setTimeout(Poco::Timespan(30, 0));
}

HttpClient::~HttpClient() = default;

std::pair<int, std::string> HttpClient::post(const std::string& body)
{
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/jsonrpc", Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    request.setKeepAlive(true);
    if (!token_.empty()) request.set("Authorization", "Bearer " + token_);
    try {
        session_->sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::istream& in = session_->receiveResponse(response);
        std::string text;
        Poco::StreamCopier::copyToString(in, text);
        return {response.getStatus(), text};
    } catch (const Poco::Exception& error) {
        session_->reset();
        throw Error(ErrorCode::Io, "JSON-RPC over HTTP failed: " + error.displayText());
    }
}

Poco::Dynamic::Var HttpClient::call(const std::string& method, const Poco::Dynamic::Var& params)
{
    const auto [status, text] = post(requestText(nextId_++, method, params));
    if (text.empty()) throw Error(ErrorCode::Io, "HTTP " + std::to_string(status) + " without a body");
    return resultOf(parse(text));
}

WebSocketClient::WebSocketClient(const std::string& host, std::uint16_t port, const std::string& token)
{
    Poco::Net::HTTPClientSession session(host, port);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/jsonrpc", Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) request.set("Authorization", "Bearer " + token);
    Poco::Net::HTTPResponse response;
    try {
        socket_ = std::make_unique<Poco::Net::WebSocket>(session, request, response);
    } catch (const Poco::Net::WebSocketException& error) {
        throw Error(error.code() == Poco::Net::WebSocket::WS_ERR_UNAUTHORIZED ? ErrorCode::PermissionDenied
                                                                             : ErrorCode::Io,
                    "WebSocket handshake failed: " + error.displayText());
    } catch (const Poco::Exception& error) {
        throw Error(ErrorCode::Io, "WebSocket handshake failed: " + error.displayText());
    }
}

WebSocketClient::~WebSocketClient()
{
    try {
        socket_->shutdown();
    } catch (const Poco::Exception&) {
    }
}

void WebSocketClient::sendText(const std::string& text)
{
    socket_->sendFrame(text.data(), static_cast<int>(text.size()), Poco::Net::WebSocket::FRAME_TEXT);
}

std::optional<std::string> WebSocketClient::receiveText(std::chrono::milliseconds timeout)
{
    socket_->setReceiveTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
    Poco::Buffer<char> buffer(0);
    for (;;) {
        int flags = 0;
        int n = 0;
        try {
            buffer.resize(0);
            n = socket_->receiveFrame(buffer, flags);
        } catch (const Poco::TimeoutException&) {
            return std::nullopt;
        } catch (const Poco::Exception& error) {
            throw Error(ErrorCode::Io, "WebSocket receive failed: " + error.displayText());
        }
        const int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
        if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE || (n == 0 && flags == 0)) {
            if (buffer.size() >= 2)
                closeStatus_ = (static_cast<unsigned char>(buffer[0]) << 8) | static_cast<unsigned char>(buffer[1]);
            throw Error(ErrorCode::Io, "WebSocket closed by the server (status " + std::to_string(closeStatus_) + ")");
        }
        if (opcode == Poco::Net::WebSocket::FRAME_OP_TEXT) return std::string(buffer.begin(), buffer.size());
    }
}

Poco::Dynamic::Var WebSocketClient::call(const std::string& method, const Poco::Dynamic::Var& params,
                                         std::chrono::milliseconds timeout)
{
    const auto id = nextId_++;
    sendText(requestText(id, method, params));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const auto text = receiveText(std::max(left, std::chrono::milliseconds(1)));
        if (!text) break;
        const auto message = parse(*text);
        if (message.type() != typeid(Object::Ptr)) throw Error(ErrorCode::Malformed, "unexpected message: " + *text);
        const auto object = message.extract<Object::Ptr>();
        if (object->has("method") && !object->has("id")) {
            notifications_.push_back({object->getValue<std::string>("method"), object->get("params")});
            continue;
        }
        if (object->has("id") && !object->get("id").isEmpty() && object->get("id").convert<std::int64_t>() == id)
            return resultOf(message);
    }
    throw Error(ErrorCode::Unavailable, "no response to " + method + " in time");
}

std::optional<Notification> WebSocketClient::nextNotification(std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (notifications_.empty()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return std::nullopt;
        const auto text = receiveText(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
        if (!text) return std::nullopt;
        const auto message = parse(*text);
        if (message.type() != typeid(Object::Ptr)) continue;
        const auto object = message.extract<Object::Ptr>();
        if (object->has("method") && !object->has("id"))
            notifications_.push_back({object->getValue<std::string>("method"), object->get("params")});
    }
    auto next = std::move(notifications_.front());
    notifications_.pop_front();
    return next;
}

} // namespace boxoffice::rpc
