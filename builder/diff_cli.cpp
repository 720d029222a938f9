// diff: what changed between two bundles (diff.hpp). Exit 0 identical, 1 different.
#include <cstdio>
#include <memory>
#include <string>

#include "cli.hpp"
#include "diff.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/json.hpp"

namespace builder {

namespace bs = bundlespec;

namespace {

struct DiffOptions {
  std::string a;
  std::string b;
  PinOptions pins;
  bool json = false;
};

// The bundle's bundle.lock, or null JSON when it has none (a bundle made by `pack`).
bs::Result<bs::Json> read_lock(const bs::BundleFile& bundle) {
  bool has_lock = false;
  for (const auto& entry : bundle.index().entries) has_lock = has_lock || entry.path == "bundle.lock";
  if (!has_lock) return bs::Json(nullptr);
  TRY_ASSIGN(const std::string text, bs::read_bundle_file(bundle, "bundle.lock", 64 << 20));
  return bs::parse_json(text);
}

bs::Result<std::pair<PinnedBundle, bs::Json>> open_side(const std::string& path, const PinOptions& pins) {
  auto opened = [&]() -> bs::Result<std::pair<PinnedBundle, bs::Json>> {
    TRY_ASSIGN(PinnedBundle bundle, open_pinned_bundle(path, pins));
    TRY_ASSIGN(bs::Json lock, read_lock(bundle.file));
    return std::make_pair(std::move(bundle), std::move(lock));
  }();
  if (!opened.ok() && opened.error().code() != bs::ErrorCode::usage) {
    return std::move(opened).error().context("diff " + path);
  }
  return opened;
}

bs::Status run_diff(const DiffOptions& options, int& exit_code) {
  TRY_ASSIGN(const auto a, open_side(options.a, options.pins));
  TRY_ASSIGN(const auto b, open_side(options.b, options.pins));
  BundleDiff diff = diff_bundles(a.first.file, a.second, b.first.file, b.second);
  diff.a.pinned = a.first.pin == bs::PinState::pinned;
  diff.b.pinned = b.first.pin == bs::PinState::pinned;
  const std::string text = options.json ? bs::to_pretty_json(diff_json(diff)) : format_diff(diff);
  std::fputs(text.c_str(), stdout);
  exit_code = diff.identical() ? 0 : 1;
  return bs::ok_status();
}

}  // namespace

void setup_diff_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  static_cast<void>(global);
  auto options = std::make_shared<DiffOptions>();
  auto exit_code = std::make_shared<int>(0);
  auto* diff = app.add_subcommand(
      "diff",
      "Compare two bundles from their signed indexes and locks, without extracting: artifacts and versions, upstream "
      "checksums, images by digest, files (content, mode), size, signers. Exit 0 identical, 1 different.");
  diff->add_option("a", options->a, "The bundle you have (accredited)")->required()->check(CLI::ExistingFile);
  diff->add_option("b", options->b, "The bundle to compare with it")->required()->check(CLI::ExistingFile);
  add_pin_options(diff, options->pins);
  diff->add_flag("--json", options->json, "Print the differences as JSON");
  commands.push_back({diff, [options, exit_code] { return run_diff(*options, *exit_code); },
                      [exit_code] { return *exit_code; }});
}

}  // namespace builder
