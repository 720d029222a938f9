// `kubeferry split` and `build|pack --split`: a signed bundle cut into media parts.
//
// One pass over the bundle writes FILE.part000... (at most part_size bytes each), the
// installer as FILE.installer, and at the end FILE.parts and FILE.parts.sig (the signed
// parts manifest, bundlespec/parts.hpp, FORMAT.md 11). The same pass hashes the installer and
// payload ranges and checks them against the signed index, so parts of a bundle that was
// damaged on disk are never signed. Memory does not grow with the bundle (1 MiB buffer).
// Thread-safety: one split at a time per output folder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundlespec/parts.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/signing.hpp"

namespace builder {

struct SplitOptions {
  uint64_t part_size = bundlespec::k_split_fat32;
  std::string out_dir;  // "" = the bundle's folder
};

struct SplitResult {
  bundlespec::PartsManifest manifest;
  std::string manifest_path;               // OUT_DIR/FILE.parts
  std::vector<std::string> written;        // every file written, manifest and signature last
  std::vector<std::string> removed_stale;  // FILE.partNNN of an earlier split with more parts
};

// Splits the bundle at `bundle_path`, whose signer must be `key` (the parts manifest is signed
// with the bundle's own key). Fails (usage) when the signer differs, the file's name cannot go
// on the medium (bundlespec::media_name_problem) or more than 1000 parts would be needed;
// (verification) when the bundle does not open or its bytes do not match its index. On any
// failure, an interrupt included, no part and no manifest is left in the output folder.
bundlespec::Result<SplitResult> split_bundle(const std::string& bundle_path, const bundlespec::Key& key,
                                             const SplitOptions& options, bundlespec::Progress& progress);

}  // namespace builder
