// bundle.lock and the SPDX 2.3 SBOM: the record of exactly what went into a bundle.
//
// Both are pure functions of the manifest and the fetch results, so they are reproducible
// (no clock: the SBOM's creation time is the manifest's epoch).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "fetch.hpp"
#include "manifest.hpp"
#include "bundlespec/json.hpp"

namespace builder {

// One image as it went into the bundle (filled by the images step; may be empty).
struct LockedImage {
  std::string name;
  std::string reference;        // NAME:TAG as the manifest gives it
  std::string digest;           // the pinned manifest digest, "sha256:<hex>"
  std::string platform_digest;  // the platform manifest chosen from an index ("" if none)
  uint64_t size = 0;            // bytes of all its blobs
};

// bundle.lock: {"bundle", "kubernetes_version", "epoch", "manifest_sha256", "artifacts": [{name,
// version, kind, url, final_url, size, sha256, sha512?, pinned, pinned_by, source}], "images": [...]}
bundlespec::Json make_lock(const Manifest& manifest, const std::string& manifest_sha256,
                           const std::vector<FetchResult>& fetched, const std::vector<LockedImage>& images);

// SPDX 2.3 JSON document describing every artifact and image as a package.
bundlespec::Json make_sbom(const Manifest& manifest, const std::vector<FetchResult>& fetched,
                           const std::vector<LockedImage>& images, const std::string& lock_sha256);

// "2021-09-15T00:00:00Z" for an epoch.
std::string iso8601_utc(int64_t epoch);

}  // namespace builder
