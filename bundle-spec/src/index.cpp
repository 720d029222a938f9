#include "bundlespec/index.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "bundlespec/digest.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

constexpr std::pair<EntryType, std::string_view> k_type_names[] = {
    {EntryType::file, "file"},
    {EntryType::directory, "directory"},
    {EntryType::symlink, "symlink"},
    {EntryType::hardlink, "hardlink"},
    {EntryType::char_device, "char-device"},
    {EntryType::block_device, "block-device"},
    {EntryType::fifo, "fifo"},
};

Result<EntryType> parse_entry_type(const std::string& name) {
  for (const auto& [type, text] : k_type_names) {
    if (text == name) return type;
  }
  return verification_error("unknown entry type \"" + printable(name) + "\"");
}

Json part_to_json(const Part& part) {
  Json::Object object;
  object["offset"] = part.offset;
  object["size"] = part.size;
  object["sha256"] = part.sha256;
  return object;
}

Json entry_to_json(const IndexEntry& entry) {
  Json::Object object;
  object["path"] = entry.path;
  object["type"] = std::string(entry_type_name(entry.type));
  object["mode"] = static_cast<int64_t>(entry.mode);
  if (entry.type == EntryType::file) {
    object["size"] = entry.size;
    object["sha256"] = entry.sha256;
  }
  if (entry.type == EntryType::symlink || entry.type == EntryType::hardlink) {
    object["target"] = entry.target;
  }
  if (entry.origin) {
    Json::Object origin;
    origin["artifact"] = entry.origin->artifact;
    origin["version"] = entry.origin->version;
    origin["url"] = entry.origin->url;
    origin["checksum"] = entry.origin->checksum;
    object["origin"] = std::move(origin);
  }
  return object;
}

// Reads a non-negative integer member.
Result<uint64_t> get_size(const Json& object, std::string_view key) {
  TRY_ASSIGN(int64_t value, get_integer(object, key));
  if (value < 0) return verification_error("\"" + std::string(key) + "\": negative");
  return static_cast<uint64_t>(value);
}

Status check_keys(const Json& object, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.as_object()) {
    bool known = false;
    for (auto name : allowed) known = known || key == name;
    if (!known) return verification_error("unknown field \"" + printable(key) + "\"");
  }
  return ok_status();
}

Result<Part> part_from_json(const Json& json) {
  if (!json.is_object()) return verification_error("expected an object");
  TRY(check_keys(json, {"offset", "size", "sha256"}));
  Part part;
  TRY_ASSIGN(part.offset, get_size(json, "offset"));
  TRY_ASSIGN(part.size, get_size(json, "size"));
  TRY_ASSIGN(part.sha256, get_string(json, "sha256"));
  if (!is_lower_hex(part.sha256, 64)) return verification_error("\"sha256\": not 64 lowercase hex digits");
  return part;
}

Result<Origin> origin_from_json(const Json& json) {
  if (!json.is_object()) return verification_error("\"origin\": expected an object");
  TRY(check_keys(json, {"artifact", "version", "url", "checksum"}));
  Origin origin;
  TRY_ASSIGN(origin.artifact, get_string(json, "artifact"));
  TRY_ASSIGN(origin.version, get_string(json, "version"));
  TRY_ASSIGN(origin.url, get_string(json, "url"));
  TRY_ASSIGN(origin.checksum, get_string(json, "checksum"));
  return origin;
}

Result<IndexEntry> entry_from_json(const Json& json) {
  if (!json.is_object()) return verification_error("expected an object");
  TRY(check_keys(json, {"path", "type", "mode", "size", "sha256", "target", "origin"}));
  IndexEntry entry;
  TRY_ASSIGN(entry.path, get_string(json, "path"));
  TRY_ASSIGN(std::string type, get_string(json, "type"));
  TRY_ASSIGN(entry.type, parse_entry_type(type));
  TRY_ASSIGN(int64_t mode, get_integer(json, "mode"));
  if (mode < 0 || mode > 07777) return verification_error("\"mode\": out of range");
  entry.mode = static_cast<uint32_t>(mode);
  if (entry.type == EntryType::file) {
    TRY_ASSIGN(entry.size, get_size(json, "size"));
    TRY_ASSIGN(entry.sha256, get_string(json, "sha256"));
    if (!is_lower_hex(entry.sha256, 64)) return verification_error("\"sha256\": not 64 lowercase hex digits");
  }
  if (entry.type == EntryType::symlink || entry.type == EntryType::hardlink) {
    TRY_ASSIGN(entry.target, get_string(json, "target"));
  }
  if (const Json* origin = json.find("origin")) {
    TRY_ASSIGN(entry.origin, origin_from_json(*origin));
  }
  return entry;
}

