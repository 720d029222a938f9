// A small JSON value with a strict parser and a canonical encoder.
//
// The bundle index is signed as exact bytes, so its encoding must be canonical: objects with
// keys in bytewise order, no insignificant whitespace, integers only (no fractions or
// exponents), strings as UTF-8 with the minimal escapes (", \, and control characters).
// The same type serves bundle.lock, the SBOM, `--json` output and registry manifests.
// Thread-safety: value type.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bundlespec/result.hpp"

namespace bundlespec {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::map<std::string, Json>;  // std::map: keys already in bytewise order
  enum class Type { null, boolean, integer, string, array, object };

  Json() = default;
  Json(std::nullptr_t) {}                                         // NOLINT: implicit by design
  Json(bool value) : m_value(value) {}                            // NOLINT
  Json(int value) : m_value(int64_t{value}) {}                    // NOLINT
  Json(int64_t value) : m_value(value) {}                         // NOLINT
  Json(uint64_t value) : m_value(static_cast<int64_t>(value)) {}  // NOLINT
  Json(const char* value) : m_value(std::string(value)) {}        // NOLINT
  Json(std::string value) : m_value(std::move(value)) {}          // NOLINT
  Json(std::string_view value) : m_value(std::string(value)) {}   // NOLINT
  Json(Array value) : m_value(std::move(value)) {}                // NOLINT
  Json(Object value) : m_value(std::move(value)) {}               // NOLINT

  Type type() const { return static_cast<Type>(m_value.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_string() const { return type() == Type::string; }
  bool is_integer() const { return type() == Type::integer; }
  bool is_object() const { return type() == Type::object; }
  bool is_array() const { return type() == Type::array; }
  bool is_bool() const { return type() == Type::boolean; }

  // REQUIRES: the matching type.
  bool as_bool() const { return std::get<bool>(m_value); }
  int64_t as_integer() const { return std::get<int64_t>(m_value); }
  const std::string& as_string() const { return std::get<std::string>(m_value); }
  const Array& as_array() const { return std::get<Array>(m_value); }
  Array& as_array() { return std::get<Array>(m_value); }
  const Object& as_object() const { return std::get<Object>(m_value); }
  Object& as_object() { return std::get<Object>(m_value); }

  // Object member or nullptr (also nullptr when this is not an object).
  const Json* find(std::string_view key) const;
  // Object member access, converting a null value into an object first.
  Json& operator[](const std::string& key);

  bool operator==(const Json&) const = default;

 private:
  std::variant<std::nullptr_t, bool, int64_t, std::string, Array, Object> m_value;
};

struct JsonLimits {
  size_t max_depth = 64;
  // When on_element is set, the elements of the array that is the top-level object's member
  // `streamed_member` go to on_element one by one as they are parsed, and are not kept (the
  // member is left an empty array): a large array costs one element's tree at a time. A
  // failure it returns stops the parse and is returned as it is.
  std::string streamed_member;
  std::function<Status(Json&&)> on_element;
};

// Parses one JSON document (RFC 8259, minus non-integer numbers). Fails with
// "json: offset N: <what>" on any syntax error, invalid UTF-8, duplicate key, a number with a
// fraction or exponent or outside int64, nesting deeper than the limit, or trailing data.
Result<Json> parse_json(std::string_view text, const JsonLimits& limits = {});

// The canonical encoding described above.
std::string to_canonical_json(const Json& value);
// Indented with two spaces, keys sorted, newline at the end: for people and --json output.
// Strings also escape DEL, C1 controls (U+0080-U+009F), U+2028-U+202E and U+2066-U+2069 as
// \uXXXX, so a value from a bundle cannot drive the terminal the output is shown on.
std::string to_pretty_json(const Json& value);

// Typed member lookups for readers of JSON documents: fail with "missing KEY" or
// "KEY: expected a string" style messages.
Result<std::string> get_string(const Json& object, std::string_view key);
Result<int64_t> get_integer(const Json& object, std::string_view key);
Result<const Json*> get_member(const Json& object, std::string_view key, Json::Type type);

}  // namespace bundlespec
