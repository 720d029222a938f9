// URLs for the installer's own HTTP client (http.hpp): parsing http(s) URLs, resolving a
// Location header against the request's URL, and query escaping.
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bundlespec/result.hpp"

namespace installer {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // a name, an IPv4 address, or an IPv6 address WITHOUT brackets
  uint16_t port = 0;   // always set (80 / 443 when the URL has none)
  std::string target;  // path and query, starting with '/' ("/" when the URL has none)

  // "HOST:PORT" ("[::1]:443" for IPv6), as messages and Host headers name a server.
  std::string authority() const;
  // scheme://authority/target
  std::string str() const;
};

// Parses "http://HOST[:PORT][/PATH][?QUERY]" or https (fragments dropped). Fails (usage) on
// another scheme, an empty host, a bad port or user info ("user@host" is refused: credentials
// never travel in URLs here).
bundlespec::Result<Url> parse_url(std::string_view text);

// The URL a Location header names, relative to `base` (RFC 3986 section 5.2): an absolute
// URL, "//host/path", "/path", "?query" or a relative path ("uploads/x" next to the last '/').
bundlespec::Result<Url> resolve_location(const Url& base, std::string_view location);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string query_escape(std::string_view text);

// TARGET with "NAME=VALUE" appended as a query parameter ('?' or '&'; VALUE escaped).
std::string add_query(std::string_view target, std::string_view name, std::string_view value);

}  // namespace installer
