#include "bundlespec/registry_error.hpp"

#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

std::string registry_error_text(std::string_view body) {
  auto json = parse_json(body);
  if (!json.ok()) return "";
  const Json* errors = json->find("errors");
  if (errors == nullptr || !errors->is_array() || errors->as_array().empty()) return "";
  const Json& first = errors->as_array().front();
  auto code = get_string(first, "code");
  auto message = get_string(first, "message");
  if (!code.ok() || !message.ok()) return "";
  // The registry's words: escaped and cut, as every foreign value we print.
  return " (" + printable(*code, 64) + ": " + printable(*message) + ")";
}

}  // namespace bundlespec
