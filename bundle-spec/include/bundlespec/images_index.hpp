// The images part of a bundle: which container images it carries and where their blobs are.
//
// Layout inside the bundle (builder/README-images.md is the description for FORMAT.md):
//   images/images.json              this index, canonical JSON (encode_images_index)
//   images/blobs/sha256/<hex>       every blob once, named by its SHA-256: indexes, manifests,
//                                   configs and layers, exactly the registry's bytes
// Several images sharing a layer share its file. The builder writes both
// (builder/images.hpp); the installer reads them and assembles, per runtime, the tar stream
// that `ctr images import` (OCI layout) or `docker load` (docker-archive) reads.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"

namespace bundlespec {

inline constexpr int k_images_index_version = 1;
inline constexpr std::string_view k_images_dir = "images";
inline constexpr std::string_view k_images_index_path = "images/images.json";

// An OCI content descriptor: a blob's media type, digest ("sha256:<hex>") and size.
struct ImageDescriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  bool operator==(const ImageDescriptor&) const = default;
};

// One platform's image: its manifest, config and layers (in order, base first).
struct ImagePlatform {
  std::string platform;  // "os/arch" or "os/arch/variant"
  ImageDescriptor manifest;
  ImageDescriptor config;
  std::vector<ImageDescriptor> layers;
  bool operator==(const ImagePlatform&) const = default;
};

struct ImageRecord {
  std::string name;       // the manifest's image name ("pause")
  std::string reference;  // NAME:TAG exactly as the manifest gives it (docker's RepoTags)
  std::string full_name;  // normalised REGISTRY/REPOSITORY:TAG (containerd's image name)
  // The pinned blob: an image index / manifest list, or a single manifest. Its digest is the
  // pin of the manifest; when it is a manifest, platforms has exactly that one entry.
  ImageDescriptor target;
  std::vector<ImagePlatform> platforms;  // the platforms fetched, in the order asked for
  bool operator==(const ImageRecord&) const = default;
};

struct ImagesIndex {
  int version = k_images_index_version;
  std::vector<ImageRecord> images;  // in manifest order
  bool operator==(const ImagesIndex&) const = default;
};

// Canonical JSON bytes (keys sorted, no whitespace) and a newline.
std::string encode_images_index(const ImagesIndex& index);

// Parses and checks an images index: version, every field present with its type, digests
// "sha256:<64 lowercase hex>", at least one platform per image, names unique. Fails
// (verification) with "images index: image #N: <what>" style messages.
Result<ImagesIndex> decode_images_index(std::string_view text);

// NAME without its ":TAG": the tag follows the last ':' when that comes after the last '/' (a
// registry port's ':' does not count). NAME unchanged when it has no tag.
std::string_view without_tag(std::string_view name);

// "REGISTRY/REPOSITORY@<target digest>": the image's digest name. A pinned reference
// REPO:TAG@DIGEST is looked up by containerd's CRI under this name (a reference with a digest
// drops its tag when normalised), so a loaded image needs it beside full_name.
// REQUIRES: full_name is "REGISTRY/REPOSITORY:TAG" (the tag follows the last ':', which comes
// after the last '/'; a registry port's ':' does not); a name without a tag is kept whole.
std::string digest_name(const ImageRecord& image);

// "images/blobs/sha256/<hex>" for a "sha256:<hex>" digest (REQUIRES: a valid digest).
std::string image_blob_path(std::string_view digest);

// Every distinct blob of the image: the target, then per platform its manifest (unless it is
// the target), config and layers, without repeats.
std::vector<ImageDescriptor> image_blobs(const ImageRecord& image);

// OCI / Docker media types the bundle knows.
inline constexpr std::string_view k_media_oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view k_media_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_media_docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view k_media_docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";

// True for an image index or a docker manifest list.
bool is_index_media_type(std::string_view media_type);

}  // namespace bundlespec
