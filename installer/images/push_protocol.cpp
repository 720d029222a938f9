#include "images/push_protocol.hpp"

#include <cctype>

#include "net/url.hpp"

namespace installer {

namespace bs = bundlespec;
using bs::ImageRecord;
using bs::Result;

namespace {

bool valid_path_component(std::string_view part) {
  if (part.empty()) return false;
  for (const char c : part) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string TargetReference::str() const {
  return host + "/" + repository + ":" + tag;
}

Result<RegistryTarget> parse_registry_target(std::string_view text) {
  const std::string given(text);
  const auto bad = [&](const std::string& why) {
    return bs::usage_error("--registry '" + given + "': " + why + " (expected HOST[:PORT][/PREFIX])");
  };
  if (given.find("://") != std::string::npos) {
    return bad("give the registry without a scheme; pass --plain-http for http");
  }
  RegistryTarget target;
  const size_t slash = given.find('/');
  target.host = given.substr(0, slash);
  if (slash != std::string::npos) target.prefix = given.substr(slash + 1);
  if (target.host.empty()) return bad("no host");
  // The host must make a valid URL: a name or address and an optional port.
  auto url = parse_url("https://" + target.host + "/");
  if (!url.ok() || url->target != "/") return bad("bad host or port");
  while (!target.prefix.empty() && target.prefix.back() == '/') target.prefix.pop_back();
  if (slash != std::string::npos && target.prefix.empty()) return bad("empty prefix");
  if (!target.prefix.empty()) {
    size_t start = 0;
    for (;;) {
      const size_t end = target.prefix.find('/', start);
      const std::string part = target.prefix.substr(start, end == std::string::npos ? end : end - start);
      if (!valid_path_component(part)) return bad("prefix '" + target.prefix + "' must be lower-case path components");
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return target;
}

Result<TargetReference> target_reference(const ImageRecord& image, const RegistryTarget& target) {
  const std::string& full = image.full_name;
  const size_t first = full.find('/');
  const std::string_view repo_with_tag = std::string_view(full).substr(first == std::string::npos ? 0 : first + 1);
  const std::string_view path = bs::without_tag(repo_with_tag);
  if (first == std::string::npos || path.empty() || path.size() == repo_with_tag.size()) {
    return bs::usage_error("image '" + image.name + "': '" + full + "' is not REGISTRY/REPOSITORY:TAG");
  }
  TargetReference ref;
  ref.host = target.host;
  ref.repository = (target.prefix.empty() ? "" : target.prefix + "/") + std::string(path);
  ref.tag = std::string(repo_with_tag.substr(path.size() + 1));
  return ref;
}

}  // namespace installer
