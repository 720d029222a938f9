// OpenSSL's error queue as the text of our messages: the one helper for the bundle signer, the
// installer's PKI (X.509) and its TLS client (messages carry the library's own text).
// Thread-safety: OpenSSL's queue is per thread; these read and empty the calling thread's.
#pragma once

#include <string>
#include <string_view>

#include "bundlespec/result.hpp"

namespace bundlespec {

// The reason of each error queued ("wrong version number", "no start line"), oldest first,
// repeats left out, joined with "; "; "unknown OpenSSL error" when none is queued. Empties the
// queue, so a later failure does not report this one's errors.
std::string openssl_error_text();

// "OP: <openssl_error_text()>" as a failure Error.
Error openssl_error(std::string_view op);

}  // namespace bundlespec
