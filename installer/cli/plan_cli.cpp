// plan / install / uninstall: the pure plan for one host, its application under --root with a
// journal, and its removal. See plan/plan.hpp and apply/apply.hpp.
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "apply/apply.hpp"
#include "bundle/installed.hpp"
#include "bundle/self.hpp"
#include "bundlespec/container.hpp"
#include "bundlespec/extract.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/trust.hpp"
#include "cli/cli.hpp"
#include "cluster/inventory.hpp"
#include "pki/pki.hpp"
#include "receipt/receipt.hpp"
#include "plan/plan.hpp"
#include "system/host.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

struct PlanOptions {
  std::string inventory;
  std::string host;
  std::string pki;
  bool json = false;
};

struct InstallOptions {
  std::string inventory;
  std::string host;
  std::string pki;
  std::string root = "/";
  bool dry_run = false;
  bool fix = false;
  bool json = false;
  bs::PinFlags pins;
  bool allow_unpinned = false;
  bool allow_downgrade = false;
};

struct UninstallCliOptions {
  std::string root = "/";
  bool purge = false;
  bool json = false;
};

bs::Json strings_json(const std::vector<std::string>& values) {
  bs::Json::Array array;
  for (const auto& value : values) array.emplace_back(value);
  return array;
}

// install --json: one object on stdout, for tools that drive many hosts (the generated Ansible
// reports `changed` from it): {"host", "dry_run", "changed", "applied": [step ids], "unchanged",
// "skipped" (counts), "warnings"} and, after a live install, "receipt" (record_receipt).
std::string install_report_json(const std::string& host, bool dry_run, const ApplyReport& report,
                                bs::Json::Object extra) {
  bs::Json::Object o = std::move(extra);
  o["host"] = host;
  o["dry_run"] = dry_run;
  o["changed"] = !dry_run && report.changed();
  o["applied"] = strings_json(report.applied);
  o["unchanged"] = static_cast<uint64_t>(report.unchanged.size());
  o["skipped"] = static_cast<uint64_t>(report.skipped.size());
  o["warnings"] = strings_json(report.warnings);
  return bs::to_pretty_json(o);
}

void say(const GlobalOptions& global, const std::string& line) {
  if (!global.quiet) std::fprintf(stderr, "kubeferry-install: %s\n", bs::printable_lines(line).c_str());
}

std::string bundle_path(const GlobalOptions& global) {
  return global.bundle.empty() ? self_bundle_path() : global.bundle;
}

Result<Inventory> read_inventory(const std::string& path) {
  std::vector<std::string> warnings;
  auto inventory = load_inventory(path, warnings);
  for (const auto& warning : warnings) std::fprintf(stderr, "kubeferry-install: %s\n", warning.c_str());
  return inventory;
}

Result<const Host*> pick_host(const Inventory& inventory, const std::string& name) {
  std::vector<std::string> addresses;
  if (name.empty()) {
    TRY_ASSIGN(addresses, local_ipv4_addresses());
  }
  TRY_ASSIGN(const std::string chosen, select_host(inventory, name, addresses));
  return find_host(inventory, chosen);
}

// The host's kit from a `pki init` folder (DIR/hosts/NAME/...) or from the kit folder itself.
Result<render::Kit> read_kit(const std::string& dir, const Host& host) {
  std::string base = dir + "/" + PkiPaths::hosts_dir + "/" + host.name;
  if (::access(base.c_str(), F_OK) != 0) base = dir;
  render::Kit kit;
  for (const std::string& relative : kit_files(host)) {
    auto content = bs::read_file(base + "/" + relative, 1 << 20);
    if (!content.ok()) {
      return bs::usage_error("PKI kit " + base + ": missing " + relative + " (make it with pki init and copy " +
                             PkiPaths::hosts_dir + "/" + host.name + " to this host)");
    }
    kit[relative] = std::move(*content);
  }
  return kit;
}

// Kubernetes version: the bundle's, checked against the inventory's when both exist.
Result<render::Versions> choose_versions(const Inventory& inventory, const bs::Index* index) {
  render::Versions versions;
  if (index != nullptr) versions = versions_from_index(*index);
  if (!inventory.kubernetes_version.empty()) {
    TRY_ASSIGN(const render::Version wanted, render::parse_version(inventory.kubernetes_version));
    if (!versions.kubernetes.text.empty() && versions.kubernetes.text != wanted.text) {
      return bs::usage_error(inventory.source + ": kubernetes_version " + wanted.text + " but the bundle carries " +
                             versions.kubernetes.text);
    }
    versions.kubernetes = wanted;
  }
  if (versions.kubernetes.text.empty()) {
    return bs::usage_error("no Kubernetes version: " + inventory.source +
                           " has no kubernetes_version and there is no bundle (pass --bundle FILE)");
  }
  return versions;
}

