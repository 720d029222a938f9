#include "bundlespec/registry_protocol.hpp"

namespace bundlespec {

std::string token_from_response(std::string_view body) {
  for (std::string_view key : {"\"token\"", "\"access_token\""}) {
    size_t at = body.find(key);
    if (at == std::string_view::npos) continue;
    at = body.find_first_not_of(" \t\r\n", at + key.size());
    if (at == std::string_view::npos || body[at] != ':') continue;
    at = body.find_first_not_of(" \t\r\n", at + 1);
    if (at == std::string_view::npos || body[at] != '"') continue;
    const size_t end = body.find('"', at + 1);
    if (end == std::string_view::npos || end == at + 1) continue;
    return std::string(body.substr(at + 1, end - at - 1));
  }
  return "";
}

bool retryable_http_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace bundlespec
