// Parsing of an HTTP WWW-Authenticate challenge (RFC 7235), as registries send it with a 401:
//   Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"
//   Basic realm="rig-realm"
// Shared by the builder's registry client (pulls, libcurl) and the installer's push client
// (its own HTTP), so both read a challenge the same way.
// Thread-safety: pure functions and value types.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "bundlespec/result.hpp"

namespace bundlespec {

// A parsed challenge: `Bearer realm="x",service="y"` -> {"bearer", {"realm": "x", ...}}.
struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // lower-case keys, unquoted values
};

// Parses "SCHEME k=v,k="v",..." (quoted values may hold commas and \-escapes). Fails
// (failure) with "cannot parse WWW-Authenticate: HEADER" on anything else.
Result<AuthChallenge> parse_auth_challenge(std::string_view header);

}  // namespace bundlespec
