#pragma once
// The parameters of one JSON-RPC call, with typed accessors that turn a
// missing or mistyped parameter into the standard "invalid params" error.

#include <boxoffice/rpc/Caller.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>

namespace boxoffice::rpc {

class Request {
public:
    Request(std::string method, Poco::Dynamic::Var params, const Caller& caller);

    const std::string& method() const { return method_; }
    const Caller& caller() const { return caller_; }
    const Poco::Dynamic::Var& params() const { return params_; }

    // Named parameters. Each throws Error(InvalidArgument) naming the parameter
    // when it is missing (required variants) or has the wrong JSON type.
    std::string string(const std::string& name) const;
    std::optional<std::string> optionalString(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;
    std::optional<std::int64_t> optionalInteger(const std::string& name) const;
    bool boolean(const std::string& name) const;
    std::optional<bool> optionalBoolean(const std::string& name) const;
    Poco::JSON::Array::Ptr array(const std::string& name) const;
    Poco::JSON::Object::Ptr object(const std::string& name) const;

private:
    Poco::Dynamic::Var member(const std::string& name) const;

    std::string method_;
    Poco::Dynamic::Var params_;
    Poco::JSON::Object::Ptr named_;  // null when params are absent or positional
    const Caller& caller_;
};

} // namespace boxoffice::rpc
