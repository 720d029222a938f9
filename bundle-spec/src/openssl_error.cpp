#include "bundlespec/openssl_error.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <vector>

namespace bundlespec {

std::string openssl_error_text() {
  std::vector<std::string> reasons;
  while (const unsigned long code = ERR_get_error()) {
    std::string reason;
    if (const char* text = ERR_reason_error_string(code)) {
      reason = text;
    } else {  // a code without a registered string: OpenSSL's "error:XXXXXXXX:lib::reason(N)"
      std::array<char, 256> buffer{};
      ERR_error_string_n(code, buffer.data(), buffer.size());
      reason = buffer.data();
    }
    if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) reasons.push_back(std::move(reason));
  }
  if (reasons.empty()) return "unknown OpenSSL error";
  std::string text;
  for (const std::string& reason : reasons) text += (text.empty() ? "" : "; ") + reason;
  return text;
}

Error openssl_error(std::string_view op) {
  return make_error(std::string(op) + ": " + openssl_error_text());
}

}  // namespace bundlespec
