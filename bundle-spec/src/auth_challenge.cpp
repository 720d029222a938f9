#include "bundlespec/auth_challenge.hpp"

#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {}  // namespace

Result<AuthChallenge> parse_auth_challenge(std::string_view header) {
  const auto bad = [&] { return make_error("cannot parse WWW-Authenticate: " + std::string(header)); };
  header = trim_space(header);
  const size_t space = header.find(' ');
  AuthChallenge challenge;
  challenge.scheme = ascii_lower(header.substr(0, space));
  if (challenge.scheme.empty()) return bad();
  std::string_view rest = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  while (!(rest = trim_space(rest)).empty()) {
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return bad();
    const std::string key = ascii_lower(trim_space(rest.substr(0, eq)));
    rest = trim_space(rest.substr(eq + 1));
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      if (i >= rest.size()) return bad();
      rest.remove_prefix(i + 1);
    } else {
      const size_t comma = rest.find(',');
      value = std::string(trim_space(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
    }
    challenge.params[key] = value;
    rest = trim_space(rest);
    if (!rest.empty() && rest.front() != ',') return bad();
    if (!rest.empty()) rest.remove_prefix(1);
  }
  return challenge;
}

}  // namespace bundlespec
