#include "bundlespec/json.hpp"

#include <charconv>
#include <cstdio>

namespace bundlespec {

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto& object = as_object();
  const auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &it->second;
}

Json& Json::operator[](const std::string& key) {
  if (is_null()) m_value = Object{};
  return std::get<Object>(m_value)[key];
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, const JsonLimits& limits) : m_text(text), m_limits(limits) {}

  Result<Json> parse_document() {
    TRY_ASSIGN(Json value, parse_value(0));
    skip_space();
    if (m_pos != m_text.size()) return fail("trailing data after the document");
    return value;
  }

 private:
  Error fail(const std::string& what) const {
    return verification_error("json: offset " + std::to_string(m_pos) + ": " + what);
  }

  void skip_space() {
    while (m_pos < m_text.size() &&
           (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' || m_text[m_pos] == '\r' || m_text[m_pos] == '\t')) {
      ++m_pos;
    }
  }

  bool consume(std::string_view word) {
    if (m_text.substr(m_pos, word.size()) != word) return false;
    m_pos += word.size();
    return true;
  }

  // `depth` counts the containers around this value: a container here is level depth + 1.
  Result<Json> parse_value(size_t depth) {
    skip_space();
    if (m_pos >= m_text.size()) return fail("unexpected end of input");
    const char c = m_text[m_pos];
    if ((c == '{' || c == '[') && depth >= m_limits.max_depth) {
      return fail("nesting deeper than " + std::to_string(m_limits.max_depth));
    }
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      TRY_ASSIGN(std::string s, parse_string());
      return Json(std::move(s));
    }
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json(nullptr);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    return fail(std::string("unexpected character '") + c + "'");
  }

  Result<Json> parse_number() {
    const size_t start = m_pos;
    if (m_text[m_pos] == '-') ++m_pos;
    const size_t digits = m_pos;
    while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') ++m_pos;
    if (m_pos == digits) return fail("a number needs digits");
    if (m_text[digits] == '0' && m_pos - digits > 1) return fail("a number has a leading zero");
    if (m_pos < m_text.size() && (m_text[m_pos] == '.' || m_text[m_pos] == 'e' || m_text[m_pos] == 'E')) {
      return fail("only integers are supported");
    }
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(m_text.data() + start, m_text.data() + m_pos, value);
    if (ec != std::errc() || end != m_text.data() + m_pos) return fail("integer out of range");
    return Json(value);
  }

  Result<uint32_t> parse_hex4() {
    if (m_pos + 4 > m_text.size()) return fail("short \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = m_text[m_pos++];
      value <<= 4;
      if (h >= '0' && h <= '9')
        value |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        value |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        value |= static_cast<uint32_t>(h - 'A' + 10);
      else
        return fail("bad hex digit in \\u escape");
    }
    return value;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  Status parse_escape(std::string& out) {
    if (m_pos >= m_text.size()) return fail("unterminated string");
    const char e = m_text[m_pos++];
    switch (e) {
      case '"':
        out.push_back('"');
        return ok_status();
      case '\\':
        out.push_back('\\');
        return ok_status();
      case '/':
        out.push_back('/');
        return ok_status();
      case 'b':
        out.push_back('\b');
        return ok_status();
      case 'f':
        out.push_back('\f');
        return ok_status();
      case 'n':
        out.push_back('\n');
        return ok_status();
      case 'r':
        out.push_back('\r');
        return ok_status();
      case 't':
        out.push_back('\t');
        return ok_status();
      case 'u':
        break;
      default:
        return fail("bad escape");
    }
    TRY_ASSIGN(uint32_t cp, parse_hex4());
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!consume("\\u")) return fail("lone high surrogate");
      TRY_ASSIGN(uint32_t low, parse_hex4());
      if (low < 0xDC00 || low > 0xDFFF) return fail("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, cp);
    return ok_status();
  }

  // Validates one UTF-8 sequence starting at m_pos and copies it.
  Status copy_utf8(std::string& out) {
    const auto lead = static_cast<unsigned char>(m_text[m_pos]);
    size_t length = 0;
    uint32_t cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      cp = lead & 0x07;
    } else
      return fail("invalid UTF-8");
    if (m_pos + length > m_text.size()) return fail("invalid UTF-8");
    for (size_t i = 1; i < length; ++i) {
      const auto c = static_cast<unsigned char>(m_text[m_pos + i]);
      if ((c & 0xC0) != 0x80) return fail("invalid UTF-8");
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail("invalid UTF-8");
    out.append(m_text.substr(m_pos, length));
    m_pos += length;
    return ok_status();
  }

  Result<std::string> parse_string() {
    ++m_pos;  // opening quote
    std::string out;
    for (;;) {
      if (m_pos >= m_text.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(m_text[m_pos]);
      if (c == '"') {
        ++m_pos;
        return out;
      }
      if (c == '\\') {
        ++m_pos;
        TRY(parse_escape(out));
      } else if (c < 0x20) {
        return fail("control character in string");
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++m_pos;
      } else {
        TRY(copy_utf8(out));
      }
    }
  }

  Result<Json> parse_array(size_t depth, bool streamed = false) {
    ++m_pos;
    Json::Array array;
    skip_space();
    if (consume("]")) return Json(std::move(array));
    for (;;) {
      TRY_ASSIGN(Json item, parse_value(depth + 1));
      if (streamed) {
        TRY(m_limits.on_element(std::move(item)));
      } else {
        array.push_back(std::move(item));
      }
      skip_space();
      if (consume(",")) continue;
      if (consume("]")) return Json(std::move(array));
      return fail("expected ',' or ']'");
    }
  }

  Result<Json> parse_object(size_t depth) {
    ++m_pos;
    Json::Object object;
    skip_space();
    if (consume("}")) return Json(std::move(object));
    for (;;) {
      skip_space();
      if (m_pos >= m_text.size() || m_text[m_pos] != '"') return fail("expected a string key");
      TRY_ASSIGN(std::string key, parse_string());
      skip_space();
      if (!consume(":")) return fail("expected ':'");
      skip_space();
      const bool streamed = depth == 0 && m_limits.on_element && key == m_limits.streamed_member &&
                            m_pos < m_text.size() && m_text[m_pos] == '[' && depth + 1 < m_limits.max_depth;
      TRY_ASSIGN(Json value, streamed ? parse_array(depth + 1, true) : parse_value(depth + 1));
      if (!object.emplace(key, std::move(value)).second) return fail("duplicate key \"" + key + "\"");
      skip_space();
      if (consume(",")) continue;
      if (consume("}")) return Json(std::move(object));
      return fail("expected ',' or '}'");
    }
  }

  std::string_view m_text;
  const JsonLimits& m_limits;
  size_t m_pos = 0;
};

// Canonical: only what RFC 8259 requires is escaped. Display (to_pretty_json, for --json
// output people read on a terminal): also DEL, C1 controls, line separators and bidirectional
// overrides, as \u escapes that decode to the same string.
enum class Escaping { canonical, display };

// The code point a display encoding writes as \uXXXX at s[i] (and its UTF-8 length), or 0.
uint32_t display_escape(const std::string& s, size_t i, size_t& length) {
  const auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  length = 0;
  if (at(i) == 0x7f) {
    length = 1;
    return 0x7f;
  }
  if (at(i) == 0xc2 && at(i + 1) >= 0x80 && at(i + 1) <= 0x9f) {
    length = 2;
    return at(i + 1);
  }
  const bool separator = at(i + 1) == 0x80 && at(i + 2) >= 0xa8 && at(i + 2) <= 0xae;  // U+2028-U+202E
  const bool isolate = at(i + 1) == 0x81 && at(i + 2) >= 0xa6 && at(i + 2) <= 0xa9;    // U+2066-U+2069
  if (at(i) == 0xe2 && (separator || isolate)) {
    length = 3;
    return 0x2000u + ((at(i + 1) & 0x3fu) << 6) + (at(i + 2) & 0x3fu);
  }
  return 0;
}

void encode_string(std::string& out, const std::string& s, Escaping escaping) {
  out.push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    size_t length = 0;
    if (escaping == Escaping::display && c >= 0x7f) {
      if (const uint32_t code_point = display_escape(s, i, length); code_point != 0) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(code_point));
        out += buffer;
        i += length - 1;
        continue;
      }
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void encode(std::string& out, const Json& value, int indent, int level) {
  const auto newline = [&](int lvl) {
    if (indent < 0) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(indent * lvl), ' ');
  };
  switch (value.type()) {
    case Json::Type::null:
      out += "null";
      break;
    case Json::Type::boolean:
      out += value.as_bool() ? "true" : "false";
      break;
    case Json::Type::integer:
      out += std::to_string(value.as_integer());
      break;
    case Json::Type::string:
      encode_string(out, value.as_string(), indent < 0 ? Escaping::canonical : Escaping::display);
      break;
    case Json::Type::array: {
      const auto& array = value.as_array();
      out.push_back('[');
      for (size_t i = 0; i < array.size(); ++i) {
        if (i > 0) out.push_back(',');
        newline(level + 1);
        encode(out, array[i], indent, level + 1);
      }
      if (!array.empty()) newline(level);
      out.push_back(']');
      break;
    }
    case Json::Type::object: {
      const auto& object = value.as_object();
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : object) {
        if (!first) out.push_back(',');
        first = false;
        newline(level + 1);
        encode_string(out, key, indent < 0 ? Escaping::canonical : Escaping::display);
        out += indent < 0 ? ":" : ": ";
        encode(out, member, indent, level + 1);
      }
      if (!object.empty()) newline(level);
      out.push_back('}');
      break;
    }
  }
}

