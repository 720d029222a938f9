// ASCII text helpers for the protocol code (HTTP headers, WWW-Authenticate, URLs) that the
// builder's registry client and the installer's push client share.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace bundlespec {

// `text` with A-Z mapped to a-z; other bytes unchanged (header names, schemes, host names).
std::string ascii_lower(std::string_view text);

// `text` without leading and trailing whitespace (space, tab, CR, LF, VT, FF).
std::string_view trim_space(std::string_view text);

// "Basic " + base64(user ":" password), an HTTP Basic Authorization value (RFC 7617).
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace bundlespec
