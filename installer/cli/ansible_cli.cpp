// ansible: writes the inventory, playbooks and roles that install this bundle on every host of
// cluster.yaml from one deploy host (ansible/ansible.hpp). Reads the bundle's signed index (not
// the payload), the inventory and the PKI folder; writes only the new --out folder.
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "ansible/ansible.hpp"
#include "bundle/self.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/text.hpp"
#include "cli/cli.hpp"
#include "cluster/inventory.hpp"
#include "pki/pki.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

struct AnsibleOptions {
  std::string inventory;
  std::string out;
  std::string pki = "pki";
  bs::PinFlags pins;
  AnsibleSettings settings;
};

Result<std::string> absolute(const std::string& path) {
  std::error_code ec;
  const auto full = std::filesystem::absolute(path, ec);
  if (ec) return bs::make_error("resolve " + path + ": " + ec.message());
  return full.lexically_normal().string();
}

// The .sha256 beside the bundle names it: the hosts check their copy with `sha256sum -c`.
bs::Status check_checksum_file(const std::string& run) {
  const std::string sums = run + ".sha256";
  auto text = bs::read_file(sums, 4096);
  if (!text.ok()) {
    return bs::usage_error(sums + " is missing: the hosts check their copy of the bundle with it (kubeferry build "
                                  "writes it beside the .run; copy both)");
  }
  const std::string name = std::filesystem::path(run).filename().string();
  const size_t space = text->find("  ");
  if (space != 64 || text->substr(space + 2) != name + "\n") {
    return bs::usage_error(sums + " does not name " + name + " (\"<sha256>  " + name +
                           "\" expected; was the bundle renamed? keep the name kubeferry build gave it)");
  }
  return bs::ok_status();
}

// Every host's kit is in PKI/hosts/NAME, with no CA key a host must not hold.
bs::Status check_kits(const Inventory& inventory, const std::string& pki) {
  for (const Host& host : inventory.hosts) {
    const std::string kit = pki + "/" + PkiPaths::hosts_dir + "/" + host.name;
    for (const std::string& relative : kit_files(host)) {
      if (::access((kit + "/" + relative).c_str(), R_OK) != 0) {
        return bs::usage_error("--pki " + pki + ": the kit of " + host.name + " lacks " + relative +
                               " (make the PKI with `pki init --inventory` of this cluster.yaml)");
      }
    }
    for (const std::string key : {PkiPaths::etcd_ca_key, PkiPaths::k8s_ca_key}) {
      if (key == PkiPaths::k8s_ca_key && host.has(Role::master)) continue;  // the controller-manager signs with it
      if (::access((kit + "/" + key).c_str(), F_OK) == 0) {
        return bs::usage_error("--pki " + pki + ": the kit of " + host.name + " holds " + key +
                               ", a CA key that must stay on the deploy host");
      }
    }
  }
  return bs::ok_status();
}

std::string command_line(const AnsibleOptions& o, const std::string& program) {
  std::string line = program + " ansible --inventory " + o.inventory + " --out " + o.out + " --pki " + o.pki;
  if (o.pins.pubkey) line += " --pubkey " + *o.pins.pubkey;
  if (o.pins.fingerprint) line += " --fingerprint " + *o.pins.fingerprint;
  const AnsibleSettings defaults;
  if (o.settings.ssh_user != defaults.ssh_user) line += " --ssh-user " + o.settings.ssh_user;
  if (o.settings.ssh_port != defaults.ssh_port) line += " --ssh-port " + std::to_string(o.settings.ssh_port);
  if (o.settings.ssh_key != defaults.ssh_key) line += " --ssh-key " + o.settings.ssh_key;
  if (o.settings.remote_dir != defaults.remote_dir) line += " --remote-dir " + o.settings.remote_dir;
  return line;
}

