#include <boxoffice/sync/ServerLink.h>

#include <Poco/JSON/Object.h>

namespace boxoffice::sync {

std::string LinkResponse::error() const
{
    if (status >= 200 && status < 300) return {};
    try {
        if (body.type() == typeid(Poco::JSON::Object::Ptr)) {
            const auto object = body.extract<Poco::JSON::Object::Ptr>();
            if (object && object->has("error")) {
                std::string text = object->getValue<std::string>("error");
                if (object->has("message")) text += ": " + object->getValue<std::string>("message");
                return text;
            }
        }
    } catch (const std::exception&) {
        // Not the server's error shape: fall back to the status.
    }
    return "HTTP " + std::to_string(status);
}

} // namespace boxoffice::sync
