// Ansible for many hosts: the inventory, playbooks and roles that `kubeferry-install ansible`
// writes, so one deploy host installs a whole cluster over SSH with Debian's ansible-core.
//
// render_ansible() is pure: the cluster inventory and the deploy host's paths in, the files'
// exact text out. Every file starts with a header naming the command that made it. The
// playbooks use only `raw` on the targets (they need SSH, a POSIX shell and coreutils, no
// Python) and run `command`/`assert`/`debug` on the deploy host; copies go over scp.
// Generated layout (relative to --out):
//   ansible.cfg                       inventory, forks, ssh connection reuse
//   inventory.yaml                    groups etcd, master, node (cluster.yaml's roles); ssh and
//                                     kubeferry_* settings as variables a user may edit
//   install.yml                       etcd members together, then masters, then nodes in batches
//   uninstall.yml                     the reverse order; --purge with -e kubeferry_purge=true
//   plan.yml                          each host's plan, made on the deploy host; changes nothing
//   renew.yml                         rolls out a `pki renew` folder (-e kubeferry_renewed_pki=DIR)
//   roles/kubeferry_{stage,verify,install,uninstall,plan}/tasks/main.yml   one role per stage
// Thread-safety: pure functions, except write_ansible, which writes only below a fresh folder.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "bundlespec/result.hpp"
#include "cluster/inventory.hpp"

namespace installer {

// What the generated files need besides the inventory. Paths are the deploy host's, absolute.
struct AnsibleSettings {
  std::string command;      // the command line that generated the files, for the headers
  std::string version;      // kubeferry-install's version, for the headers
  std::string run;          // the .run (its .sha256 beside it)
  std::string cluster_yaml; // cluster.yaml, copied to every host
  std::string pki_dir;      // what `pki init` wrote: hosts/NAME is each host's kit
  std::string fingerprint;  // SHA256:<hex>, the pinned signer the hosts verify against
  std::string ssh_user = "root";
  int ssh_port = 22;
  std::string ssh_key = "~/.ssh/id_ed25519";
  std::string remote_dir = "/var/lib/kubeferry-deploy";  // where each host keeps the copies
};

struct GeneratedFile {
  std::string path;  // relative to the output folder
  std::string content;
  mode_t mode = 0644;
};

// Fails (usage) when a setting cannot be written safely into YAML read by Ansible: a value
// holding a control character or Jinja's "{{", "{%" or "{#" (Ansible would template it), a
// relative path, or a port outside 1..65535; the message names the setting.
bundlespec::Status check_ansible_settings(const AnsibleSettings& settings);

// Every file of the layout above, in that order. REQUIRES: check_ansible_settings() passed;
// `inventory` is valid (load_inventory made it).
std::vector<GeneratedFile> render_ansible(const Inventory& inventory, const AnsibleSettings& settings);

// Writes `files` below `out_dir`, which must not exist or be an empty folder (usage error
// otherwise): first into a temporary folder beside it, renamed into place at the end, so a
// failure leaves nothing half-written.
bundlespec::Status write_ansible(const std::vector<GeneratedFile>& files, const std::string& out_dir);

}  // namespace installer