Status decode_fields(const Json& json, Index& index) {
  TRY(check_keys(json, {"format_version", "name", "platform", "created", "signer", "compression", "installer",
                        "payload", "entries"}));
  TRY_ASSIGN(int64_t version, get_integer(json, "format_version"));
  if (version != k_format_version) {
    return verification_error("format_version " + std::to_string(version) + " is not supported (this reader knows " +
                              std::to_string(k_format_version) + ")");
  }
  TRY_ASSIGN(index.name, get_string(json, "name"));
  if (const std::string problem = name_problem(index.name); !problem.empty()) {
    return verification_error("\"name\" \"" + printable(index.name) + "\": " + problem);
  }
  TRY_ASSIGN(index.platform, get_string(json, "platform"));
  if (const std::string problem = platform_problem(index.platform); !problem.empty()) {
    return verification_error("\"platform\" \"" + printable(index.platform) + "\": " + problem);
  }
  TRY_ASSIGN(index.created, get_integer(json, "created"));
  if (index.created < 0) return verification_error("\"created\": negative (seconds since 1970 are never negative)");
  TRY_ASSIGN(index.signer, get_string(json, "signer"));
  TRY_ASSIGN(const Json* compression, get_member(json, "compression", Json::Type::object));
  TRY(check_keys(*compression, {"algorithm", "level", "window_log"}));
  TRY_ASSIGN(index.compression.algorithm, get_string(*compression, "algorithm"));
  if (index.compression.algorithm != "zstd") return verification_error("compression: only zstd is supported");
  TRY_ASSIGN(int64_t level, get_integer(*compression, "level"));
  TRY_ASSIGN(int64_t window_log, get_integer(*compression, "window_log"));
  if (level < -131072 || level > 22 || window_log < 10 || window_log > 31) {
    return verification_error("compression: level or window_log out of range");
  }
  index.compression.level = static_cast<int>(level);
  index.compression.window_log = static_cast<int>(window_log);
  if (const Json* installer = json.find("installer")) {
    TRY_ASSIGN_CTX(auto part, part_from_json(*installer), "installer");
    index.installer = std::move(part);
  }
  TRY_ASSIGN(const Json* payload, get_member(json, "payload", Json::Type::object));
  TRY_ASSIGN_CTX(index.payload, part_from_json(*payload), "payload");
  // The entries arrived one by one while parsing (decode_index); the member must still be there.
  TRY(get_member(json, "entries", Json::Type::array));
  return ok_status();
}

// The canonical bytes of `index` in pieces, so that neither the writer nor the reader holds a
// second tree or a second copy of a large index: `head` up to and including "entries":[, one
// piece per entry, then `tail` from the closing ] on.
struct IndexPieces {
  std::string head;
  std::string tail;
};

IndexPieces index_pieces(const Index& index) {
  Index top;  // every field but the entries (copying them would double a large index)
  top.format_version = index.format_version;
  top.name = index.name;
  top.platform = index.platform;
  top.created = index.created;
  top.signer = index.signer;
  top.compression = index.compression;
  top.installer = index.installer;
  top.payload = index.payload;
  const std::string empty = to_canonical_json(index_to_json(top));
  static constexpr std::string_view k_marker = "\"entries\":[";
  // "compression" and "created" precede "entries" and cannot hold the marker (numbers and "zstd").
  const size_t at = empty.find(k_marker) + k_marker.size();
  return IndexPieces{empty.substr(0, at), empty.substr(at)};
}

std::string encode_entry(const IndexEntry& entry) {
  return to_canonical_json(entry_to_json(entry));
}

}  // namespace

std::string_view entry_type_name(EntryType type) {
  for (const auto& [t, text] : k_type_names) {
    if (t == type) return text;
  }
  return "?";
}

Json index_to_json(const Index& index) {
  Json::Object object;
  object["format_version"] = index.format_version;
  object["name"] = index.name;
  object["platform"] = index.platform;
  object["created"] = index.created;
  object["signer"] = index.signer;
  Json::Object compression;
  compression["algorithm"] = index.compression.algorithm;
  compression["level"] = index.compression.level;
  compression["window_log"] = index.compression.window_log;
  object["compression"] = std::move(compression);
  if (index.installer) object["installer"] = part_to_json(*index.installer);
  object["payload"] = part_to_json(index.payload);
  Json::Array entries;
  entries.reserve(index.entries.size());
  for (const auto& entry : index.entries) entries.push_back(entry_to_json(entry));
  object["entries"] = std::move(entries);
  return object;
}

