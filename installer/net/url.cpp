#include "net/url.hpp"

#include <cctype>

#include "bundlespec/text.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

// Removes "." and ".." segments (RFC 3986 5.2.4) from an absolute path.
std::string remove_dot_segments(std::string_view path) {
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    size_t end = path.find('/', i + 1);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(i, end - i);  // "/name"
    if (segment == "/.") {
      if (end == path.size()) out += '/';
    } else if (segment == "/..") {
      const size_t last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
      if (end == path.size()) out += '/';
    } else {
      out += segment;
    }
    i = end;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

std::string Url::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Url::str() const {
  const bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + (default_port ? "" : ":" + std::to_string(port)) + target;
}

bs::Result<Url> parse_url(std::string_view text) {
  const auto bad = [&](const std::string& why) { return bs::usage_error("URL '" + std::string(text) + "': " + why); };
  const size_t colon = text.find("://");
  if (colon == std::string_view::npos) return bad("not an http:// or https:// URL");
  Url url;
  url.scheme = bs::ascii_lower(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https") return bad("not an http:// or https:// URL");
  std::string_view rest = text.substr(colon + 3);
  rest = rest.substr(0, rest.find('#'));
  const size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  url.target = path_at == std::string_view::npos ? "/" : std::string(rest.substr(path_at));
  if (url.target.front() == '?') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return bad("user information in URLs is not accepted");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("unexpected text after ']'");
    if (!after.empty()) port = after.substr(1);
  } else {
    const size_t c = authority.find(':');
    url.host = bs::ascii_lower(authority.substr(0, c));
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (url.host.empty()) return bad("no host");
  url.port = url.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    for (const char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || value > 65535) return bad("bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad("bad port");
    url.port = static_cast<uint16_t>(value);
  }
  return url;
}

bs::Result<Url> resolve_location(const Url& base, std::string_view location) {
  if (location.empty()) return bs::make_error("empty Location header");
  const size_t scheme_end = location.find("://");
  if (scheme_end != std::string_view::npos && location.find_first_of("/?") > scheme_end) {
    return parse_url(location);
  }
  if (location.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(location));
  Url url = base;
  const std::string_view base_path = std::string_view(base.target).substr(0, base.target.find('?'));
  if (location.front() == '/') {
    const size_t query = location.find('?');
    url.target = remove_dot_segments(location.substr(0, query)) +
                 (query == std::string_view::npos ? "" : std::string(location.substr(query)));
  } else if (location.front() == '?') {
    url.target = std::string(base_path) + std::string(location);
  } else {
    const std::string dir(base_path.substr(0, base_path.rfind('/') + 1));
    const size_t query = location.find('?');
    url.target = remove_dot_segments(dir + std::string(location.substr(0, query))) +
                 (query == std::string_view::npos ? "" : std::string(location.substr(query)));
  }
  return url;
}

std::string query_escape(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += k_hex[u >> 4];
      out += k_hex[u & 15];
    }
  }
  return out;
}

std::string add_query(std::string_view target, std::string_view name, std::string_view value) {
  std::string out(target);
  out += target.find('?') == std::string_view::npos ? '?' : '&';
  out += std::string(name) + "=" + query_escape(value);
  return out;
}

}  // namespace installer
