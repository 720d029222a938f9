// The builder's pinned manifest: what goes into a bundle, from where, with which checksum.
//
// A manifest (manifests/*.yaml, schema in manifests/README.md) names the bundle, the
// Kubernetes version, the target platform(s), the SOURCE_DATE_EPOCH of the bundle, the
// artifacts to download (URL + sha256/sha512 + a `source:` note citing where the checksum
// came from) with where their files go in the bundle, and the container images (pinned by
// `@sha256:` digest). A checksum or digest nobody could find is written `NOT-FOUND`: loading
// accepts it, require_checksums() / require_image_digests() refuse to build with it unless
// the user supplies the value on the command line (`--checksum NAME=sha256:<hex>`).
//
// yaml-cpp is used only inside manifest.cpp; its exceptions stop there. Every validation
// problem is collected and reported at once, each as `FILE:LINE:COL: message`.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/digest.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/yaml_reader.hpp"

namespace builder {

// The literal a manifest uses for a checksum or digest that no public source gave.
inline constexpr std::string_view k_not_found = "NOT-FOUND";
// The platform of a manifest that lists none.
inline constexpr std::string_view k_default_platform = "linux/amd64";

// A position in the manifest file, 1-based (0:0 means unknown).
// A 1-based position in the manifest (bundlespec/yaml_reader.hpp, shared with the installer's
// inventory reader).
using bundlespec::Location;

enum class ArtifactKind { file, tarball };

// Where the checksum an artifact is verified against comes from: read in a published source
// (the manifest's `source:`), passed with --checksum for one run, or resolved by the user with
// `kubeferry pin` and written into the manifest with a `pinned_by_user:` mark.
enum class ChecksumOrigin { manifest, command_line, user_pin };

// The key `kubeferry pin` writes beside a value it resolved: "YYYY-MM-DD <how it was checked>".
inline constexpr std::string_view k_pinned_by_user_key = "pinned_by_user";

// One file an artifact contributes to the bundle.
struct Placement {
  // Path of the member inside the tarball, with any leading "./" removed (match tar entry
  // names after removing theirs). Empty for a `file` artifact: the download itself.
  std::string from;
  // Relative path inside the bundle: no leading '/', no '.' or '..' or empty component.
  std::string to;
  uint32_t mode = 0;  // permission bits, at most 0777
  Location at;        // of the `to:` value
};

struct Artifact {
  std::string name;  // unique among artifacts and images; [a-z0-9][a-z0-9._-]*
  std::string version;
  ArtifactKind kind = ArtifactKind::file;
  std::string url;  // http:// or https://
  // The pinned checksum; nullopt when the manifest says NOT-FOUND.
  std::optional<bundlespec::Checksum> checksum;
  ChecksumOrigin checksum_origin = ChecksumOrigin::manifest;
  std::string source;                 // where the checksum was read (free text)
  // The `pinned_by_user:` mark ("YYYY-MM-DD how"), "" when the value came from `source`.
  // Non-empty exactly when checksum_origin is user_pin.
  std::string pinned_by_user;
  std::string platform;               // one of Manifest::platforms
  std::vector<Placement> placements;  // a file artifact has exactly one
  Location at;                        // of the artifact's mapping
  Location checksum_at;               // of the `checksum:` value
};

struct Image {
  std::string name;                            // shares the namespace of artifact names
  std::string reference;                       // NAME:TAG, without the digest
  std::optional<bundlespec::Checksum> digest;  // sha256; nullopt when NOT-FOUND
  ChecksumOrigin digest_origin = ChecksumOrigin::manifest;
  std::string source;
  std::string pinned_by_user;  // as for Artifact
  Location at;
  Location ref_at;     // of the `ref:` value
  Location digest_at;  // of the `ref:` value, or of `digest: NOT-FOUND`

  // "NAME:TAG@sha256:<hex>". REQUIRES: digest.has_value().
  std::string pinned_reference() const;
};

struct Manifest {
  std::string file;  // as given to load_manifest(); prefixes every message
  std::string bundle;
  std::string kubernetes_version;      // "v1.20.11"
  std::vector<std::string> platforms;  // "os/arch", at least one
  int64_t epoch = 0;                   // SOURCE_DATE_EPOCH of the bundle: every mtime in it
  std::vector<Artifact> artifacts;
  std::vector<Image> images;
};

// NAME -> checksum given on the command line (`--checksum NAME=sha256:<hex>`).
using ChecksumOverrides = std::map<std::string, bundlespec::Checksum>;

// Reads and validates the manifest at `path`. Fails if the file cannot be read (the
// message names the path and strerror), or, listing every problem found, with
//   "manifest PATH is invalid (N problems):\nPATH:LINE:COL: message\n..."
bundlespec::Result<Manifest> load_manifest(const std::string& path);

// As load_manifest() for text already in memory; `file` names it in messages.
bundlespec::Result<Manifest> parse_manifest(std::string_view yaml, const std::string& file);

// Succeeds if every artifact has a checksum, pinned or in `overrides`, and every override is
// usable (names an artifact or image; does not contradict a pinned value). Fails with
//   "manifest FILE cannot be built (N problems):\n" + one line per problem, e.g.
//   "artifact cni-plugins v0.8.6: no checksum is pinned (NOT FOUND in FILE:40:15); fetch
//    upstream's own checksum file on a connected machine and pass --checksum
//    cni-plugins=sha256:<hex>"
bundlespec::Status require_checksums(const Manifest& manifest, const ChecksumOverrides& overrides);

// The same for images: every image has a digest, pinned or a sha256 override.
bundlespec::Status require_image_digests(const Manifest& manifest, const ChecksumOverrides& overrides);

// Both checks above, every problem under one header.
bundlespec::Status require_pins(const Manifest& manifest, const ChecksumOverrides& overrides);

// Returns `manifest` with each override filled into its NOT-FOUND artifact or image (origin
// command_line). Fails as require_checksums() does; images may stay without a digest.
bundlespec::Result<Manifest> apply_checksum_overrides(Manifest manifest, const ChecksumOverrides& overrides);

// Parses `NAME=sha256:<hex>` / `NAME=sha512:<hex>` strings. Fails (ErrorCode::usage) listing
// every bad one: no '=' or empty name, a bad checksum, a name given twice.
bundlespec::Result<ChecksumOverrides> parse_checksum_overrides(const std::vector<std::string>& specs);

// "file" or "tarball".
std::string_view kind_name(ArtifactKind kind);

// How the lock names an origin: "manifest", "command line", "user (kubeferry pin)".
std::string_view origin_name(ChecksumOrigin origin);

}  // namespace builder