// The bundle's images: images/images.json read from the payload (decompressed up to it).
Result<std::vector<BundleImage>> bundle_images(const bs::BundleFile& bundle) {
  const std::string path(bs::k_images_index_path);
  bool has_images = false;
  for (const auto& entry : bundle.index().entries) has_images = has_images || entry.path == path;
  if (!has_images) return std::vector<BundleImage>{};
  TRY_ASSIGN(const std::string text, bs::read_bundle_file(bundle, path, 16 << 20));
  TRY_ASSIGN(const bs::ImagesIndex images, bs::decode_images_index(text));
  return images_from_images_index(images);
}

PlanInputs inputs_for(const render::Versions& versions, const bs::Index* index, std::vector<BundleImage> images) {
  PlanInputs inputs;
  inputs.versions = versions;
  if (index != nullptr) {
    inputs.binaries = binaries_from_index(*index, inputs.paths);
    inputs.images = std::move(images);
  } else {
    inputs.binaries = default_binaries(inputs.paths);
  }
  return inputs;
}

bs::Status run_plan(const GlobalOptions& global, const PlanOptions& options) {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  TRY_ASSIGN(const Inventory inventory, read_inventory(options.inventory));
  TRY_ASSIGN(const Host* host, pick_host(inventory, options.host));
  // The index only (signature checked, payload not read); without a bundle the plan still
  // shows every step, with unknown digests for bundle files.
  auto bundle = bs::BundleFile::open(bundle_path(global), {});
  if (!bundle.ok() && !global.bundle.empty()) return std::move(bundle).error().context("plan: " + global.bundle);
  const bs::Index* index = bundle.ok() ? &bundle->index() : nullptr;
  TRY_ASSIGN(const render::Versions versions, choose_versions(inventory, index));
  std::vector<BundleImage> images;
  if (bundle.ok()) {
    TRY_ASSIGN(images, bundle_images(*bundle));
  }
  PlanInputs inputs = inputs_for(versions, index, std::move(images));
  if (!options.pki.empty()) {
    TRY_ASSIGN(inputs.kit, read_kit(options.pki, *host));
  }
  TRY_ASSIGN(const Plan plan, make_plan(inventory, *host, inputs));
  // Paths in the plan come from the bundle's index: no control character reaches the terminal.
  const std::string text =
      options.json ? bs::to_pretty_json(plan_to_json(plan)) : bs::printable_lines(format_plan(plan));
  std::fputs(text.c_str(), stdout);
  return bs::ok_status();
}

// The bundle, refused unless its signer is pinned by a flag or a key in ROOT/etc/kubeferry/trusted.d
// (with --allow-unpinned-signer: the NOT pinned warning instead).
Result<bs::BundleFile> open_pinned(const GlobalOptions& global, const InstallOptions& options) {
  TRY_ASSIGN(const bs::TrustPolicy trust, bs::make_trust_policy(options.pins));
  TRY_ASSIGN(bs::BundleFile bundle, bs::BundleFile::open(bundle_path(global), trust));
  bs::PinRule rule;
  rule.trusted_dir = (options.root == "/" ? std::string() : options.root) + k_trusted_dir;
  rule.unpinned = options.allow_unpinned ? bs::Unpinned::allow : bs::Unpinned::refuse;
  rule.warn_note = "--allow-unpinned-signer is set";
  rule.refuse_note = "or pass --allow-unpinned-signer";
  TRY(bs::check_signer(bundle.signer(), trust, rule, stderr, "kubeferry-install: "));
  return bundle;
}

