#include "bundlespec/docker_auth.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "bundlespec/fs.hpp"
#include "bundlespec/json.hpp"

namespace bundlespec {

namespace {

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return make_error("not base64");
  std::string out(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return make_error("not base64");
  size_t size = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

// The registry host a config.json key names ("https://index.docker.io/v1/" -> "docker.io").
std::string auth_key_host(std::string key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.rfind(scheme, 0) == 0) key = key.substr(scheme.size());
  }
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return key;
}

}  // namespace

std::string default_docker_config() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.docker/config.json";
  }
  return "";
}

Result<std::map<std::string, Credentials>> load_docker_auths(const std::string& path) {
  std::map<std::string, Credentials> auths;
  if (path.empty() || ::access(path.c_str(), F_OK) != 0) return auths;
  auto parsed = [&]() -> Status {
    TRY_ASSIGN(const std::string text, read_file(path, 16 << 20));
    TRY_ASSIGN(const Json json, parse_json(text));
    const Json* entries = json.find("auths");
    if (entries == nullptr) return ok_status();
    if (!entries->is_object()) return make_error("\"auths\" is not an object");
    for (const auto& [key, entry] : entries->as_object()) {
      Credentials creds;
      if (auto auth = get_string(entry, "auth"); auth.ok() && !auth->empty()) {
        auto decoded = base64_decode(*auth);
        const size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos) return make_error("auths[\"" + key + "\"].auth is not base64 of USER:PASSWORD");
        creds = {decoded->substr(0, colon), decoded->substr(colon + 1)};
      } else {
        auto user = get_string(entry, "username");
        auto pass = get_string(entry, "password");
        if (!user.ok() || !pass.ok()) continue;  // e.g. a credential helper's entry
        creds = {*user, *pass};
      }
      auths[auth_key_host(key)] = std::move(creds);
    }
    return ok_status();
  }();
  if (!parsed.ok()) return std::move(parsed).error().context("docker config " + path);
  return auths;
}

}  // namespace bundlespec