std::string encode_index(const Index& index) {
  const IndexPieces pieces = index_pieces(index);
  std::string out = pieces.head;
  for (size_t i = 0; i < index.entries.size(); ++i) {
    if (i > 0) out += ',';
    out += encode_entry(index.entries[i]);
  }
  return out + pieces.tail;
}

Result<Index> decode_index(std::string_view bytes) {
  if (bytes.size() > k_max_index_size) return verification_error("index: larger than the 64 MiB limit");
  // Peak memory is one entry's tree plus the decoded entries: the entries are decoded as the
  // parser reaches them, not kept as a tree (issue 12: a 50 MB index once took 1.3 GB).
  Index index;
  JsonLimits limits;
  limits.streamed_member = "entries";
  limits.on_element = [&index](Json&& element) -> Status {
    if (index.entries.size() == k_max_entries) {
      return verification_error("more than " + std::to_string(k_max_entries) + " entries");
    }
    TRY_ASSIGN_CTX(auto entry, entry_from_json(element), "entry " + std::to_string(index.entries.size()));
    index.entries.push_back(std::move(entry));
    return ok_status();
  };
  TRY_ASSIGN_CTX(const Json json, parse_json(bytes, limits), "index");
  if (!json.is_object()) return verification_error("index: not a JSON object");
  TRY_CTX(decode_fields(json, index), "index");
  // Canonical: compare piece by piece instead of building the whole encoding again.
  const IndexPieces pieces = index_pieces(index);
  std::string_view rest = bytes;
  const auto take = [&rest](std::string_view piece) {
    if (rest.substr(0, piece.size()) != piece) return false;
    rest.remove_prefix(piece.size());
    return true;
  };
  bool canonical = take(pieces.head);
  for (size_t i = 0; canonical && i < index.entries.size(); ++i) {
    canonical = (i == 0 || take(",")) && take(encode_entry(index.entries[i]));
  }
  canonical = canonical && rest == pieces.tail;
  if (!canonical) return verification_error("index: not in canonical encoding");
  return index;
}

namespace {

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == '+';
}

}  // namespace

std::string name_problem(std::string_view name) {
  static const std::string k_rule =
      "must be 1-128 bytes of ASCII letters, digits, '.', '-', '_' and '+', starting with a letter or digit";
  if (name.empty() || name.size() > k_max_label) return k_rule;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return k_rule;
  for (char c : name) {
    if (!is_label_char(c)) return k_rule;
  }
  return "";
}

std::string platform_problem(std::string_view platform) {
  static const std::string k_rule =
      "must be os/arch or os/arch/variant (at most 128 bytes), each part ASCII letters, digits, '.', '-', '_' or '+'";
  if (platform.size() > k_max_label) return k_rule;
  size_t parts = 1;
  char previous = '/';
  for (char c : platform) {
    if (c == '/') {
      if (previous == '/') return k_rule;
      ++parts;
    } else if (!is_label_char(c)) {
      return k_rule;
    }
    previous = c;
  }
  if (previous == '/' || parts < 2 || parts > 3) return k_rule;
  return "";
}

std::string created_text(int64_t created) {
  // -62167219200 is 0000-01-01T00:00:00Z, 253402300799 is 9999-12-31T23:59:59Z.
  if (created < -62167219200 || created > 253402300799) return std::to_string(created);
  const std::time_t t = static_cast<std::time_t>(created);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(created);
  char text[96];  // room for any int, so -Wformat-truncation is satisfied
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

std::string path_problem(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.size() > k_max_path)
    return "path longer than " + std::to_string(k_max_path) + " bytes (PATH_MAX with its NUL)";
  if (path.front() == '/') return "absolute path";
  if (path.back() == '/') return "path ends with '/'";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    if (component.empty()) return "empty path component";
    if (component == ".") return "'.' path component";
    if (component == "..") return "'..' path component";
    if (component.size() > k_max_component) return "path component longer than 255 bytes";
    start = end + 1;
  }
  for (char c : path) {
    if (c == '\0') return "NUL byte in path";
  }
  return "";
}

