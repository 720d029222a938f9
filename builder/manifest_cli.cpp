// `kubeferry manifest check MANIFEST [--checksum NAME=sha256:<hex>]...`: validates a manifest
// and says whether it can be built, printing one line per artifact and image to stdout.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "manifest.hpp"

namespace builder {

namespace {

struct ManifestCheckOptions {
  std::string manifest;
  std::vector<std::string> checksums;
};

std::string checksum_text(const std::optional<bundlespec::Checksum>& checksum, ChecksumOrigin origin) {
  if (!checksum) return std::string(k_not_found);
  const std::string text = checksum->to_string();
  switch (origin) {
    case ChecksumOrigin::command_line:
      return text + " (--checksum)";
    case ChecksumOrigin::user_pin:
      return text + " (pinned by the user)";
    case ChecksumOrigin::manifest:
      break;
  }
  return text;
}

// "artifact NAME VERSION KIND PLATFORM CHECKSUM URL -> DEST..."
std::string summary_line(const Artifact& artifact) {
  std::string line = "artifact " + artifact.name + " " + artifact.version + " " +
                     std::string(kind_name(artifact.kind)) + " " + artifact.platform + " " +
                     checksum_text(artifact.checksum, artifact.checksum_origin) + " " + artifact.url + " ->";
  for (const Placement& placement : artifact.placements) line += " " + placement.to;
  return line;
}

// "image NAME REFERENCE@DIGEST"
std::string summary_line(const Image& image) {
  return "image " + image.name + " " + image.reference + "@" + checksum_text(image.digest, image.digest_origin);
}

bundlespec::Status run_manifest_check(const ManifestCheckOptions& options) {
  TRY_ASSIGN(const ChecksumOverrides overrides, parse_checksum_overrides(options.checksums));
  TRY_ASSIGN(const Manifest loaded, load_manifest(options.manifest));
  TRY(require_pins(loaded, overrides));
  TRY_ASSIGN(const Manifest manifest, apply_checksum_overrides(loaded, overrides));
  std::printf("bundle %s kubernetes %s epoch %lld\n", manifest.bundle.c_str(), manifest.kubernetes_version.c_str(),
              static_cast<long long>(manifest.epoch));
  for (const Artifact& artifact : manifest.artifacts) {
    std::printf("%s\n", summary_line(artifact).c_str());
  }
  for (const Image& image : manifest.images) std::printf("%s\n", summary_line(image).c_str());
  return bundlespec::ok_status();
}

}  // namespace

void setup_manifest_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  (void)global;
  auto* manifest = app.add_subcommand("manifest", "Work with pinned version manifests");
  manifest->require_subcommand(1);
  auto* check =
      manifest->add_subcommand("check", "Validate a manifest and check that every checksum and digest is pinned");
  auto options = std::make_shared<ManifestCheckOptions>();
  check->add_option("MANIFEST", options->manifest, "Manifest file (manifests/*.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  check->add_option("--checksum", options->checksums,
                    "NAME=sha256:<hex> (or sha512:) for an entry the manifest marks NOT-FOUND; "
                    "repeatable");
  commands.push_back({check, [options] { return run_manifest_check(*options); }});
}

}  // namespace builder
