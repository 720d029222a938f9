// split: a signed bundle cut into media parts with a signed parts manifest (split.hpp).
#include <cstdio>
#include <memory>
#include <string>

#include "cli.hpp"
#include "split.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/parts.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/text.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct SplitCliOptions {
  std::string bundle;
  std::string size;
  std::string key;
  std::string out_dir;
};

bs::Status run_split_command(const SplitCliOptions& options, const GlobalOptions& global) {
  TRY_ASSIGN(const uint64_t part_size, bs::parse_split_size(options.size));
  return split_written_bundle(options.bundle, options.key, part_size, options.out_dir, global);
}

}  // namespace

bs::Status split_written_bundle(const std::string& bundle, const std::string& key_path, uint64_t part_size,
                                const std::string& out_dir, const GlobalOptions& global) {
  TRY_ASSIGN(const bs::Key key, bs::load_private_key(key_path));
  bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                               "kubeferry: ");
  SplitOptions options;
  options.part_size = part_size;
  options.out_dir = out_dir;
  auto result = split_bundle(bundle, key, options, progress);
  if (!result.ok()) {
    const bs::ErrorCode code = result.error().code();
    if (code == bs::ErrorCode::usage) return std::move(result).error().context("split " + bundle);
    return std::move(result).error().context("split " + bundle + " (no part was left behind)");
  }
  for (const auto& stale : result->removed_stale) {
    std::fprintf(stderr, "kubeferry: removed %s, left by an earlier split into more parts\n",
                 bs::printable(stale).c_str());
  }
  const bs::PartsManifest& manifest = result->manifest;
  for (const auto& part : manifest.parts) std::printf("%s  %s\n", part.sha256.c_str(), part.name.c_str());
  std::printf("wrote %s: %zu parts of at most %s, signed by %s\n", result->manifest_path.c_str(),
              manifest.parts.size(), bs::format_bytes(manifest.part_size).c_str(), manifest.signer.c_str());
  if (!global.quiet) {
    std::fprintf(stderr,
                 "kubeferry: copy every %s.part*, %s, %s.sig%s to the media; on the target: "
                 "./%s.installer verify-media DIR --pubkey KEY.pub, then join\n",
                 manifest.file.name.c_str(), bs::parts_manifest_name(manifest.file.name).c_str(),
                 bs::parts_manifest_name(manifest.file.name).c_str(),
                 manifest.installer ? (" and " + manifest.file.name + ".installer").c_str() : "",
                 manifest.file.name.c_str());
  }
  return bs::ok_status();
}

void add_split_option(CLI::App* command, std::string& size) {
  command->add_option("--split", size,
                      "Also cut the bundle into media parts of at most SIZE (k/M/G, or fat32, dvd, bd) with a "
                      "signed OUTPUT.parts manifest");
}

void setup_split_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<SplitCliOptions>();
  auto* split = app.add_subcommand(
      "split",
      "Cut a bundle into parts for removable media: BUNDLE.part000... of at most SIZE, BUNDLE.installer, and "
      "BUNDLE.parts (+ .sig), signed with the bundle's key. cat BUNDLE.part* > BUNDLE joins them.");
  split->add_option("bundle", options->bundle, "Bundle (.run) to cut")->required()->check(CLI::ExistingFile);
  split->add_option("size", options->size,
                    "Largest part: bytes with an optional k, M or G (powers of 1024), or fat32 (4 GiB - 1), dvd "
                    "(4.7 GB), bd (25 GB)")
      ->required();
  split->add_option("--key", options->key, "The private key that signed the bundle")
      ->required()
      ->check(CLI::ExistingFile);
  split->add_option("--out-dir", options->out_dir, "Folder for the parts (default: the bundle's folder)")
      ->check(CLI::ExistingDirectory);
  commands.push_back({split, [options, &global] {
                        bs::install_interrupt_handlers();
                        return run_split_command(*options, global);
                      }});
}

}  // namespace builder