namespace {

// Resolves a relative symlink target from the folder holding the link, component by component.
// Fails if it climbs above the bundle root or walks through another symlink of the bundle.
std::string symlink_problem(const IndexEntry& link, const std::map<std::string_view, EntryType>& types) {
  if (link.target.empty()) return "empty symlink target";
  if (link.target.size() > k_max_path)
    return "symlink target longer than " + std::to_string(k_max_path) + " bytes (PATH_MAX with its NUL)";
  if (link.target.find('\0') != std::string::npos) return "NUL byte in symlink target";
  if (link.target.front() == '/') return "symlink target '" + printable(link.target) + "' is absolute";
  std::vector<std::string> stack;
  const std::string parent = parent_of(link.path);
  size_t start = 0;
  while (!parent.empty() && start <= parent.size()) {
    size_t end = parent.find('/', start);
    if (end == std::string::npos) end = parent.size();
    stack.push_back(parent.substr(start, end - start));
    start = end + 1;
  }
  start = 0;
  const std::string& target = link.target;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string::npos) end = target.size();
    const std::string component = target.substr(start, end - start);
    const bool last = end == target.size();
    start = end + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      if (stack.empty()) return "symlink target '" + printable(target) + "' leaves the bundle";
      stack.pop_back();
      continue;
    }
    stack.push_back(component);
    if (last) break;
    std::string so_far;
    for (const auto& part : stack) so_far += (so_far.empty() ? "" : "/") + part;
    const auto it = types.find(so_far);
    if (it != types.end() && it->second != EntryType::directory) {
      return "symlink target '" + printable(target) + "' passes through " + printable(so_far) +
             ", which is not a folder";
    }
  }
  return "";
}

// FORMAT.md 3.3: files and folders have permission bits 0001-0775 (never world-writable, never
// none at all), symlinks 0777; no setuid, setgid or sticky bit.
std::string mode_problem(const IndexEntry& entry) {
  if ((entry.mode & ~0777u) != 0) return "setuid, setgid or sticky bits are not allowed";
  std::string why;
  if (entry.type == EntryType::symlink) {
    if (entry.mode != 0777) why = "a symlink is 0777";
  } else if (entry.mode == 0) {
    why = "no permission bits";
  } else if ((entry.mode & 0002) != 0) {
    why = "world-writable";
  }
  if (why.empty()) return "";
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", entry.mode);
  return "mode " + std::string(octal) + " is not allowed (" + why +
         "); files and folders have permission bits 0001-0775, symlinks 0777";
}

std::string entry_problem(const IndexEntry& entry, const std::map<std::string_view, EntryType>& types,
                          uint64_t max_entry_size) {
  switch (entry.type) {
    case EntryType::file:
      if (entry.size > max_entry_size) {
        return "size " + std::to_string(entry.size) + " exceeds the limit of " + std::to_string(max_entry_size) +
               " bytes";
      }
      return mode_problem(entry);
    case EntryType::directory:
      return mode_problem(entry);
    case EntryType::symlink:
      if (std::string problem = symlink_problem(entry, types); !problem.empty()) return problem;
      return mode_problem(entry);
    case EntryType::hardlink:
      return "hardlinks are not allowed";
    case EntryType::char_device:
    case EntryType::block_device:
      return "device nodes are not allowed";
    case EntryType::fifo:
      return "fifos are not allowed";
  }
  return "unknown type";
}

}  // namespace

Status validate_entries(const std::vector<IndexEntry>& entries, uint64_t max_entry_size) {
  if (entries.size() > k_max_entries)
    return verification_error("more than " + std::to_string(k_max_entries) + " entries");
  std::map<std::string_view, EntryType> types;
  const IndexEntry* previous = nullptr;
  for (const auto& entry : entries) {
    const auto fail = [&](const std::string& why) {
      return verification_error("entry " + printable(entry.path) + ": " + why);
    };
    if (std::string problem = path_problem(entry.path); !problem.empty()) return fail(problem);
    if (previous != nullptr && !(previous->path < entry.path)) {
      return fail(previous->path == entry.path ? "listed twice" : "out of order (entries must be sorted bytewise)");
    }
    const std::string parent = parent_of(entry.path);
    if (!parent.empty()) {
      const auto it = types.find(parent);
      if (it == types.end()) return fail("parent folder " + printable(parent) + " is not listed before it");
      if (it->second != EntryType::directory) return fail("parent " + printable(parent) + " is not a folder");
    }
    types.emplace(entry.path, entry.type);
    previous = &entry;
  }
  for (const auto& entry : entries) {
    if (std::string problem = entry_problem(entry, types, max_entry_size); !problem.empty()) {
      return verification_error("entry " + printable(entry.path) + ": " + problem);
    }
  }
  return ok_status();
}

}  // namespace bundlespec
