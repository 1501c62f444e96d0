#pragma once
// The ErrorCode a call throws, so a test of a refusal can say which refusal.
// A call that throws nothing fails the test (and answers Internal).

#include <boxoffice/base/Error.h>

#include <gtest/gtest.h>

#include <string>

namespace boxoffice::testing {

template <class F> ErrorCode codeOf(F&& f, std::string* message = nullptr)
{
    try {
        f();
    } catch (const Error& e) {
        if (message) *message = e.what();
        return e.code();
    }
    ADD_FAILURE() << "no error thrown";
    return ErrorCode::Internal;
}

} // namespace boxoffice::testing
