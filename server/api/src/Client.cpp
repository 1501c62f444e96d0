#include <boxoffice/serverapi/Client.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/serverapi/PhoneSignature.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <sstream>

namespace boxoffice::serverapi {

std::string ClientResponse::error() const
{
    if (body.type() != typeid(Poco::JSON::Object::Ptr)) return {};
    auto o = body.extract<Poco::JSON::Object::Ptr>();
    return o->has("error") ? o->getValue<std::string>("error") : std::string();
}

struct Client::Impl {
    ClientOptions options;
    Poco::Net::Context::Ptr context;
    std::unique_ptr<Poco::Net::HTTPSClientSession> session;

    void connect()
    {
        session = std::make_unique<Poco::Net::HTTPSClientSession>(options.host, options.port, context);
        session->setKeepAlive(true);
        session->setTimeout(Poco::Timespan(30, 0));
    }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>())
{
    Poco::Net::initializeSSL();
    impl_->options = std::move(options);
    if (!impl_->options.clock) impl_->options.clock = [] {
        using namespace std::chrono;
        return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
    };
    try {
        impl_->context = new Poco::Net::Context(
            Poco::Net::Context::TLSV1_2_CLIENT_USE, impl_->options.clientKey.string(),
            impl_->options.clientCertificate.string(), impl_->options.serverCa.string(),
            Poco::Net::Context::VERIFY_STRICT, 4, false, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL");
    } catch (const Poco::Exception& e) {
        throw Error(ErrorCode::InvalidArgument, "cannot set up the TLS client: " + e.displayText());
    }
    impl_->connect();
}

Client::~Client()
{
    impl_.reset();
    Poco::Net::uninitializeSSL();
}

ClientResponse Client::call(const std::string& method, const std::string& pathAndQuery, const std::string& body,
                            const std::string& requestId)
{
    // One retry on a dropped keep-alive connection (the request then never reached the server,
    // or is idempotent by its client id anyway).
    for (int attempt = 0;; ++attempt) {
        try {
            Poco::Net::HTTPRequest request(method, pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
            request.setKeepAlive(true);
            if (!requestId.empty()) request.set("X-Request-Id", requestId);
            if (!impl_->options.operatorToken.empty())
                request.set("Authorization", "Bearer " + impl_->options.operatorToken);
            if (impl_->options.phoneKey) {
                for (const auto& [k, v] : signPhoneRequest(*impl_->options.phoneKey, impl_->options.phoneId, method,
                                                           pathAndQuery, body, impl_->options.clock()))
                    request.set(k, v);
            }
            if (!body.empty() || method == "POST" || method == "PUT") {
                request.setContentType("application/json");
                request.setContentLength(static_cast<std::streamsize>(body.size()));
            }
            impl_->session->sendRequest(request) << body;
            Poco::Net::HTTPResponse response;
            auto& in = impl_->session->receiveResponse(response);
            ClientResponse out;
            out.status = static_cast<int>(response.getStatus());
            Poco::StreamCopier::copyToString(in, out.raw);
            if (!out.raw.empty() && response.getContentType().rfind("application/json", 0) == 0) {
                try {
                    Poco::JSON::Parser parser;
                    out.body = parser.parse(out.raw);
                } catch (const Poco::Exception&) {
                }
            }
            return out;
        } catch (const Poco::Exception& e) {
            impl_->connect();
            if (attempt >= 1) throw Error(ErrorCode::Io, "request " + method + " " + pathAndQuery + " failed: " +
                                                             e.displayText());
        }
    }
}

ClientResponse Client::post(const std::string& path, const Poco::Dynamic::Var& json, const std::string& requestId)
{
    std::ostringstream text;
    Poco::JSON::Stringifier::condense(json, text);
    return call("POST", path, text.str(), requestId);
}

} // namespace boxoffice::serverapi