const char* type_name(Json::Type type) {
  switch (type) {
    case Json::Type::null:
      return "null";
    case Json::Type::boolean:
      return "a boolean";
    case Json::Type::integer:
      return "an integer";
    case Json::Type::string:
      return "a string";
    case Json::Type::array:
      return "an array";
    case Json::Type::object:
      return "an object";
  }
  return "?";
}

}  // namespace

Result<Json> parse_json(std::string_view text, const JsonLimits& limits) {
  return Parser(text, limits).parse_document();
}

std::string to_canonical_json(const Json& value) {
  std::string out;
  encode(out, value, -1, 0);
  return out;
}

std::string to_pretty_json(const Json& value) {
  std::string out;
  encode(out, value, 2, 0);
  out.push_back('\n');
  return out;
}

Result<const Json*> get_member(const Json& object, std::string_view key, Json::Type type) {
  const Json* member = object.find(key);
  if (member == nullptr) return verification_error("missing \"" + std::string(key) + "\"");
  if (member->type() != type) {
    return verification_error("\"" + std::string(key) + "\": expected " + type_name(type));
  }
  return member;
}

Result<std::string> get_string(const Json& object, std::string_view key) {
  TRY_ASSIGN(const Json* member, get_member(object, key, Json::Type::string));
  return member->as_string();
}

Result<int64_t> get_integer(const Json& object, std::string_view key) {
  TRY_ASSIGN(const Json* member, get_member(object, key, Json::Type::integer));
  return member->as_integer();
}

}  // namespace bundlespec