bs::Status run_ansible(const GlobalOptions& global, const AnsibleOptions& options) {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  if (!options.pins.pubkey && !options.pins.fingerprint) {
    return bs::usage_error("ansible: pass --pubkey KEY.pub or --fingerprint SHA256:<hex>: every host verifies the "
                           "bundle against that signer");
  }
  std::vector<std::string> warnings;
  TRY_ASSIGN(const Inventory inventory, load_inventory(options.inventory, warnings));
  for (const auto& warning : warnings) std::fprintf(stderr, "kubeferry-install: %s\n", warning.c_str());
  // The bundle must be signed by the pinned key; its signer is what the hosts will pin.
  PinOptions pins;
  pins.flags = options.pins;
  pins.require_pinned = true;
  pins.trusted_dir.clear();
  TRY_ASSIGN(const PinnedBundle bundle, open_pinned_bundle(global, pins, "pass --bundle FILE"));
  AnsibleSettings settings = options.settings;
  settings.version = KUBEFERRY_VERSION;
  settings.fingerprint = bundle.file.signer();
  const std::string program = global.bundle.empty() ? std::filesystem::path(self_label()).filename().string()
                                                     : "kubeferry-install --bundle " + global.bundle;
  settings.command = command_line(options, program);
  // The file the hosts get: ours by its real name (not /proc/self/exe), or --bundle.
  TRY_ASSIGN(settings.run, absolute(global.bundle.empty() ? self_label() : global.bundle));
  TRY_ASSIGN(settings.cluster_yaml, absolute(options.inventory));
  TRY_ASSIGN(settings.pki_dir, absolute(options.pki));
  TRY(check_ansible_settings(settings));
  TRY(check_checksum_file(settings.run));
  TRY(check_kits(inventory, settings.pki_dir));
  const std::vector<GeneratedFile> files = render_ansible(inventory, settings);
  bs::install_interrupt_handlers();
  TRY_CTX(write_ansible(files, options.out), "ansible");
  std::printf("wrote the Ansible of cluster %s to %s: inventory.yaml (etcd %zu, master %zu, node %zu), install.yml, "
              "uninstall.yml, plan.yml, renew.yml and their roles\n",
              bs::printable(inventory.cluster_name).c_str(), bs::printable(options.out).c_str(),
              hosts_with(inventory, Role::etcd).size(), hosts_with(inventory, Role::master).size(),
              hosts_with(inventory, Role::node).size());
  std::printf("next: cd %s && ansible-playbook plan.yml && ansible-playbook install.yml\n",
              bs::printable(options.out).c_str());
  return bs::ok_status();
}

}  // namespace

void setup_ansible_commands(CLI::App& app, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<AnsibleOptions>();
  auto* ansible = app.add_subcommand(
      "ansible",
      "Write an Ansible inventory and playbooks (install, uninstall, plan, renew) that install this bundle on every "
      "host of the inventory over SSH from this deploy host; the hosts need SSH and a shell, no Python");
  ansible->add_option("--inventory", options->inventory, "Cluster inventory (cluster.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  ansible->add_option("--out", options->out, "Folder to create (must not exist, or be empty)")->required();
  ansible->add_option("--pki", options->pki, "What pki init wrote (each host gets only its kit, hosts/NAME)")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  ansible->add_option("--pubkey", options->pins.pubkey, "The signer the hosts pin (KEY.pub); the bundle must be its");
  ansible->add_option("--fingerprint", options->pins.fingerprint, "The same as SHA256:<hex>");
  ansible->add_option("--ssh-user", options->settings.ssh_user, "SSH user (inventory variable ansible_user)")
      ->capture_default_str();
  ansible->add_option("--ssh-port", options->settings.ssh_port, "SSH port (ansible_port)")->capture_default_str();
  ansible->add_option("--ssh-key", options->settings.ssh_key, "SSH private key (ansible_ssh_private_key_file)")
      ->capture_default_str();
  ansible->add_option("--remote-dir", options->settings.remote_dir, "Where each host keeps the bundle and its kit")
      ->capture_default_str();
  commands.push_back({ansible, [&global, options] { return run_ansible(global, *options); }});
}

}  // namespace installer
