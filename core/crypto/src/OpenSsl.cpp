#include "OpenSsl.h"

#include <openssl/err.h>

#include <string>

namespace boxoffice::crypto::ossl {

void fail(std::string_view what, ErrorCode code)
{
    std::string message(what);
    if (const unsigned long e = ERR_get_error(); e != 0) {
        char text[256];
        ERR_error_string_n(e, text, sizeof text);
        message += ": ";
        message += text;
    }
    ERR_clear_error();
    throw Error(code, message);
}

void clearErrors() noexcept { ERR_clear_error(); }

} // namespace boxoffice::crypto::ossl
