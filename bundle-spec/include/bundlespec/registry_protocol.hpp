// Rules of the OCI distribution protocol that the builder's pulls (builder/registry.cpp, libcurl)
// and the installer's push (installer/images/push.cpp, its own HTTP) both follow, so that the two
// sides of the air gap read a token server and decide on a retry alike.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bundlespec {

// The value of "token" (else "access_token") of a token server's JSON answer (the Docker token
// flow: distribution's docs/spec/auth/token.md), "" if neither is a non-empty string. No full
// JSON parse: token servers put non-integer numbers in expires_in, which our JSON reader refuses.
std::string token_from_response(std::string_view body);

// Whether an HTTP answer with `status` is worth another try of the same request: 408 Request
// Timeout (RFC 9110 15.5.9: the client may repeat it), 429 Too Many Requests, and the 5xx a
// proxy or an overloaded registry sends for a passing problem: 500, 502, 503, 504. Never 501
// or 505 (they will not change), nor any other 4xx.
bool retryable_http_status(long status);

}  // namespace bundlespec
