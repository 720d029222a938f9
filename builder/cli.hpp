// The builder's command table. Each subcommand lives in builder/<name>_cli.cpp with a
// setup_<name>(app, commands) that declares its options (CLI11 only there and in main.cpp)
// and registers a runner; main.cpp dispatches after the parse.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "bundlespec/container.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/trust.hpp"

namespace builder {

struct Command {
  CLI::App* app = nullptr;
  std::function<bundlespec::Status()> run;
  // The exit code after a successful run (diff: 1 when the bundles differ); empty means 0.
  std::function<int()> exit_code = {};
};
using Commands = std::vector<Command>;

struct GlobalOptions {
  bool quiet = false;
};

// --pubkey, --fingerprint and --require-pinned of verify and inspect (bundle_cli.cpp).
struct PinOptions {
  bundlespec::PinFlags flags;
  bool require_pinned = false;
};
void add_pin_options(CLI::App* command, PinOptions& pins);

// A verified bundle and whether its signer was pinned.
struct PinnedBundle {
  bundlespec::BundleFile file;
  bundlespec::PinState pin = bundlespec::PinState::unpinned;
};

// `path` opened under `pins` (bundlespec/trust.hpp): fails (usage) for bad flags before the file
// is read, (verification) for a signer other than the pinned one, or an unpinned one with
// --require-pinned; prints the NOT pinned warning otherwise.
bundlespec::Result<PinnedBundle> open_pinned_bundle(const std::string& path, const PinOptions& pins);

// keygen, pack, verify (bundle_cli.cpp).
void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// The kubeferry-install in the folder of this program (it may not exist): the installer a .run
// starts with unless --installer names another (bundle_cli.cpp).
std::string installer_beside_self();

// A warning for a bundle too large for FAT32 (files up to 4 GiB - 1 byte), the file system of
// most USB sticks, saying what to do instead; "" when `size` fits (bundle_cli.cpp).
std::string fat32_warning(const std::string& output, uint64_t size);

// build, inspect (build_cli.cpp).
void setup_build_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// manifest check (manifest_cli.cpp).
void setup_manifest_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// images fetch (images_cli.cpp).
void setup_images_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// pin: resolve NOT-FOUND checksums and digests into the manifest (pin_cli.cpp).
void setup_pin_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// fetch: download and verify artifacts into the cache (fetch_cli.cpp; flags in fetch_cli.hpp).
void setup_fetch_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// diff (diff_cli.cpp).
void setup_diff_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);

// split (split_cli.cpp), and the --split SIZE of build and pack.
void setup_split_commands(CLI::App& app, const GlobalOptions& global, Commands& commands);
void add_split_option(CLI::App* command, std::string& size);
// Cuts the written `bundle` into parts of `part_size` (split.hpp), printing each part's digest
// and the manifest written. `out_dir` "" = beside the bundle.
bundlespec::Status split_written_bundle(const std::string& bundle, const std::string& key_path, uint64_t part_size,
                                        const std::string& out_dir, const GlobalOptions& global);

}  // namespace builder
