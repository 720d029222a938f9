// verify / list / extract: the bundle-format commands of the installer.
//
// The bundle is this program's own file (/proc/self/exe) when it runs as ./X.run, or the file
// named by --bundle.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "bundle/self.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/trust.hpp"
#include "cli/cli.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

struct ListOptions {
  bool json = false;
};

struct ExtractOptions {
  std::string to;
};

std::string bundle_path(const GlobalOptions& global) {
  return global.bundle.empty() ? self_bundle_path() : global.bundle;
}

// What to call the bundle in messages: the --bundle path, or the file we were run from.
std::string bundle_label(const GlobalOptions& global) {
  return global.bundle.empty() ? self_label() : global.bundle;
}

bs::Status run_verify(const GlobalOptions& global, const PinOptions& pins, const std::string& label) {
  auto status = [&]() -> bs::Status {
    TRY_ASSIGN(const PinnedBundle bundle, open_pinned_bundle(global, pins, "pass --bundle FILE"));
    TRY(bundle.file.verify_parts());
    TRY(bs::verify_payload_entries(bundle.file, {}));
    std::printf("OK %s: %s, %zu entries, signed by %s%s\n", label.c_str(), bundle.file.index().name.c_str(),
                bundle.file.index().entries.size(), bundle.file.signer().c_str(),
                bundle.pin == bs::PinState::pinned ? " (pinned)" : " (NOT pinned)");
    return bs::ok_status();
  }();
  if (!status.ok() && status.error().code() == bs::ErrorCode::usage) return status;  // about the command line
  if (!status.ok()) return std::move(status).error().context("verify " + label);
  return status;
}

std::string mode_string(const bs::IndexEntry& entry) {
  char text[11] = "----------";
  text[0] = entry.type == bs::EntryType::directory ? 'd' : entry.type == bs::EntryType::symlink ? 'l' : '-';
  static constexpr char k_bits[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (entry.mode & (1u << (8 - i))) text[1 + i] = k_bits[i];
  }
  return text;
}

bs::Status run_list(const GlobalOptions& global, const PinOptions& pins, const ListOptions& options) {
  TRY_ASSIGN(const PinnedBundle pinned, open_pinned_bundle(global, pins, "pass --bundle FILE"));
  const bs::BundleFile& bundle = pinned.file;
  if (options.json) {
    std::fputs(bs::to_pretty_json(bs::index_to_json(bundle.index())).c_str(), stdout);
    return bs::ok_status();
  }
  // Paths and targets are the bundle's: escaped, and not cut (the format caps them at 4096 bytes).
  for (const auto& entry : bundle.index().entries) {
    std::printf("%s %12llu  %s%s%s\n", mode_string(entry).c_str(), static_cast<unsigned long long>(entry.size),
                bs::printable(entry.path, std::string::npos).c_str(),
                entry.type == bs::EntryType::symlink ? " -> " : "",
                bs::printable(entry.target, std::string::npos).c_str());
  }
  return bs::ok_status();
}

bs::Status run_extract(const GlobalOptions& global, const PinOptions& pins, const ExtractOptions& options,
                       const std::string& label) {
  auto status = [&]() -> bs::Status {
    TRY_ASSIGN(const PinnedBundle pinned, open_pinned_bundle(global, pins, "pass --bundle FILE"));
    const bs::BundleFile& bundle = pinned.file;
    bs::ConsoleProgress progress(stderr, global.quiet ? bs::ConsoleMode::quiet : bs::detect_console_mode(2),
                                 "kubeferry-install: ");
    uint64_t total = 0;
    for (const auto& entry : bundle.index().entries) total += entry.size;
    progress.start_item("extract", total, 0);
    uint64_t last = 0;
    bs::ExtractOptions extract;
    extract.on_bytes = [&](uint64_t done) {
      progress.advance("extract", done - last);
      last = done;
    };
    bs::Status result = bs::extract_bundle(bundle, options.to, extract);
    progress.finish_item("extract", result.ok() ? bs::ItemOutcome::done : bs::ItemOutcome::failed);
    TRY(result);
    if (!global.quiet) {
      std::fprintf(stderr, "kubeferry-install: extracted %zu entries to %s (signed by %s)\n",
                   bundle.index().entries.size(), options.to.c_str(), bundle.signer().c_str());
    }
    return bs::ok_status();
  }();
  if (!status.ok() && status.error().code() == bs::ErrorCode::usage) return status;  // about the command line
  if (!status.ok()) return std::move(status).error().context("extract " + label);
  return status;
}

}  // namespace