bs::Status run_install(const GlobalOptions& global, const InstallOptions& options) {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  const std::time_t started = std::time(nullptr);
  TRY(bs::make_trust_policy(options.pins));  // bad pin flags fail before anything else
  TRY_ASSIGN(const Inventory inventory, read_inventory(options.inventory));
  if (RealFs(options.root).root() == "/") TRY(check_real_addresses(inventory));  // a real host
  TRY_ASSIGN(const Host* host, pick_host(inventory, options.host));
  TRY_ASSIGN(bs::BundleFile bundle, open_pinned(global, options));
  RealFs target(options.root);
  // No silent downgrade: an older bundle of the same name and signer is refused before
  // anything is written (FORMAT.md 3.2 `created`).
  TRY_ASSIGN(const std::vector<InstalledBundle> installed, load_installed(target));
  std::string downgrade;
  TRY(check_downgrade(installed, bundle.index(), options.allow_downgrade ? Downgrade::allow : Downgrade::refuse,
                      downgrade));
  if (!downgrade.empty()) std::fprintf(stderr, "kubeferry-install: warning: %s\n", downgrade.c_str());
  TRY_ASSIGN(const render::Versions versions, choose_versions(inventory, &bundle.index()));
  TRY_ASSIGN(std::vector<BundleImage> images, bundle_images(bundle));
  PlanInputs inputs = inputs_for(versions, &bundle.index(), std::move(images));
  TRY_ASSIGN(inputs.kit, read_kit(options.pki, *host));
  TRY_ASSIGN(Plan plan, make_plan(inventory, *host, inputs));
  uint64_t payload = 0;
  for (const auto& entry : bundle.index().entries) payload += entry.size;
  plan.preflight.space.emplace_back(k_state_dir, payload);  // the extracted bundle, while installing

  RealFs system("/");
  RealCommandRunner runner;
  const std::string staging = target.full(std::string(k_state_dir) + "/staging");
  ApplyOptions apply;
  apply.live = target.root() == "/";
  apply.root = target.root();
  apply.dry_run = options.dry_run;
  apply.fix = options.fix;
  apply.system = &system;
  apply.now = std::time(nullptr);
  // Live installs stamp each journal entry (tools order hosts by it); --root output stays byte-stable.
  if (apply.live) apply.clock = [] { return std::time(nullptr); };
  apply.sleep_ms = [](int ms) { ::usleep(static_cast<useconds_t>(ms) * 1000); };
  apply.log = [&](const std::string& line) { say(global, line); };
  bool extracted = false;
  apply.bundle_dir = [&]() -> Result<std::string> {
    TRY(bs::remove_tree(staging));  // a run killed during extraction left it behind
    TRY(target.make_dirs(k_state_dir, 0700, ExistingMode::keep));
    say(global, "extract the bundle into " + staging);
    TRY(bs::extract_bundle(bundle, staging, {}));
    extracted = true;
    return staging;
  };
  bs::install_interrupt_handlers();
  auto report = apply_plan(plan, target, runner, apply);
  if (extracted) std::ignore = bs::remove_tree(staging);
  if (!report.ok()) return std::move(report).error().context("install " + host->name);
  bs::Json::Object json_extra;
  if (!options.dry_run) {
    TRY(target.make_dirs(k_state_dir, 0700, ExistingMode::keep));
    TRY_CTX(record_installed(target, installed, bundle.index()), "install " + host->name);
    const ReceiptContext receipt{&bundle, &inputs.images, options.fix, started, std::time(nullptr)};
    TRY_CTX(record_receipt(global, target.root(), plan, receipt, options.json ? &json_extra : nullptr),
            "install " + host->name + ": receipt");
  }
  for (const auto& warning : report->warnings)
    std::fprintf(stderr, "kubeferry-install: warning: %s\n", bs::printable_lines(warning).c_str());
  if (options.json) {
    std::fputs(install_report_json(host->name, options.dry_run, *report, std::move(json_extra)).c_str(), stdout);
    return bs::ok_status();
  }
  const std::string skipped =
      report->skipped.empty() ? ""
                              : ", " + std::to_string(report->skipped.size()) + " skipped (--root: commands not run)";
  if (options.dry_run) {
    std::printf("install %s (dry run): %zu steps would change, %zu unchanged%s\n", host->name.c_str(),
                report->applied.size(), report->unchanged.size(), skipped.c_str());
  } else if (!report->changed()) {
    std::printf("install %s: nothing to do, already converged (%zu steps unchanged%s)\n", host->name.c_str(),
                report->unchanged.size(), skipped.c_str());
  } else {
    std::printf("install %s: %zu steps applied, %zu unchanged%s\n", host->name.c_str(), report->applied.size(),
                report->unchanged.size(), skipped.c_str());
  }
  return bs::ok_status();
}

