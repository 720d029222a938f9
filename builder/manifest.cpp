// Loading and validating manifests. Every check adds to Problems; nothing stops early.
#include "manifest.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "bundlespec/fs.hpp"
#include "bundlespec/index.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/yaml_reader.hpp"

namespace builder {

using bundlespec::Checksum;
using bundlespec::count_of;
using bundlespec::DigestAlgorithm;
using bundlespec::location_of;
using bundlespec::MapReader;
using bundlespec::Need;
using bundlespec::Problems;
using bundlespec::Result;
using bundlespec::Scalar;

namespace {

// Platforms upstream publishes Kubernetes binaries for.
constexpr std::string_view k_platforms[] = {"linux/amd64", "linux/arm64", "linux/arm", "linux/ppc64le", "linux/s390x"};
constexpr int64_t k_max_epoch = 253402300799;  // 9999-12-31T23:59:59Z
constexpr uint32_t k_max_mode = 0777;

std::string platform_list() {
  std::string list;
  for (std::string_view platform : k_platforms) list += (list.empty() ? "" : ", ") + std::string(platform);
  return list;
}

// Names of artifacts and images, and image references, with where each was first seen.
struct Context {
  Problems problems;
  std::map<std::string, Location> names;
  std::map<std::string, Location> image_refs;
};

bool is_name_char(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
}

// True for [a-z0-9][a-z0-9._-]*, with the characters of `extra_first` also allowed anywhere.
bool is_identifier(std::string_view text, std::string_view extra_first) {
  if (text.empty() || !is_name_char(text.front(), extra_first)) return false;
  const std::string extra = std::string(extra_first) + "._-";
  return std::all_of(text.begin(), text.end(), [&](char c) { return is_name_char(c, extra); });
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "v1.20.11": 'v' and three dot-separated numbers.
bool is_kubernetes_version(std::string_view text) {
  if (text.size() < 2 || text.front() != 'v') return false;
  size_t parts = 0;
  size_t start = 1;
  for (size_t dot = 0; dot != std::string_view::npos; start = dot + 1) {
    dot = text.find('.', start);
    if (!is_digits(text.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    ++parts;
  }
  return parts == 3;
}

// Empty when `path` is a clean relative path (no '/', '.', '..' or empty component at
// either end or inside); else what is wrong with it.
std::string path_problem(std::string_view path) {
  if (path.front() == '/') return "must be relative (a path inside the bundle), not absolute";
  size_t start = 0;
  for (size_t slash = 0; slash != std::string_view::npos; start = slash + 1) {
    slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part == "..") return "must not contain '..'";
    if (part.empty() || part == ".") return "must not contain an empty or '.' component";
  }
  return {};
}

// Parses "0755"; reports a problem and returns nullopt otherwise.
std::optional<uint32_t> read_mode(MapReader& reader) {
  const std::optional<Scalar> mode = reader.text("mode", Need::required);
  if (!mode) return std::nullopt;
  const std::string& text = mode->text;
  const bool octal = text.size() >= 2 && text.front() == '0' &&
                     std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!octal) {
    reader.report(mode->at,
                  "mode must be octal with a leading 0, like 0755, got '" + bundlespec::printable(text) + "'");
    return std::nullopt;
  }
  const uint64_t value = text.size() > 12 ? UINT64_MAX : std::stoull(text, nullptr, 8);
  // FORMAT.md 3.3: readers refuse setuid/setgid/sticky, world-writable and empty modes.
  if (value > k_max_mode || value == 0 || (value & 0002) != 0) {
    reader.report(mode->at, "mode " + text +
                                " is out of range (0001..0775 without the world-writable bit 0002; no setuid, setgid "
                                "or sticky bit)");
    return std::nullopt;
  }
  return static_cast<uint32_t>(value);
}

// Checks the name's spelling and that no artifact or image used it before.
void check_name(const Scalar& name, MapReader& reader, Context& cx) {
  if (!is_identifier(name.text, "")) {
    reader.report(name.at, "name '" + bundlespec::printable(name.text) + "' must match [a-z0-9][a-z0-9._-]*");
  }
  const auto [it, inserted] = cx.names.emplace(name.text, name.at);
  if (!inserted) {
    reader.report(name.at,
                  "name '" + bundlespec::printable(name.text) + "' is already used at " + it->second.to_string());
  }
}

// Reads `name` and, if present, makes "KIND NAME: " the reader's prefix.
std::string read_name(MapReader& reader, std::string_view kind, Context& cx) {
  const std::optional<Scalar> name = reader.text("name", Need::required);
  if (!name) return {};
  reader.set_prefix(std::string(kind) + " " + bundlespec::printable(name->text) + ": ");
  check_name(*name, reader, cx);
  return name->text;
}

void read_checksum(MapReader& reader, Artifact& artifact) {
  const std::optional<Scalar> checksum = reader.text("checksum", Need::required);
  if (!checksum) return;
  artifact.checksum_at = checksum->at;
  if (checksum->text == k_not_found) return;
  Result<Checksum> parsed = bundlespec::parse_checksum(checksum->text);
  if (!parsed.ok()) {
    reader.report(checksum->at,
                  "bad checksum: " + parsed.error().message() + " (write NOT-FOUND if no published checksum is known)");
    return;
  }
  artifact.checksum = std::move(parsed).value();
}

void read_url(MapReader& reader, Artifact& artifact) {
  const std::optional<Scalar> url = reader.text("url", Need::required);
  if (!url) return;
  const bool http = url->text.starts_with("https://") || url->text.starts_with("http://");
  if (!http || url->text.find_first_of(" \t\r\n") != std::string::npos) {
    reader.report(url->at, "url must be an http:// or https:// URL without spaces, got '" +
                               bundlespec::printable(url->text) + "'");
    return;
  }
  artifact.url = url->text;
}

void read_platform(MapReader& reader, const Manifest& manifest, Artifact& artifact) {
  const std::optional<Scalar> platform = reader.text("platform", Need::optional);
  if (!platform) {
    if (manifest.platforms.size() == 1) artifact.platform = manifest.platforms.front();
    if (manifest.platforms.size() > 1 && !reader.has("platform")) {
      reader.report(reader.at(), "platform is required when the manifest lists several platforms");
    }
    return;
  }
  const auto& all = manifest.platforms;
  if (std::find(all.begin(), all.end(), platform->text) == all.end()) {
    reader.report(platform->at, "platform " + platform->text + " is not one of the manifest's platforms");
    return;
  }
  artifact.platform = platform->text;
}

// Reads `to` and `mode` from `reader` into a placement taking `from`.
std::optional<Placement> read_placement(MapReader& reader, std::string from) {
  std::optional<Scalar> to = reader.text("to", Need::required);
  const std::optional<uint32_t> mode = read_mode(reader);
  if (to) {
    const std::string problem = path_problem(to->text);
    if (!problem.empty()) {
      reader.report(to->at, "destination '" + bundlespec::printable(to->text) + "' " + problem);
      to.reset();
    }
  }
  if (!to || !mode) return std::nullopt;
  return Placement{std::move(from), to->text, *mode, to->at};
}

std::optional<Placement> read_member(const YAML::Node& node, size_t number, MapReader& parent) {
  const std::string prefix = parent.prefix() + "member #" + std::to_string(number) + ": ";
  if (!node.IsMap()) {
    parent.problems().add(location_of(node), prefix + "must be a mapping with from, to and mode");
    return std::nullopt;
  }
  MapReader reader(node, prefix, parent.problems());
  reader.check_keys({"from", "to", "mode"});
  std::optional<Scalar> from = reader.text("from", Need::required);
  std::optional<Placement> placement = read_placement(reader, {});
  if (!from) return std::nullopt;
  if (from->text.starts_with("./")) from->text.erase(0, 2);
  const std::string problem = from->text.empty() ? "must name a file" : path_problem(from->text);
  if (!problem.empty()) {
    reader.report(from->at, "member path '" + bundlespec::printable(from->text) + "' " + problem);
    return std::nullopt;
  }
  if (placement) placement->from = from->text;
  return placement;
}

void read_members(MapReader& reader, Artifact& artifact) {
  for (std::string_view key : {"to", "mode"}) {
    if (reader.has(key)) {
      reader.report(location_of(*reader.value(key, Need::optional)),
                    "'" + std::string(key) + "' is only for kind file; each tarball member has its own");
    }
  }
  const std::optional<std::vector<YAML::Node>> members = reader.list("members", Need::required);
  if (!members) return;
  if (members->empty()) {
    reader.report(location_of(*reader.value("members", Need::optional)),
                  "members must list at least one member to keep");
  }
  for (size_t i = 0; i < members->size(); ++i) {
    std::optional<Placement> placement = read_member((*members)[i], i + 1, reader);
    if (placement) artifact.placements.push_back(std::move(*placement));
  }
}

void read_contents(MapReader& reader, Artifact& artifact) {
  const std::optional<Scalar> kind = reader.text("kind", Need::required);
  if (!kind) return;
  if (kind->text == "tarball") {
    artifact.kind = ArtifactKind::tarball;
    read_members(reader, artifact);
  } else if (kind->text == "file") {
    artifact.kind = ArtifactKind::file;
    if (reader.has("members")) {
      reader.report(location_of(*reader.value("members", Need::optional)), "'members' is only for kind tarball");
    }
    std::optional<Placement> placement = read_placement(reader, {});
    if (placement) artifact.placements.push_back(std::move(*placement));
  } else {
    reader.report(kind->at, "kind must be 'file' or 'tarball', got '" + bundlespec::printable(kind->text) + "'");
  }
}

// "YYYY-MM-DD": four, two and two digits.
bool is_iso_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  return is_digits(text.substr(0, 4)) && is_digits(text.substr(5, 2)) && is_digits(text.substr(8, 2));
}

// The optional `pinned_by_user:` mark of `kubeferry pin`: "YYYY-MM-DD how". It marks a value the
// user resolved, so there must be one (`what` is "checksum" or "digest").
std::string read_pinned_by_user(MapReader& reader, bool has_value, std::string_view what) {
  const std::optional<Scalar> mark = reader.text(k_pinned_by_user_key, Need::optional);
  if (!mark) return {};
  if (!is_iso_date(std::string_view(mark->text).substr(0, 10)) || (mark->text.size() > 10 && mark->text[10] != ' ')) {
    reader.report(mark->at, "pinned_by_user must start with the date the user resolved the value (YYYY-MM-DD), got '" +
                                bundlespec::printable(mark->text) + "'");
    return {};
  }
  if (!has_value) {
    reader.report(mark->at, "pinned_by_user marks a resolved " + std::string(what) + ", but the " + std::string(what) +
                                " is NOT-FOUND");
    return {};
  }
  return mark->text;
}

std::optional<Artifact> read_artifact(const YAML::Node& node, size_t number, const Manifest& manifest, Context& cx) {
  const std::string prefix = "artifact #" + std::to_string(number) + ": ";
  if (!node.IsMap()) {
    cx.problems.add(location_of(node), prefix + "must be a mapping");
    return std::nullopt;
  }
  MapReader reader(node, prefix, cx.problems);
  Artifact artifact;
  artifact.at = reader.at();
  artifact.name = read_name(reader, "artifact", cx);
  reader.check_keys(
      {"name", "version", "kind", "url", "checksum", "source", "pinned_by_user", "platform", "members", "to", "mode"});
  if (auto version = reader.text("version", Need::required)) artifact.version = version->text;
  read_url(reader, artifact);
  read_checksum(reader, artifact);
  if (auto source = reader.text("source", Need::required)) artifact.source = source->text;
  artifact.pinned_by_user = read_pinned_by_user(reader, artifact.checksum.has_value(), "checksum");
  if (!artifact.pinned_by_user.empty()) artifact.checksum_origin = ChecksumOrigin::user_pin;
  read_platform(reader, manifest, artifact);
  read_contents(reader, artifact);
  return artifact;
}

// Splits "NAME:TAG@sha256:<hex>" into the image's reference and digest.
void read_reference(MapReader& reader, const Scalar& ref, bool not_found, Image& image) {
  const size_t at_sign = ref.text.find('@');
  image.reference = ref.text.substr(0, at_sign);
  if (at_sign == std::string::npos) {
    if (!not_found) {
      reader.report(ref.at, "ref '" + bundlespec::printable(ref.text) +
                                "' has no @sha256: digest (pin NAME:TAG@sha256:<hex>, "
                                "or write digest: NOT-FOUND with a source note)");
    }
    return;
  }
  if (not_found) reader.report(ref.at, "ref pins a digest, so 'digest: NOT-FOUND' must go");
  Result<Checksum> digest = bundlespec::parse_checksum(ref.text.substr(at_sign + 1));
  if (!digest.ok()) {
    reader.report(ref.at, "bad digest in ref: " + digest.error().message());
  } else if (digest->algorithm != DigestAlgorithm::sha256) {
    reader.report(ref.at, "the digest in ref must be sha256");
  } else {
    image.digest = std::move(digest).value();
  }
}

// Checks NAME:TAG: no spaces, a tag after the last '/', listed once.
void check_reference(MapReader& reader, const Scalar& ref, const Image& image, Context& cx) {
  const std::string& name = image.reference;
  const size_t slash = name.rfind('/');
  const size_t colon = name.find(':', slash == std::string::npos ? 0 : slash);
  if (name.find_first_of(" \t\r\n") != std::string::npos) {
    reader.report(ref.at, "ref '" + bundlespec::printable(ref.text) + "' must not contain spaces");
  } else if (colon == std::string::npos || colon + 1 == name.size() || colon == 0) {
    reader.report(ref.at, "ref '" + bundlespec::printable(ref.text) +
                              "' has no tag (write NAME:TAG@sha256:<hex>; "
                              "the installer tags the loaded image with it)");
  }
  const auto [it, inserted] = cx.image_refs.emplace(name, ref.at);
  if (!inserted) reader.report(ref.at, "image " + name + " is already listed at " + it->second.to_string());
}

std::optional<Image> read_image(const YAML::Node& node, size_t number, Context& cx) {
  const std::string prefix = "image #" + std::to_string(number) + ": ";
  if (!node.IsMap()) {
    cx.problems.add(location_of(node), prefix + "must be a mapping");
    return std::nullopt;
  }
  MapReader reader(node, prefix, cx.problems);
  Image image;
  image.at = reader.at();
  image.name = read_name(reader, "image", cx);
  reader.check_keys({"name", "ref", "digest", "source", "pinned_by_user"});
  const std::optional<Scalar> digest = reader.text("digest", Need::optional);
  const bool not_found = digest && digest->text == k_not_found;
  if (digest && !not_found) {
    reader.report(digest->at,
                  "digest may only be NOT-FOUND (a known digest goes in ref as "
                  "NAME:TAG@sha256:<hex>)");
  }
  if (const std::optional<Scalar> ref = reader.text("ref", Need::required)) {
    image.ref_at = ref->at;
    image.digest_at = not_found ? digest->at : ref->at;
    read_reference(reader, *ref, not_found, image);
    check_reference(reader, *ref, image, cx);
  }
  if (auto source = reader.text("source", Need::required)) image.source = source->text;
  image.pinned_by_user = read_pinned_by_user(reader, image.digest.has_value(), "digest");
  if (!image.pinned_by_user.empty()) image.digest_origin = ChecksumOrigin::user_pin;
  return image;
}

void read_platforms(MapReader& reader, Manifest& manifest) {
  const std::optional<std::vector<YAML::Node>> platforms = reader.list("platforms", Need::optional);
  if (!reader.has("platforms")) manifest.platforms = {std::string(k_default_platform)};
  if (!platforms) return;
  if (platforms->empty()) {
    reader.report(location_of(*reader.value("platforms", Need::optional)), "platforms must list at least one platform");
  }
  for (const YAML::Node& node : *platforms) {
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    const auto& seen = manifest.platforms;
    if (std::find(std::begin(k_platforms), std::end(k_platforms), text) == std::end(k_platforms)) {
      reader.report(location_of(node), "platform '" + bundlespec::printable(text) +
                                           "' is not supported (supported: " + platform_list() + ")");
    } else if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
      reader.report(location_of(node), "platform " + text + " is listed twice");
    } else {
      manifest.platforms.push_back(text);
    }
  }
}

void read_epoch(MapReader& reader, Manifest& manifest) {
  const std::optional<Scalar> epoch = reader.text("epoch", Need::required);
  if (!epoch) return;
  if (!is_digits(epoch->text)) {
    reader.report(epoch->at, "epoch must be a whole number of seconds since 1970-01-01 UTC, got '" +
                                 bundlespec::printable(epoch->text) + "'");
    return;
  }
  const int64_t value = epoch->text.size() > 12 ? k_max_epoch + 1 : std::stoll(epoch->text);
  if (value > k_max_epoch) {
    reader.report(epoch->at, "epoch " + epoch->text + " is out of range (0.." + std::to_string(k_max_epoch) + ")");
    return;
  }
  manifest.epoch = value;
}

void read_header(MapReader& reader, Manifest& manifest) {
  if (auto bundle = reader.text("bundle", Need::required)) {
    // The bundle name becomes the index's `name` (FORMAT.md 3.2: at most 128 bytes).
    if (!is_identifier(bundle->text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || bundle->text.size() > bundlespec::k_max_label) {
      reader.report(bundle->at, "bundle '" + bundlespec::printable(bundle->text) +
                                    "' must match [A-Za-z0-9][A-Za-z0-9._-]* and be at most 128 bytes");
    }
    manifest.bundle = bundle->text;
  }
  if (auto version = reader.text("kubernetes_version", Need::required)) {
    if (!is_kubernetes_version(version->text)) {
      reader.report(version->at,
                    "kubernetes_version '" + bundlespec::printable(version->text) + "' must look like v1.20.11");
    }
    manifest.kubernetes_version = version->text;
  }
  read_platforms(reader, manifest);
  read_epoch(reader, manifest);
}

// Each destination is used once per platform, and no destination lies inside another.
void check_destinations(const Manifest& manifest, Problems& problems) {
  for (const std::string& platform : manifest.platforms) {
    std::map<std::string, Location> used;
    for (const Artifact& artifact : manifest.artifacts) {
      if (artifact.platform != platform) continue;
      for (const Placement& placement : artifact.placements) {
        const auto [it, inserted] = used.emplace(placement.to, placement.at);
        if (!inserted) {
          problems.add(placement.at, "artifact " + artifact.name + ": destination '" +
                                         bundlespec::printable(placement.to) + "' is already used at " +
                                         it->second.to_string());
        }
      }
    }
    for (const auto& [path, at] : used) {
      for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        const auto parent = used.find(path.substr(0, slash));
        if (parent == used.end()) continue;
        problems.add(at, "destination '" + bundlespec::printable(path) + "' lies inside '" +
                             bundlespec::printable(parent->first) + "', which is a file (" +
                             parent->second.to_string() + ")");
      }
    }
  }
}

void read_manifest(const YAML::Node& root, Manifest& manifest, Context& cx) {
  if (!root.IsMap()) {
    const Location at = location_of(root);
    cx.problems.add(at.line > 0 ? at : Location{1, 1},
                    "a manifest must be a YAML mapping (bundle, kubernetes_version, epoch, artifacts, ...)");
    return;
  }
  MapReader reader(root, "", cx.problems);
  reader.check_keys({"bundle", "kubernetes_version", "platforms", "epoch", "artifacts", "images"});
  read_header(reader, manifest);
  if (auto artifacts = reader.list("artifacts", Need::required)) {
    if (artifacts->empty()) {
      reader.report(location_of(*reader.value("artifacts", Need::optional)),
                    "artifacts must list at least one artifact");
    }
    for (size_t i = 0; i < artifacts->size(); ++i) {
      auto artifact = read_artifact((*artifacts)[i], i + 1, manifest, cx);
      if (artifact) manifest.artifacts.push_back(std::move(*artifact));
    }
  }
  if (auto images = reader.list("images", Need::optional)) {
    for (size_t i = 0; i < images->size(); ++i) {
      auto image = read_image((*images)[i], i + 1, cx);
      if (image) manifest.images.push_back(std::move(*image));
    }
  }
  check_destinations(manifest, cx.problems);
}

}  // namespace

std::string Image::pinned_reference() const {
  return reference + "@" + digest->to_string();
}

std::string_view origin_name(ChecksumOrigin origin) {
  switch (origin) {
    case ChecksumOrigin::manifest:
      return "manifest";
    case ChecksumOrigin::command_line:
      return "command line";
    case ChecksumOrigin::user_pin:
      return "user (kubeferry pin)";
  }
  return "manifest";
}

std::string_view kind_name(ArtifactKind kind) {
  return kind == ArtifactKind::file ? "file" : "tarball";
}

Result<Manifest> parse_manifest(std::string_view yaml, const std::string& file) {
  Context cx;
  Manifest manifest;
  manifest.file = file;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    read_manifest(root, manifest, cx);
  } catch (const YAML::Exception& e) {
    // Syntax errors, and anything yaml-cpp throws while we walk the tree.
    cx.problems.add(location_of(e.mark), "YAML error: " + e.msg);
  }
  if (!cx.problems.empty()) return cx.problems.to_error("manifest " + file + " is invalid", file);
  return manifest;
}

Result<Manifest> load_manifest(const std::string& path) {
  TRY_ASSIGN(const std::string text, bundlespec::read_file(path, 16 << 20));
  return parse_manifest(text, path);
}

}  // namespace builder
