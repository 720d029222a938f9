// The parts manifest's encoding (FORMAT.md 11). See bundlespec/parts.hpp.
#include "bundlespec/parts.hpp"

#include <charconv>
#include <cstdio>

#include "bundlespec/digest.hpp"
#include "bundlespec/index.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

constexpr size_t k_max_media_name = 200;

// Decimal digits without a leading zero (0 itself is "0"), fitting uint64_t.
std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Splits `text` into lines, each of which ended with '\n'. False when the last one did not.
bool split_lines(std::string_view text, std::vector<std::string_view>& lines) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) return false;
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return true;
}

// Fields of `line` separated by single spaces, after `prefix` (which it must start with).
std::optional<std::vector<std::string_view>> fields_after(std::string_view line, std::string_view prefix,
                                                          size_t count) {
  if (!line.starts_with(prefix)) return std::nullopt;
  line.remove_prefix(prefix.size());
  std::vector<std::string_view> fields;
  while (true) {
    const size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  if (fields.size() != count) return std::nullopt;
  for (const auto field : fields) {
    if (field.empty()) return std::nullopt;
  }
  return fields;
}

// A line reader that names the line of the first problem.
class Lines {
 public:
  explicit Lines(std::vector<std::string_view> lines) : m_lines(std::move(lines)) {}
  bool done() const { return m_next >= m_lines.size(); }
  std::string_view peek() const { return done() ? std::string_view() : m_lines[m_next]; }
  std::string_view take() {
    if (done()) {
      m_past_end = true;
      return {};
    }
    return m_lines[m_next++];
  }
  // The problem with the line take() returned last: "line N: want WANT, got 'TEXT'".
  Error error(const std::string& want) const {
    if (m_past_end) return verification_error("parts manifest ends early: want " + want);
    return verification_error("parts manifest line " + std::to_string(m_next) + ": want " + want + ", got '" +
                              printable(m_lines[m_next - 1], 120) + "'");
  }

 private:
  std::vector<std::string_view> m_lines;
  size_t m_next = 0;
  bool m_past_end = false;
};

// "# TAG NAME SIZE" then "HEX  NAME".
Result<MediaFile> take_media_file(Lines& lines, std::string_view tag) {
  const std::string prefix = "# " + std::string(tag) + " ";
  const auto head = fields_after(lines.take(), prefix, 2);
  if (!head) return lines.error("'" + prefix + "NAME SIZE'");
  const auto size = parse_decimal((*head)[1]);
  if (!size) return lines.error("'" + prefix + "NAME SIZE' with a decimal SIZE");
  MediaFile file{std::string((*head)[0]), *size, ""};
  const std::string_view digest_line = lines.take();
  const std::string tail = "  " + file.name;
  if (digest_line.size() != 64 + tail.size() || !is_lower_hex(digest_line.substr(0, 64), 64) ||
      digest_line.substr(64) != tail) {
    return lines.error("'SHA256  " + file.name + "' (64 lowercase hex digits, two spaces, the name)");
  }
  file.sha256 = std::string(digest_line.substr(0, 64));
  return file;
}

std::string media_file_lines(std::string_view tag, const MediaFile& file) {
  return "# " + std::string(tag) + " " + file.name + " " + std::to_string(file.size) + "\n" + file.sha256 + "  " +
         file.name + "\n";
}

}  // namespace

Result<uint64_t> parse_split_size(std::string_view text) {
  if (text == "fat32") return k_split_fat32;
  if (text == "dvd") return k_split_dvd;
  if (text == "bd") return k_split_bd;
  const std::string bad = "size '" + printable(text, 40) +
                          "' is not a byte count (digits with an optional k, M or G suffix, powers of 1024) or one "
                          "of fat32 (4 GiB - 1), dvd (4.7 GB), bd (25 GB)";
  std::string_view digits = text;
  unsigned shift = 0;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) digits.remove_suffix(1);
  }
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) return usage_error(bad);
  if (value == 0) return usage_error("size '" + printable(text, 40) + "' is zero");
  if (shift != 0 && value > (UINT64_MAX >> shift)) return usage_error("size '" + printable(text, 40) + "' is too large");
  return value << shift;
}

std::string media_name_problem(std::string_view name) {
  if (name.empty() || name.size() > k_max_media_name) return "must be 1-200 bytes";
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_' || c == '+';
  };
  for (const char c : name) {
    if (!allowed(c)) return "may hold only ASCII letters, digits, '.', '-', '_' and '+'";
  }
  if (name[0] == '.' || name[0] == '-' || name[0] == '_' || name[0] == '+') return "must start with a letter or digit";
  if (name.size() < 5 || !name.ends_with(".run")) return "must end in .run";
  return "";
}

std::string parts_manifest_name(std::string_view file) {
  return std::string(file.substr(0, file.size() - 4)) + std::string(k_parts_suffix);
}

std::string part_name(std::string_view file, size_t index) {
  char digits[8];
  std::snprintf(digits, sizeof digits, "%03zu", index);
  return std::string(file) + ".part" + digits;
}

uint64_t part_count(uint64_t file_size, uint64_t part_size) {
  if (file_size == 0) return 1;
  return file_size / part_size + (file_size % part_size != 0 ? 1 : 0);
}

