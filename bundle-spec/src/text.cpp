#include "bundlespec/text.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace bundlespec {

namespace {

// Length of the well-formed UTF-8 sequence at the start of `text` and its code point, or 0
// when the first byte does not start one (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF).
size_t utf8_sequence(std::string_view text, uint32_t& code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  size_t length = 0;
  uint32_t min = 0;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2, min = 0x80, code_point = first & 0x1fu;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3, min = 0x800, code_point = first & 0x0fu;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4, min = 0x10000, code_point = first & 0x07u;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3fu);
  }
  if (code_point < min || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) return 0;
  return length;
}

// Code points a terminal acts on or that reorder or break what is shown.
bool is_control_code_point(uint32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

// The next piece of printable() output for the start of `text`, and how many bytes it used.
std::string_view next_piece(std::string_view text, char (&escape)[5], size_t& used) {
  const auto first = static_cast<unsigned char>(text.front());
  uint32_t code_point = first;
  size_t length = first < 0x80 ? 1 : utf8_sequence(text, code_point);
  if (length != 0 && !is_control_code_point(code_point)) {
    used = length;
    return text.substr(0, length);
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  escape[0] = '\\';
  escape[1] = 'x';
  escape[2] = k_hex[first >> 4];
  escape[3] = k_hex[first & 0x0f];
  escape[4] = '\0';
  used = 1;
  return std::string_view(escape, 4);
}

}  // namespace

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);
  char escape[5];
  while (!text.empty()) {
    size_t used = 0;
    const std::string_view piece = next_piece(text, escape, used);
    if (out.size() + piece.size() > max_bytes) {
      out += "...";
      break;
    }
    out += piece;
    text.remove_prefix(used);
  }
  return out;
}

std::string printable_lines(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    out += printable(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start),
                     std::string::npos);
    if (end == std::string_view::npos) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim_space(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::string_view trim_end(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::string join_argv(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::string parent_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return "";
  return slash == 0 ? std::string("/") : std::string(path.substr(0, slash));
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string raw;
  raw.reserve(user.size() + 1 + password.size());
  raw.append(user).append(":").append(password);
  std::string encoded(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  encoded.resize(static_cast<size_t>(n));
  return "Basic " + encoded;
}

}  // namespace bundlespec