void add_pin_options(CLI::App* command, PinOptions& pins) {
  command->add_option("--pubkey", pins.flags.pubkey, "Trust only this public key (KEY.pub)");
  command->add_option("--fingerprint", pins.flags.fingerprint,
                      "Trust only the key with this fingerprint (SHA256:<hex>)");
  command->add_flag("--require-pinned", pins.require_pinned,
                    "Refuse a bundle whose signer is not pinned (by --pubkey, --fingerprint or --trusted-dir)");
  command
      ->add_option("--trusted-dir", pins.trusted_dir,
                   "Folder of trusted KEY.pub files: they pin their bundles, and while it holds any, other "
                   "signers are refused")
      ->capture_default_str();
}

bs::Result<PinnedBundle> open_pinned_bundle(const GlobalOptions& global, const PinOptions& pins,
                                            std::string_view no_bundle) {
  TRY_ASSIGN(const bs::TrustPolicy trust, bs::make_trust_policy(pins.flags));
  const std::string path = bundle_path(global);
  auto bundle = bs::BundleFile::open(path, trust);
  // No trailer on a bare kubeferry-install is a usage problem; on a .run (bytes appended to
  // the ELF) it means the file was truncated or damaged, which stays a verification failure.
  if (!bundle.ok() && global.bundle.empty() && bundle.error().is(bs::Reason::no_trailer) && !has_appended_data(path)) {
    return bs::usage_error("this kubeferry-install carries no bundle; run a .run file, or " + std::string(no_bundle));
  }
  if (!bundle.ok()) return std::move(bundle).error();
  bs::PinRule rule;
  rule.trusted_dir = pins.trusted_dir;
  rule.unpinned = pins.require_pinned ? bs::Unpinned::refuse : bs::Unpinned::warn;
  TRY_ASSIGN(const bs::PinState pin, bs::check_signer(bundle->signer(), trust, rule, stderr, "kubeferry-install: "));
  return PinnedBundle{std::move(bundle).value(), pin};
}

void setup_bundle_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto trust = std::make_shared<PinOptions>();

  auto* verify = app.add_subcommand("verify", "Check the bundle's signature and every byte; print the signer");
  add_pin_options(verify, *trust);
  commands.push_back({verify, [&global, trust] { return run_verify(global, *trust, bundle_label(global)); }});

  auto list_options = std::make_shared<ListOptions>();
  auto* list = app.add_subcommand("list", "List the bundle's entries (signature checked, contents not)");
  list->add_flag("--json", list_options->json, "Print the whole signed index as JSON");
  add_pin_options(list, *trust);
  commands.push_back({list, [&global, trust, list_options] { return run_list(global, *trust, *list_options); }});

  auto extract_options = std::make_shared<ExtractOptions>();
  auto* extract = app.add_subcommand("extract", "Verify and unpack the payload into a new folder");
  extract->add_option("--to", extract_options->to, "Folder to create (must not exist, or be empty)")->required();
  add_pin_options(extract, *trust);
  commands.push_back({extract, [&global, trust, extract_options] {
                        bs::install_interrupt_handlers();
                        return run_extract(global, *trust, *extract_options, bundle_label(global));
                      }});
}

}  // namespace installer