bs::Status run_uninstall(const GlobalOptions& global, const UninstallCliOptions& options) {
  RealFs target(options.root);
  RealCommandRunner runner;
  UninstallOptions uninstall_options;
  uninstall_options.live = target.root() == "/";
  uninstall_options.root = target.root();
  uninstall_options.purge = options.purge ? Purge::yes : Purge::no;
  uninstall_options.log = [&](const std::string& line) { say(global, line); };
  // Nothing of the bundle stays installed, so neither does its record (and an emptied state
  // folder can go).
  TRY(remove_receipt(target.root(), uninstall_options.purge));  // it would no longer describe the host
  TRY_ASSIGN(const auto journal, target.stat(k_journal_path));
  if (journal) TRY(target.remove(k_installed_path));
  TRY_ASSIGN(const UninstallReport report, uninstall(target, runner, uninstall_options));
  if (options.json) {  // {"had_journal", "removed": [...], "kept": [...], "warnings": [...]}
    bs::Json::Object o;
    o["had_journal"] = report.had_journal;
    o["removed"] = strings_json(report.removed);
    o["kept"] = strings_json(report.kept);
    o["warnings"] = strings_json(report.warnings);
    std::fputs(bs::to_pretty_json(o).c_str(), stdout);
    return bs::ok_status();
  }
  if (!report.had_journal) {
    std::printf("uninstall: nothing to do: no journal at %s\n", target.full(k_journal_path).c_str());
    return bs::ok_status();
  }
  for (const auto& warning : report.warnings)
    std::fprintf(stderr, "kubeferry-install: warning: %s\n", bs::printable_lines(warning).c_str());
  for (const auto& kept : report.kept) std::printf("kept %s\n", bs::printable_lines(kept).c_str());
  std::printf("uninstall: removed %zu items\n", report.removed.size());
  if (!report.kept.empty() && !options.purge) {
    std::printf("uninstall: %s still lists the kept folders; uninstall --purge removes them\n",
                target.full(k_journal_path).c_str());
  }
  return bs::ok_status();
}

}  // namespace

void setup_plan_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto plan_options = std::make_shared<PlanOptions>();
  auto* plan = app.add_subcommand("plan", "Print the steps that would install this host (pure; no root needed)");
  plan->add_option("--inventory", plan_options->inventory, "Cluster inventory (cluster.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  plan->add_option("--host", plan_options->host, "Host of the inventory (default: found by this machine's addresses)");
  plan->add_option("--pki", plan_options->pki, "PKI (pki init output) or this host's kit, to show file digests")
      ->check(CLI::ExistingDirectory);
  plan->add_flag("--json", plan_options->json, "Print the plan as JSON");
  commands.push_back({plan, [&global, plan_options] { return run_plan(global, *plan_options); }});

  auto install_options = std::make_shared<InstallOptions>();
  auto* install = app.add_subcommand("install", "Apply the plan: preflight, files, units, images, services");
  install->add_option("--inventory", install_options->inventory, "Cluster inventory (cluster.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  install->add_option("--host", install_options->host,
                      "Host of the inventory (default: found by this machine's addresses)");
  install->add_option("--pki", install_options->pki, "PKI (pki init output) or this host's kit")
      ->required()
      ->check(CLI::ExistingDirectory);
  install->add_option("--root", install_options->root, "Install below this folder instead of / (files only)")
      ->check(CLI::ExistingDirectory);
  install->add_flag("--dry-run", install_options->dry_run, "Check every step and print what would change");
  install->add_flag("--fix", install_options->fix, "Apply the safe preflight fixes (swapoff, modprobe, sysctl)");
  install->add_flag("--json", install_options->json,
                    "Print the report as JSON: host, dry_run, changed, applied (step ids), unchanged, skipped, warnings");
  install->add_option("--pubkey", install_options->pins.pubkey, "Trust only this signer (KEY.pub)");
  install->add_option("--fingerprint", install_options->pins.fingerprint,
                      "Trust only the signer with this fingerprint (SHA256:<hex>)");
  install->add_flag("--allow-unpinned-signer", install_options->allow_unpinned,
                    "Install even when the signer is not pinned (prints a warning)");
  install->add_flag("--allow-downgrade", install_options->allow_downgrade,
                    "Install a bundle older (by its signed creation time) than the one of the same name and signer "
                    "installed here (prints a warning)");
  commands.push_back({install, [&global, install_options] { return run_install(global, *install_options); }});

  auto uninstall_options = std::make_shared<UninstallCliOptions>();
  auto* remove = app.add_subcommand("uninstall", "Remove what the install journal says was installed");
  remove->add_option("--root", uninstall_options->root, "The --root the install used")->check(CLI::ExistingDirectory);
  remove->add_flag("--purge", uninstall_options->purge, "Also remove data (etcd data, kubelet state, logs)");
  remove->add_flag("--json", uninstall_options->json, "Print the report as JSON: had_journal, removed, kept, warnings");
  commands.push_back({remove, [&global, uninstall_options] { return run_uninstall(global, *uninstall_options); }});
}

}  // namespace installer
