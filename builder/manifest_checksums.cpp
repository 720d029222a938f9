// NOT-FOUND checksums and `--checksum NAME=<checksum>` overrides (declared in manifest.hpp).
#include <set>

#include "manifest.hpp"
#include "bundlespec/text.hpp"

namespace builder {

using bundlespec::Checksum;
using bundlespec::DigestAlgorithm;
using bundlespec::Result;
using bundlespec::Status;

namespace {

using Lines = std::vector<std::string>;

std::string where(const Manifest& manifest, Location at) {
  return manifest.file + ":" + at.to_string();
}

const Artifact* find_artifact(const Manifest& manifest, const std::string& name) {
  for (const Artifact& artifact : manifest.artifacts) {
    if (artifact.name == name) return &artifact;
  }
  return nullptr;
}

const Image* find_image(const Manifest& manifest, const std::string& name) {
  for (const Image& image : manifest.images) {
    if (image.name == name) return &image;
  }
  return nullptr;
}

// What is wrong with `--checksum NAME=value`, or "" if it may be used.
std::string override_problem(const Manifest& manifest, const std::string& name, const Checksum& value) {
  const std::string flag = "--checksum " + name + ": ";
  if (const Artifact* artifact = find_artifact(manifest, name)) {
    if (!artifact->checksum || *artifact->checksum == value) return {};
    return flag + "artifact " + name + " " + artifact->version + " already pins " + artifact->checksum->to_string() +
           " at " + where(manifest, artifact->checksum_at) + "; change the manifest instead";
  }
  if (const Image* image = find_image(manifest, name)) {
    if (value.algorithm != DigestAlgorithm::sha256) {
      return flag + "an image digest must be sha256:<hex>";
    }
    if (!image->digest || *image->digest == value) return {};
    return flag + "image " + name + " already pins " + image->digest->to_string() + " at " +
           where(manifest, image->digest_at) + "; change the manifest instead";
  }
  return flag + "no artifact or image is named '" + bundlespec::printable(name) + "' in " + manifest.file;
}

void add_override_problems(const Manifest& manifest, const ChecksumOverrides& overrides, Lines& lines) {
  for (const auto& [name, value] : overrides) {
    std::string problem = override_problem(manifest, name, value);
    if (!problem.empty()) lines.push_back(std::move(problem));
  }
}

void add_artifact_gaps(const Manifest& manifest, const ChecksumOverrides& overrides, Lines& lines) {
  for (const Artifact& artifact : manifest.artifacts) {
    if (artifact.checksum || overrides.contains(artifact.name)) continue;
    lines.push_back("artifact " + artifact.name + " " + artifact.version + ": no checksum is pinned (NOT FOUND in " +
                    where(manifest, artifact.checksum_at) + ")");
  }
}

void add_image_gaps(const Manifest& manifest, const ChecksumOverrides& overrides, Lines& lines) {
  for (const Image& image : manifest.images) {
    if (image.digest || overrides.contains(image.name)) continue;
    lines.push_back("image " + image.name + " " + image.reference + ": no digest is pinned (NOT FOUND in " +
                    where(manifest, image.digest_at) + ")");
  }
}

// The one command that resolves every NOT-FOUND value of the manifest, said once after the
// problems that need it.
std::string pin_hint(const Manifest& manifest) {
  return "resolve NOT-FOUND values on a connected machine with: kubeferry pin " + manifest.file +
         " (or pass --checksum NAME=sha256:<hex> with a value read from upstream)";
}

bool has_gap(const Lines& lines) {
  for (const std::string& line : lines) {
    if (line.find(": no checksum is pinned (") != std::string::npos ||
        line.find(": no digest is pinned (") != std::string::npos) {
      return true;
    }
  }
  return false;
}

Status to_status(const Manifest& manifest, const Lines& lines) {
  if (lines.empty()) return bundlespec::ok_status();
  std::string text = "manifest " + manifest.file + " cannot be built (" + std::to_string(lines.size()) +
                     (lines.size() == 1 ? " problem):" : " problems):");
  for (const std::string& line : lines) text += "\n" + line;
  if (has_gap(lines)) text += "\n" + pin_hint(manifest);
  return bundlespec::make_error(std::move(text));
}

}  // namespace

Status require_checksums(const Manifest& manifest, const ChecksumOverrides& overrides) {
  Lines lines;
  add_override_problems(manifest, overrides, lines);
  add_artifact_gaps(manifest, overrides, lines);
  return to_status(manifest, lines);
}

Status require_image_digests(const Manifest& manifest, const ChecksumOverrides& overrides) {
  Lines lines;
  add_override_problems(manifest, overrides, lines);
  add_image_gaps(manifest, overrides, lines);
  return to_status(manifest, lines);
}

Status require_pins(const Manifest& manifest, const ChecksumOverrides& overrides) {
  Lines lines;
  add_override_problems(manifest, overrides, lines);
  add_artifact_gaps(manifest, overrides, lines);
  add_image_gaps(manifest, overrides, lines);
  return to_status(manifest, lines);
}

Result<Manifest> apply_checksum_overrides(Manifest manifest, const ChecksumOverrides& overrides) {
  TRY(require_checksums(manifest, overrides));
  for (Artifact& artifact : manifest.artifacts) {
    const auto it = overrides.find(artifact.name);
    if (artifact.checksum || it == overrides.end()) continue;
    artifact.checksum = it->second;
    artifact.checksum_origin = ChecksumOrigin::command_line;
  }
  for (Image& image : manifest.images) {
    const auto it = overrides.find(image.name);
    if (image.digest || it == overrides.end()) continue;
    image.digest = it->second;
    image.digest_origin = ChecksumOrigin::command_line;
  }
  return manifest;
}

Result<ChecksumOverrides> parse_checksum_overrides(const std::vector<std::string>& specs) {
  ChecksumOverrides overrides;
  Lines lines;
  for (const std::string& spec : specs) {
    const size_t equals = spec.find('=');
    if (equals == std::string::npos || equals == 0) {
      lines.push_back("--checksum '" + bundlespec::printable(spec) +
                      "': expected NAME=sha256:<hex> or NAME=sha512:<hex>");
      continue;
    }
    const std::string name = spec.substr(0, equals);
    Result<Checksum> checksum = bundlespec::parse_checksum(spec.substr(equals + 1));
    if (!checksum.ok()) {
      lines.push_back("--checksum " + name + ": " + checksum.error().message());
    } else if (!overrides.emplace(name, std::move(checksum).value()).second) {
      lines.push_back("--checksum " + name + " is given twice");
    }
  }
  if (lines.empty()) return overrides;
  std::string text;
  for (const std::string& line : lines) text += (text.empty() ? "" : "\n") + line;
  return bundlespec::usage_error(std::move(text));
}

}  // namespace builder
