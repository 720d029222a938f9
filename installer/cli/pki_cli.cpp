// pki init / renew / expiry: the cluster PKI made on site. These commands never touch the bundle.
#include <openssl/crypto.h>

#include <cstdio>
#include <ctime>
#include <memory>

#include "bundlespec/interrupt.hpp"
#include "cli/cli.hpp"
#include "cluster/inventory.hpp"
#include "pki/pki.hpp"

namespace installer {

namespace {

struct PkiInitOptions {
  std::string inventory;
  std::string out;
};

struct PkiRenewOptions {
  std::string inventory;
  std::string from;
  std::string out;
};

struct PkiExpiryOptions {
  std::string dir;
  bool json = false;
  long fail_within = -1;  // days; -1: never fail
};

// The static installer must behave the same whatever openssl.cnf the host has.
void init_openssl() {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
}

// Validation errors hold one problem per line. main() prefixes only the error it gets, so the
// lines before the last are printed here with the same prefix and the last one is returned.
bundlespec::Error report_each_line(bundlespec::Error error) {
  std::string text = error.message();
  for (size_t newline = text.find('\n'); newline != std::string::npos; newline = text.find('\n')) {
    std::fprintf(stderr, "kubeferry-install: error: %s\n", text.substr(0, newline).c_str());
    text.erase(0, newline + 1);
  }
  return bundlespec::Error(error.code(), text);
}

// The inventory, its warnings printed; a validation failure reported line by line.
bundlespec::Result<Inventory> load_cli_inventory(const std::string& path) {
  std::vector<std::string> warnings;
  auto inventory = load_inventory(path, warnings);
  for (const std::string& warning : warnings) std::fprintf(stderr, "kubeferry-install: %s\n", warning.c_str());
  if (!inventory.ok()) return report_each_line(std::move(inventory).error());
  return inventory;
}

// Only names: keys and tokens are never printed.
void print_kits(const Inventory& inventory, const std::string& out) {
  for (const Host& host : inventory.hosts) {
    std::printf("  kit %s/hosts/%s: %zu files\n", out.c_str(), host.name.c_str(), kit_files(host).size());
  }
}

bundlespec::Status run_pki_init(const PkiInitOptions& options) {
  init_openssl();
  bundlespec::install_interrupt_handlers();  // Ctrl-C removes the temporary folder, keys included
  TRY_ASSIGN(const Inventory inventory, load_cli_inventory(options.inventory));
  TRY_CTX(pki_init(inventory, options.out, std::time(nullptr)), "pki init");
  std::printf("wrote the PKI of cluster %s to %s\n", inventory.cluster_name.c_str(), options.out.c_str());
  print_kits(inventory, options.out);
  return bundlespec::ok_status();
}

bundlespec::Status run_pki_renew(const PkiRenewOptions& options) {
  init_openssl();
  bundlespec::install_interrupt_handlers();
  TRY_ASSIGN(const Inventory inventory, load_cli_inventory(options.inventory));
  TRY_CTX(pki_renew(inventory, options.from, options.out, std::time(nullptr)), "pki renew");
  std::printf(
      "renewed the certificates of cluster %s from %s into %s (same CAs, service-account keys and bootstrap token)\n",
      inventory.cluster_name.c_str(), options.from.c_str(), options.out.c_str());
  print_kits(inventory, options.out);
  std::printf("next: install each host again with --pki %s/hosts/NAME; services restart with their new certificates\n",
              options.out.c_str());
  return bundlespec::ok_status();
}

bundlespec::Status run_pki_expiry(const PkiExpiryOptions& options) {
  init_openssl();
  TRY_ASSIGN(const auto entries, scan_expiry(options.dir, std::time(nullptr)));
  const std::string text = options.json ? format_expiry_json(entries) : format_expiry_table(entries);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  if (options.fail_within >= 0) return check_expiry_within(entries, options.fail_within);
  return bundlespec::ok_status();
}

}  // namespace

void setup_pki_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  (void)global;
  auto* pki = app.add_subcommand("pki", "Make the cluster's keys and certificates on site; renew them; report expiry");
  pki->require_subcommand(1);

  auto init_options = std::make_shared<PkiInitOptions>();
  auto* init = pki->add_subcommand(
      "init", "Generate every CA, certificate, key and token once, plus a kit per host in DIR/hosts/NAME");
  init->add_option("--inventory", init_options->inventory, "Cluster inventory (cluster.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  init->add_option("--out", init_options->out, "Folder to create (must not exist, or be empty)")->required();
  commands.push_back({init, [init_options] { return run_pki_init(*init_options); }});

  auto renew_options = std::make_shared<PkiRenewOptions>();
  auto* renew = pki->add_subcommand(
      "renew", "New leaf certificates and keys from the same CAs (service-account keys and token kept), with new kits");
  renew->add_option("--inventory", renew_options->inventory, "Cluster inventory (cluster.yaml), as it is now")
      ->required()
      ->check(CLI::ExistingFile);
  renew->add_option("--pki", renew_options->from, "The folder pki init wrote (holds the CA keys); left unchanged")
      ->required()
      ->check(CLI::ExistingDirectory);
  renew->add_option("--out", renew_options->out, "Folder to create (must not exist, or be empty)")->required();
  commands.push_back({renew, [renew_options] { return run_pki_renew(*renew_options); }});

  auto expiry_options = std::make_shared<PkiExpiryOptions>();
  auto* expiry = pki->add_subcommand("expiry", "List every certificate under DIR, soonest expiry first");
  expiry->add_option("--dir", expiry_options->dir, "Folder to scan (a pki init output, or /opt/kubernetes/ssl)")
      ->required()
      ->check(CLI::ExistingDirectory);
  expiry->add_flag("--json", expiry_options->json, "Print a JSON array instead of a table");
  expiry
      ->add_option("--fail-within", expiry_options->fail_within,
                   "Exit 1 (after the listing) if a certificate has fewer than DAYS days left; for cron or monitoring")
      ->check(CLI::Range(0L, 36500L));
  commands.push_back({expiry, [expiry_options] { return run_pki_expiry(*expiry_options); }});
}

}  // namespace installer
