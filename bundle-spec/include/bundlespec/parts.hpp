// Media parts: a bundle cut into pieces that fit a FAT32 stick, a DVD or a BD, and the signed
// parts manifest (X.parts, X.parts.sig) that lets the far side check every piece before it
// joins them. FORMAT.md section 11 is the authority; this is its one implementation of the
// manifest's encoding. Cutting (builder/split.*) and checking and joining (installer/media/*)
// use it.
//
// The manifest is text that `sha256sum -c X.parts` reads as it is: its fields are comment lines
// (`# ...`, which sha256sum skips), its parts are sha256sum lines. The signature is raw Ed25519
// over its exact bytes (`openssl pkeyutl -verify -rawin`).
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"
#include "bundlespec/signing.hpp"

namespace bundlespec {

// Part names have three decimal digits so that `cat X.part*` (the shell sorts the names) joins
// them in order: at most 1000 parts.
inline constexpr size_t k_max_parts = 1000;
inline constexpr std::string_view k_parts_magic = "# kubeferry parts v1\n";
inline constexpr std::string_view k_parts_suffix = ".parts";
inline constexpr std::string_view k_installer_suffix = ".installer";
inline constexpr uint64_t k_max_parts_manifest_size = 1 << 20;

// The size presets of --split: FAT32's largest file, a single-layer DVD, a single-layer BD.
inline constexpr uint64_t k_split_fat32 = (uint64_t{4} << 30) - 1;  // 4 GiB - 1 byte
inline constexpr uint64_t k_split_dvd = 4'700'000'000;              // 4.7 GB
inline constexpr uint64_t k_split_bd = 25'000'000'000;              // 25 GB

// One file of the medium: a part, or the installer copied out of the bundle.
struct MediaFile {
  std::string name;  // basename, in the manifest's folder
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
  bool operator==(const MediaFile&) const = default;
};

struct PartsManifest {
  std::string bundle;  // the index's name
  std::string signer;  // "SHA256:<hex>", the key that signed the bundle and this manifest
  MediaFile file;      // the whole bundle file: its basename, size and sha256
  uint64_t part_size = 0;
  std::optional<MediaFile> installer;  // FILE.installer: bytes [0, payload_offset) of the bundle
  std::vector<MediaFile> parts;        // FILE.part000, FILE.part001, ... in order
  bool operator==(const PartsManifest&) const = default;
};

// "4G", "4000M", "650k", "123456", or a preset: "fat32", "dvd", "bd". k, M and G are powers of
// 1024 (as split(1) reads them). Fails (usage) naming the text when it is none of these, is 0,
// or overflows.
Result<uint64_t> parse_split_size(std::string_view text);

// "" when `name` may name a bundle file on the medium, else why not: 1-200 bytes of ASCII
// letters, digits, '.', '-', '_' and '+', the first a letter or digit (so the names need no
// escaping in a sha256sum line and leave room for ".part000"), ending in ".run" (so that the
// manifest X.parts of X.run is not matched by `cat X.run.part*`).
std::string media_name_problem(std::string_view name);

// X.parts for X.run. REQUIRES: media_name_problem(file) is "".
std::string parts_manifest_name(std::string_view file);

// FILE.partNNN for part `index` (0-based). REQUIRES: index < k_max_parts.
std::string part_name(std::string_view file, size_t index);

// The number of parts a file of `file_size` bytes needs at `part_size` bytes each (at least 1).
uint64_t part_count(uint64_t file_size, uint64_t part_size);

// The manifest's exact bytes (FORMAT.md 11.2). REQUIRES: a manifest that passes
// check_parts_manifest().
std::string encode_parts_manifest(const PartsManifest& manifest);

// Parses the manifest, refusing (verification) anything but the exact encoding
// encode_parts_manifest() writes, and any manifest whose fields disagree (names, sizes that do
// not add up to the file's). Messages name the line: "line 4: ...".
Result<PartsManifest> decode_parts_manifest(std::string_view text);

// "" when the fields agree (FORMAT.md 11.3), else the first problem.
std::string check_parts_manifest(const PartsManifest& manifest);

}  // namespace bundlespec
