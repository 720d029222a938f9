// `kubeferry build`: manifest -> verified downloads -> bundle tree -> one signed .run.
//
// Steps (each a function below, so tests can run them alone):
//   1. load the manifest and fill in --checksum overrides; refuse NOT-FOUND pins;
//   2. fetch every artifact into the content-addressed cache (verified while streaming);
//   3. lay out the bundle: file artifacts are read straight from the cache, tarball members
//      are unpacked into a private staging folder beside the output;
//   4. fetch the images by digest into STAGING/images (blobs stored once, images.hpp);
//   5. add bundle.lock, sbom.spdx.json and manifest.yaml;
//   6. write the container with the bundle library, then OUT.sha256 and OUT.sha256.sig.
// The staging folder is removed on every path; the output appears only when complete.
// Thread-safety: one build per process at a time.
#pragma once

#include <string>
#include <vector>

#include "fetch.hpp"
#include "images.hpp"
#include "lock.hpp"
#include "manifest.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/writer.hpp"

namespace builder {

struct BuildOptions {
  std::string manifest_path;
  std::string key_path;
  std::string output;
  std::string installer_path;                   // "" = kubeferry-install beside kubeferry
  std::vector<std::string> checksum_overrides;  // NAME=sha256:<hex>
  FetchOptions fetch;
  // Registry settings for the manifest's images (fetch options are copied from `fetch`).
  RegistryOptions registry;
  int level = 19;
  int threads = 0;
};

struct BuildSummary {
  bundlespec::WriteResult written;
  size_t downloaded = 0;   // artifacts fetched over the network
  size_t from_cache = 0;   // artifacts found in the cache
  size_t images = 0;       // images in the bundle
  size_t image_blobs = 0;  // distinct blobs they need (shared layers counted once)
};

// Unpacks the members a tarball artifact keeps into `staging` (at their bundle paths).
// Fails naming the artifact and member when a member is missing, not a regular file, or the
// tarball is unreadable.
bundlespec::Status unpack_members(const Artifact& artifact, const std::string& tarball, const std::string& staging);

// The bundle's entries for the given artifacts (files from the cache, members from staging),
// plus the extra files already written under staging (paths relative to it), with all parent
// folders, sorted.
bundlespec::Result<std::vector<bundlespec::SourceEntry>> bundle_entries(const Manifest& manifest,
                                                                        const std::vector<FetchResult>& fetched,
                                                                        const std::string& staging,
                                                                        const std::vector<std::string>& extra_files);

bundlespec::Result<BuildSummary> run_build(const BuildOptions& options, bundlespec::Progress& progress);

}  // namespace builder