std::string check_parts_manifest(const PartsManifest& m) {
  if (const std::string problem = name_problem(m.bundle); !problem.empty()) return "bundle name " + problem;
  if (!parse_fingerprint(m.signer).ok() || parse_fingerprint(m.signer).value() != m.signer) {
    return "signer must be SHA256: and 64 lowercase hex digits";
  }
  if (const std::string problem = media_name_problem(m.file.name); !problem.empty()) {
    return "file name " + problem;
  }
  if (!is_lower_hex(m.file.sha256, 64)) return "file sha256 must be 64 lowercase hex digits";
  if (m.part_size == 0) return "part-size must be at least 1";
  if (m.file.size == 0) return "the file must not be empty";
  const uint64_t count = part_count(m.file.size, m.part_size);
  if (count > k_max_parts) return "more than " + std::to_string(k_max_parts) + " parts";
  if (m.parts.size() != count) {
    return "a file of " + std::to_string(m.file.size) + " bytes in parts of " + std::to_string(m.part_size) +
           " needs " + std::to_string(count) + " parts, not " + std::to_string(m.parts.size());
  }
  for (size_t i = 0; i < m.parts.size(); ++i) {
    const MediaFile& part = m.parts[i];
    if (part.name != part_name(m.file.name, i)) return "part " + std::to_string(i) + " must be named " + part_name(m.file.name, i);
    const uint64_t want = i + 1 < count ? m.part_size : m.file.size - m.part_size * (count - 1);
    if (part.size != want) return part.name + " must be " + std::to_string(want) + " bytes";
    if (!is_lower_hex(part.sha256, 64)) return part.name + ": sha256 must be 64 lowercase hex digits";
  }
  if (m.installer) {
    if (m.installer->name != m.file.name + std::string(k_installer_suffix)) {
      return "the installer must be named " + m.file.name + std::string(k_installer_suffix);
    }
    if (m.installer->size == 0 || m.installer->size >= m.file.size) return "the installer's size must be 1 to file size - 1";
    if (!is_lower_hex(m.installer->sha256, 64)) return "installer sha256 must be 64 lowercase hex digits";
  }
  return "";
}

std::string encode_parts_manifest(const PartsManifest& m) {
  std::string out(k_parts_magic);
  out += "# bundle " + m.bundle + "\n";
  out += "# signer " + m.signer + "\n";
  out += "# file " + m.file.name + " " + std::to_string(m.file.size) + " " + m.file.sha256 + "\n";
  out += "# part-size " + std::to_string(m.part_size) + "\n";
  if (m.installer) out += media_file_lines("installer", *m.installer);
  for (const MediaFile& part : m.parts) out += media_file_lines("part", part);
  return out;
}

Result<PartsManifest> decode_parts_manifest(std::string_view text) {
  if (text.size() > k_max_parts_manifest_size) {
    return verification_error("parts manifest is larger than " + std::to_string(k_max_parts_manifest_size) + " bytes");
  }
  if (!text.starts_with(k_parts_magic)) {
    return verification_error("not a kubeferry parts manifest (the first line is not '# kubeferry parts v1')");
  }
  std::vector<std::string_view> raw;
  if (!split_lines(text, raw)) return verification_error("parts manifest does not end with a newline");
  Lines lines(std::move(raw));
  lines.take();
  PartsManifest m;
  const auto bundle = fields_after(lines.take(), "# bundle ", 1);
  if (!bundle) return lines.error("'# bundle NAME'");
  m.bundle = std::string((*bundle)[0]);
  const auto signer = fields_after(lines.take(), "# signer ", 1);
  if (!signer) return lines.error("'# signer SHA256:<hex>'");
  m.signer = std::string((*signer)[0]);
  const auto file = fields_after(lines.take(), "# file ", 3);
  const auto file_size = file ? parse_decimal((*file)[1]) : std::nullopt;
  if (!file || !file_size) return lines.error("'# file NAME SIZE SHA256'");
  m.file = MediaFile{std::string((*file)[0]), *file_size, std::string((*file)[2])};
  const auto part_size = fields_after(lines.take(), "# part-size ", 1);
  const auto part_size_value = part_size ? parse_decimal((*part_size)[0]) : std::nullopt;
  if (!part_size_value) return lines.error("'# part-size SIZE'");
  m.part_size = *part_size_value;
  if (lines.peek().starts_with("# installer ")) {
    TRY_ASSIGN(m.installer, take_media_file(lines, "installer"));
  }
  while (!lines.done()) {
    if (m.parts.size() >= k_max_parts) return verification_error("parts manifest lists more than 1000 parts");
    TRY_ASSIGN(MediaFile part, take_media_file(lines, "part"));
    m.parts.push_back(std::move(part));
  }
  if (const std::string problem = check_parts_manifest(m); !problem.empty()) {
    return verification_error("parts manifest: " + problem);
  }
  // One manifest, one encoding: whatever the rules above let through must re-encode exactly.
  if (encode_parts_manifest(m) != text) return verification_error("parts manifest is not in canonical form");
  return m;
}

}  // namespace bundlespec
