#include "bundlespec/auth_challenge.hpp"

#include <cctype>

namespace bundlespec {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

}  // namespace

Result<AuthChallenge> parse_auth_challenge(std::string_view header) {
  const auto bad = [&] { return make_error("cannot parse WWW-Authenticate: " + std::string(header)); };
  header = trim(header);
  const size_t space = header.find(' ');
  AuthChallenge challenge;
  challenge.scheme = lower(header.substr(0, space));
  if (challenge.scheme.empty()) return bad();
  std::string_view rest = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  while (!(rest = trim(rest)).empty()) {
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return bad();
    const std::string key = lower(trim(rest.substr(0, eq)));
    rest = trim(rest.substr(eq + 1));
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
      value = std::string(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
    }
    challenge.params[key] = value;
    rest = trim(rest);
    if (!rest.empty() && rest.front() != ',') return bad();
    if (!rest.empty()) rest.remove_prefix(1);
  }
  return challenge;
}

}  // namespace bundlespec
