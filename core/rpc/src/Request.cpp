#include <boxoffice/rpc/Request.h>

#include <boxoffice/base/Error.h>

#include <Poco/JSON/Array.h>

namespace boxoffice::rpc {

namespace {

[[noreturn]] void invalid(const std::string& name, const char* expected)
{
    throw Error(ErrorCode::InvalidArgument, "parameter '" + name + "' must be " + expected);
}

} // namespace

Request::Request(std::string method, Poco::Dynamic::Var params, const Caller& caller)
    : method_(std::move(method)), params_(std::move(params)), caller_(caller)
{
    if (params_.type() == typeid(Poco::JSON::Object::Ptr))
        named_ = params_.extract<Poco::JSON::Object::Ptr>();
}

Poco::Dynamic::Var Request::member(const std::string& name) const
{
    if (!named_ || !named_->has(name)) return {};
    return named_->get(name);
}

std::optional<std::string> Request::optionalString(const std::string& name) const
{
    const auto value = member(name);
    if (value.isEmpty()) return std::nullopt;
    if (!value.isString()) invalid(name, "a string");
    return value.extract<std::string>();
}

std::string Request::string(const std::string& name) const
{
    auto value = optionalString(name);
    if (!value) invalid(name, "a string (missing)");
    return *value;
}

std::optional<std::int64_t> Request::optionalInteger(const std::string& name) const
{
    const auto value = member(name);
    if (value.isEmpty()) return std::nullopt;
    if (!value.isInteger() || value.type() == typeid(bool)) invalid(name, "an integer");
    try {
        return value.convert<std::int64_t>();
    } catch (const Poco::Exception&) {
        invalid(name, "an integer in 64-bit range");
    }
}

std::int64_t Request::integer(const std::string& name) const
{
    auto value = optionalInteger(name);
    if (!value) invalid(name, "an integer (missing)");
    return *value;
}

std::optional<bool> Request::optionalBoolean(const std::string& name) const
{
    const auto value = member(name);
    if (value.isEmpty()) return std::nullopt;
    if (value.type() != typeid(bool)) invalid(name, "true or false");
    return value.extract<bool>();
}

bool Request::boolean(const std::string& name) const
{
    auto value = optionalBoolean(name);
    if (!value) invalid(name, "true or false (missing)");
    return *value;
}

Poco::JSON::Array::Ptr Request::array(const std::string& name) const
{
    const auto value = member(name);
    if (value.type() != typeid(Poco::JSON::Array::Ptr)) invalid(name, "an array");
    return value.extract<Poco::JSON::Array::Ptr>();
}

Poco::JSON::Object::Ptr Request::object(const std::string& name) const
{
    const auto value = member(name);
    if (value.type() != typeid(Poco::JSON::Object::Ptr)) invalid(name, "an object");
    return value.extract<Poco::JSON::Object::Ptr>();
}

} // namespace boxoffice::rpc
