// Fetching a manifest's pinned container images into a bundle's staging tree.
//
// For each image, in order:
//   1. the pinned blob (NAME:TAG@sha256:<hex>) is read from the cache or fetched BY DIGEST
//      from the registry (registry.hpp), and its SHA-256 must equal the pin; a 404 for the
//      digest also asks the registry what the tag points to now, for the error message;
//   2. an image index / manifest list: one manifest per requested platform (os/arch, and the
//      variant when asked, e.g. linux/arm64/v8); a platform the index lacks is an error naming
//      the platforms it has. A single manifest: its config's os/architecture must match every
//      requested platform. Schema-1 manifests are refused;
//   3. each manifest (by its descriptor's digest, checked with its size), then every config
//      and layer, through the downloader (fetch.hpp: parallel, retried, resumed, SHA-256
//      verified while streaming, cached as <cache>/sha256/<hex>). A blob shared by several
//      images is downloaded once and stored once.
// Then the layout is written to STAGING/images.tmp-XXXXXX and renamed to STAGING/images:
//   images/images.json          the images index (bundlespec/images_index.hpp)
//   images/blobs/sha256/<hex>   every blob, hard-linked from the cache when possible, else copied
// On any failure STAGING/images does not exist afterwards (the temporary folder is removed).
// Thread-safety: one call at a time per Progress.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fetch.hpp"
#include "manifest.hpp"
#include "registry.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/images_index.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"

namespace builder {

// One image to fetch.
struct ImageRef {
  std::string name;             // the manifest's image name (unique)
  std::string reference;        // NAME:TAG, no digest
  bundlespec::Checksum digest;  // the pin (sha256)
};

// The manifest's images. Fails (usage) naming every image without a digest (NOT-FOUND):
// call apply_checksum_overrides() first to fill --checksum values in.
bundlespec::Result<std::vector<ImageRef>> image_refs(const Manifest& manifest);

struct RegistryOptions {
  // Cache folder, parallel transfers, retries, backoff, timeouts and --cacert (used for the
  // registry API calls too). Mirrors are not applied to registries.
  FetchOptions fetch;
  std::map<std::string, Credentials> credentials;  // --creds; these win over auth_file
  std::string auth_file;                           // docker config.json; "" = default_docker_config()
  std::vector<std::string> plain_http;             // registries reached over http:// (HOST:PORT)
  std::vector<std::string> platforms{"linux/amd64"};
};

struct ImagesSummary {
  bundlespec::ImagesIndex index;  // what images/images.json holds
  size_t blob_count = 0;          // distinct blobs in images/blobs
  uint64_t blob_bytes = 0;
  size_t downloaded = 0;  // blobs (manifests included) that were not in the cache
};

// Fetches `images` and writes STAGING/images (see the file comment). STAGING must exist and
// must not hold an `images` entry yet. Fails with:
//   usage         no images, a bad reference or platform, STAGING/images exists;
//   verification  a manifest or blob digest/size does not match its pin or descriptor;
//   interrupted   the stop flag was set (partial downloads are kept for the next run);
//   failure       registry, network, authentication or disk errors.
// Messages start with "image 'NAME' (REFERENCE): ".
bundlespec::Result<ImagesSummary> fetch_images(const std::vector<ImageRef>& images, const RegistryOptions& options,
                                               const std::string& staging_dir, bundlespec::Progress& progress);

}  // namespace builder
