#include "plan/plan.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "bundlespec/digest.hpp"
#include "pki/pki.hpp"
#include "render/components.hpp"
#include "pki/x509.hpp"

namespace installer {

namespace bs = bundlespec;
namespace r = render;

namespace {

std::string top_folder(const std::string& path) {
  const size_t slash = path.find('/', 1);
  return slash == std::string::npos ? path : path.substr(0, slash);
}

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '/';
}

// Whether `text` names `path` (absolute) as a whole path: not as the start of a longer one, such
// as ca.pem in ca.pem.old or /opt/etcd in /opt/etcd/ssl, nor inside one. A '-' may precede it
// (systemd's EnvironmentFile=-/path: a missing file is no error).
bool names_path(const std::string& text, const std::string& path) {
  for (size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + 1)) {
    const size_t end = at + path.size();
    const bool starts = at == 0 || text[at - 1] == '-' || !is_path_char(text[at - 1]);
    if (starts && (end == text.size() || !is_path_char(text[end]))) return true;
  }
  return false;
}

// Collects steps in order; knows every file's digest so later steps can depend on them.
class PlanBuilder {
 public:
  explicit PlanBuilder(Plan& plan) : m_plan(plan) {}

  // Any step; the helpers below make the common ones.
  Step& add(std::string id, std::string reason, StepBody body, std::vector<std::string> inputs = {}) {
    m_plan.steps.push_back({std::move(id), std::move(reason), std::move(body), std::move(inputs), {}});
    return m_plan.steps.back();
  }

  void dir(const std::string& path, mode_t mode, const std::string& reason, bool data = false) {
    if (!m_dirs.insert(path).second) return;
    DirStep d;
    d.path = path;
    d.mode = mode;
    d.data = data;
    add("dir " + path, reason, std::move(d));
  }

  // A file with known content (`known` false: content depends on inputs the plan lacks).
  void file(const std::string& path, std::string content, mode_t mode, bool secret, const std::string& source,
            const std::string& reason, bool known = true) {
    if (m_files.count(path) != 0) return;
    FileStep f;
    f.path = path;
    f.mode = mode;
    f.secret = secret;
    f.source = source;
    if (known) {
      f.sha256 = bs::sha256_hex(content);
      m_space[top_folder(path)] += content.size();
      f.content = std::move(content);
    }
    m_files[path] = f.sha256;
    add("file " + path, reason, std::move(f));
  }

  void rendered(const r::RenderedFile& f, const std::string& reason) {
    file(f.path, f.content, f.mode, f.secret, "render", reason);
  }

  // A renderer that may lack an input the plan was not given (kit or images).
  Status rendered_or_unknown(const Result<r::RenderedFile>& f, bool input_missing, const std::string& path, mode_t mode,
                             bool secret, const std::string& reason) {
    if (f.ok()) {
      rendered(*f, reason);
      return bs::ok_status();
    }
    if (!input_missing) return f.error();
    file(path, "", mode, secret, "render", reason, false);
    return bs::ok_status();
  }

  void binary(const BundleBinary& b, const std::string& reason) {
    if (m_files.count(b.target) != 0) return;
    FileStep f;
    f.path = b.target;
    f.mode = b.mode;
    f.source = "bundle:" + b.bundle_path;
    f.sha256 = b.sha256;
    m_space[top_folder(b.target)] += b.size;
    m_files[b.target] = b.sha256;
    add("file " + b.target, reason, std::move(f));
  }

  void symlink(const std::string& path, const std::string& target, const std::string& reason) {
    add("symlink " + path, reason, SymlinkStep{path, target});
  }

  void hosts_block(const std::string& path, std::string content, const std::string& reason) {
    HostsBlockStep h;
    h.path = path;
    h.sha256 = bs::sha256_hex(content);
    h.content = std::move(content);
    add("hosts_block " + path, reason, std::move(h));
  }

  void command(const std::string& id, std::vector<Argv> commands, const std::string& reason,
               std::vector<std::string> inputs = {}) {
    add(id, reason, CommandStep{std::move(commands)}, std::move(inputs));
  }

  // A service restarts when any file it reads changes: its unit, and every file of this plan
  // that the unit names, that those files name, and so on (the binary in ExecStart, the
  // EnvironmentFile, the certificates and kubeconfigs in its flags, the CA in its config
  // file). Derived from the rendered files themselves, so a flag added to a renderer brings its
  // file along; nothing is listed by hand. `unnamed`: files the program reads although no file
  // names them (a default config path such as /etc/containerd/config.toml, programs it finds on
  // its PATH such as runc); what they name is followed too.
  void service(const std::string& unit_path, const std::string& reason, bool no_block = false,
               const std::vector<std::string>& unnamed = {}) {
    const std::string unit = unit_path.substr(unit_path.rfind('/') + 1);
    std::vector<std::string> starts = {unit_path};
    starts.insert(starts.end(), unnamed.begin(), unnamed.end());
    add("service " + unit, reason, ServiceStep{unit, no_block}, files_read_from(starts));
  }

  // `starts` and the plan's files they name, transitively, in plan order.
  std::vector<std::string> files_read_from(const std::vector<std::string>& starts) const {
    std::vector<const FileStep*> files;
    for (const Step& s : m_plan.steps) {
      if (const FileStep* f = s.as<FileStep>()) files.push_back(f);
    }
    std::set<std::string> found(starts.begin(), starts.end());
    std::vector<std::string> pending = starts;
    while (!pending.empty()) {
      const std::string reading = std::move(pending.back());
      pending.pop_back();
      // A binary's content, or one this plan does not know, is empty and names nothing.
      const auto it = std::find_if(files.begin(), files.end(), [&](const FileStep* f) { return f->path == reading; });
      if (it == files.end()) continue;
      for (const FileStep* f : files) {
        if (found.count(f->path) == 0 && names_path((*it)->content, f->path)) {
          found.insert(f->path);
          pending.push_back(f->path);
        }
      }
    }
    std::vector<std::string> ordered;
    for (const FileStep* f : files) {
      if (found.count(f->path) != 0) ordered.push_back(f->path);
    }
    return ordered;
  }

  Step& check(const std::string& id, Argv argv, int attempts, int interval_ms, OnFailure on_failure,
              const std::string& reason) {
    return add("check " + id, reason, CheckStep{std::move(argv), attempts, interval_ms, on_failure});
  }

  // Digests: each step's own fields plus the digests of its inputs.
  void finish() {
    for (Step& s : m_plan.steps) {
      std::string text = bs::to_canonical_json(step_to_json(s));
      for (const std::string& input : s.inputs) {
        const auto it = m_files.find(input);
        text += "\n" + input + "=" + (it == m_files.end() ? std::string() : it->second);
      }
      s.digest = bs::sha256_hex(text);
    }
    for (const auto& [folder, bytes] : m_space) m_plan.preflight.space.emplace_back(folder, bytes);
  }

 private:
  Plan& m_plan;
  std::set<std::string> m_dirs;
  std::map<std::string, std::string> m_files;  // path → sha256
  std::map<std::string, uint64_t> m_space;
};

struct KitTarget {
  const char* kit_path;
  std::string target;
  mode_t mode;
  const char* reason;
};

std::vector<KitTarget> kit_targets(const Host& host, const r::Paths& p) {
  std::vector<KitTarget> out;
  if (host.has(Role::etcd)) {
    out.push_back({PkiPaths::etcd_ca, p.etcd_ssl("ca.pem"), 0644, "etcd CA: trusts peers and clients"});
    out.push_back({PkiPaths::etcd_server, p.etcd_ssl("server.pem"), 0644, "etcd server, peer and client certificate"});
    out.push_back({PkiPaths::etcd_server_key, p.etcd_ssl("server-key.pem"), 0600, "etcd server key"});
  }
  if (host.has(Role::master)) {
    out.push_back({PkiPaths::etcd_ca, p.etcd_ssl("ca.pem"), 0644, "etcd CA: the apiserver checks etcd"});
    out.push_back({PkiPaths::etcd_apiserver_client, p.etcd_ssl("apiserver-etcd-client.pem"), 0644,
                   "the apiserver's etcd client certificate"});
    out.push_back({PkiPaths::etcd_apiserver_client_key, p.etcd_ssl("apiserver-etcd-client-key.pem"), 0600,
                   "the apiserver's etcd client key"});
    out.push_back({PkiPaths::k8s_ca, p.k8s_ssl("ca.pem"), 0644, "Kubernetes CA"});
    out.push_back({PkiPaths::k8s_ca_key, p.k8s_ssl("ca-key.pem"), 0600,
                   "Kubernetes CA key: the controller-manager signs kubelet certificates"});
    out.push_back({PkiPaths::apiserver, p.k8s_ssl("apiserver.pem"), 0644, "apiserver serving certificate"});
    out.push_back({PkiPaths::apiserver_key, p.k8s_ssl("apiserver-key.pem"), 0600, "apiserver key"});
    out.push_back({PkiPaths::sa_key, p.k8s_ssl("sa.key"), 0600, "service-account signing key"});
    out.push_back({PkiPaths::sa_pub, p.k8s_ssl("sa.pub"), 0644, "service-account verification key"});
    out.push_back({PkiPaths::token_csv, p.k8s_cfg("token.csv"), 0600, "bootstrap token for kubelet TLS bootstrap"});
  }
  if (host.has(Role::node)) {
    out.push_back({PkiPaths::k8s_ca, p.k8s_ssl("ca.pem"), 0644, "Kubernetes CA: kubelet checks API clients"});
  }
  return out;
}

const BundleBinary* find_binary(const std::vector<BundleBinary>& all, const std::string& bundle_path) {
  for (const auto& b : all) {
    if (b.bundle_path == bundle_path) return &b;
  }
  return nullptr;
}

Status add_binaries(PlanBuilder& b, const Host& host, const PlanInputs& in) {
  struct Need {
    Role role;
    std::string path;
  };
  std::vector<Need> needs;
  if (host.has(Role::etcd))
    needs.insert(needs.end(), {{Role::etcd, "etcd/bin/etcd"}, {Role::etcd, "etcd/bin/etcdctl"}});
  if (host.has(Role::master)) {
    for (const char* name : {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"}) {
      needs.push_back({Role::master, std::string("kubernetes/bin/") + name});
    }
  }
  if (host.has(Role::node)) {
    // kubectl too: the node-registered check reads the host's Node object back with it, and
    // uninstall takes that object out of the cluster.
    for (const char* name : {"kubelet", "kube-proxy", "kubectl"})
      needs.push_back({Role::node, std::string("kubernetes/bin/") + name});
  }
  for (const Need& need : needs) {
    const BundleBinary* found = find_binary(in.binaries, need.path);
    if (found == nullptr) {
      return bs::usage_error("bundle has no " + need.path + " (needed by role " + std::string(to_string(need.role)) +
                             ")");
    }
    b.binary(*found, "binary for role " + std::string(to_string(need.role)));
  }
  if (host.has(Role::node)) {
    for (const auto& bin : in.binaries) {
      if (bin.bundle_path.rfind("cni/bin/", 0) == 0) b.binary(bin, "CNI plugin used by flannel");
    }
  }
  return bs::ok_status();
}

// The node's container runtime from the bundle (container_runtime_source: bundle), at upstream's
// paths (manifests/README.md, "The container runtime"): its binaries, upstream's units, its
// config for the kubelet. Returns the units to reload and, through `unnamed`, the files the
// runtime's service reads that its unit does not name (PlanBuilder::service: the binaries it
// finds on PATH, its default config file). Fails (usage) when the bundle lacks a required file.
struct RuntimePlan {
  std::vector<std::string> units;
  std::vector<std::string> unnamed;
};

Result<RuntimePlan> add_bundle_runtime(PlanBuilder& b, const Inventory& inventory, const PlanInputs& inputs,
                                       const r::RenderInput& in, bool no_images) {
  const r::Paths& p = in.paths;
  const bool docker = inventory.container_runtime == ContainerRuntime::docker;
  const bool no_version = in.versions.runtime.text.empty();
  const std::string why = "needed by role node with container_runtime " +
                          std::string(to_string(inventory.container_runtime)) + " from the bundle";
  std::vector<std::string> required =
      docker ? std::vector<std::string>{"runtime/docker/bin/dockerd", "runtime/docker/bin/docker",
                                        "runtime/docker/bin/containerd", "runtime/docker/bin/containerd-shim-runc-v2",
                                        "runtime/docker/bin/runc"}
             : std::vector<std::string>{"runtime/containerd/bin/containerd",
                                        "runtime/containerd/bin/containerd-shim-runc-v2",
                                        "runtime/containerd/bin/ctr", "runtime/runc/runc"};
  RuntimePlan out;
  for (const std::string& path : required) {
    const BundleBinary* found = find_binary(inputs.binaries, path);
    if (found == nullptr) {
      return bs::usage_error("bundle has no " + path + " (" + why +
                             "; build it with the runtime's artifacts, manifests/README.md, or set "
                             "container_runtime_source: host to use the host's own)");
    }
    out.unnamed.push_back(found->target);
  }
  const std::string prefix = docker ? "runtime/docker/" : "runtime/";
  bool crictl = false;
  for (const auto& bin : inputs.binaries) {
    if (bin.bundle_path.rfind(prefix, 0) != 0) continue;
    if (!docker && bin.bundle_path.rfind("runtime/docker/", 0) == 0) continue;
    crictl = crictl || bin.bundle_path == "runtime/crictl/crictl";
    b.binary(bin, std::string(docker ? "docker" : "containerd") + " from the bundle, at upstream's path");
  }
  const std::string version = no_version ? "" : " " + in.versions.runtime.text;
  if (docker) {
    // dockerd writes its own files here too (key.json): data, so --purge leaves nothing.
    b.dir(p.docker_daemon_json.substr(0, p.docker_daemon_json.rfind('/')), 0755,
          "docker's settings; dockerd adds its key.json (kept by uninstall unless --purge)", true);
    b.rendered(r::render_docker_daemon_json(in), "docker's cgroup driver is the kubelet's");
    // Made here, before dockerd starts its containerd (which makes it and bin/ in it, 0711):
    // data the install created, so --purge removes it with what containerd put there.
    b.dir(p.docker_containerd_opt_dir, 0711,
          "the opt folder of docker's containerd, filled at run time (kept by uninstall unless --purge)", true);
    out.unnamed.push_back(p.docker_daemon_json);
    auto units = r::render_docker_units(in);
    if (!units.ok() && !no_version) return units.error();
    for (const char* name : {"docker.service", "docker.socket"}) {
      const std::string path = p.unit(name);
      if (units.ok()) {
        for (const auto& f : *units) {
          if (f.path == path) b.rendered(f, std::string("moby's ") + name + version);
        }
      } else {
        b.file(path, "", 0644, false, "render", std::string("moby's ") + name, false);
      }
      out.units.push_back(path);
      out.unnamed.push_back(path);
    }
    return out;
  }
  TRY(b.rendered_or_unknown(r::render_containerd_config(in), no_images || no_version, p.containerd_default_config, 0644,
                            false,
                            "containerd" + version + " for the kubelet: the bundle's pause image, " +
                                std::string(r::cgroup_driver(in)) + ", CNI in " + p.cni_bin_dir));
  TRY(b.rendered_or_unknown(r::render_containerd_unit(in), no_version, p.containerd_unit_dir + "/containerd.service",
                            0644, false, "upstream's containerd.service" + version));
  if (crictl) b.rendered(r::render_crictl_config(in), "crictl talks to containerd");
  out.units.push_back(p.containerd_unit_dir + "/containerd.service");
  out.unnamed.push_back(p.containerd_unit_dir + "/containerd.service");
  out.unnamed.push_back(p.containerd_default_config);
  return out;
}

// Refusals that need both the runtime and the Kubernetes version (the inventory may name no
// version; then the bundle's decides).
Status check_runtime_versions(const Inventory& inventory, const r::Versions& v) {
  const bool docker = inventory.container_runtime == ContainerRuntime::docker;
  if (docker && v.kubernetes.at_least(1, 24)) {
    return bs::usage_error("container_runtime docker needs dockershim, removed in Kubernetes 1.24 (docker would need "
                           "cri-dockerd, which kubeferry does not install); use containerd with " +
                           v.kubernetes.text);
  }
  // Kubernetes 1.26 removed CRI v1alpha2; containerd serves CRI v1 from 1.6.
  if (!docker && inventory.container_runtime_source == RuntimeSource::bundle && !v.runtime.text.empty() &&
      v.kubernetes.at_least(1, 26) && !v.runtime.at_least(1, 6)) {
    return bs::usage_error("Kubernetes " + v.kubernetes.text + " speaks only CRI v1, which containerd has from 1.6; " +
                           "the bundle's containerd is " + v.runtime.text);
  }
  return bs::ok_status();
}

int64_t latest_not_before(const r::Kit& kit, const Host& host, const r::Paths& paths) {
  int64_t latest = 0;
  for (const auto& t : kit_targets(host, paths)) {
    const auto it = kit.find(t.kit_path);
    if (it == kit.end() || it->second.find("BEGIN CERTIFICATE") == std::string::npos) continue;
    const auto info = read_certificate_info(it->second);
    if (info.ok()) latest = std::max<int64_t>(latest, info->not_before);
  }
  return latest;
}

}  // namespace

Result<Plan> make_plan(const Inventory& inventory, const Host& host, const PlanInputs& inputs) {
  Plan plan;
  plan.cluster = inventory.cluster_name;
  plan.host = host.name;
  for (Role role : host.roles) plan.roles.emplace_back(to_string(role));
  plan.kubernetes_version = inputs.versions.kubernetes.text;
  plan.etcd_version = inputs.versions.etcd.text;
  const r::Paths& p = inputs.paths;
  const bool etcd = host.has(Role::etcd), master = host.has(Role::master), node = host.has(Role::node);
  const bool no_kit = !inputs.kit.has_value();
  const bool no_images = inputs.images.empty();

  r::RenderInput in;
  in.inventory = &inventory;
  in.host = &host;
  in.versions = inputs.versions;
  const bool runtime_from_bundle = node && inventory.container_runtime_source == RuntimeSource::bundle;
  if (runtime_from_bundle) {
    in.versions.runtime = inventory.container_runtime == ContainerRuntime::docker ? in.versions.docker
                                                                                   : in.versions.containerd;
  }
  if (node) TRY(check_runtime_versions(inventory, in.versions));
  in.paths = p;
  for (const auto& image : inputs.images) in.images[image.name] = image.ref;
  if (inputs.kit) in.kit = *inputs.kit;

  PlanBuilder b(plan);
  b.add("preflight", "swap, sysctls, kernel modules, ports, disk space, clock and runtime, all reported at once",
        PreflightStep{});

  // Layout (manifests/SOURCES.md, "Target layout").
  if (etcd) {
    b.dir(p.etcd_dir, 0755, "etcd layout");
    for (const char* sub : {"bin", "cfg"}) b.dir(p.etcd_dir + "/" + sub, 0755, "etcd layout");
    b.dir(p.etcd_dir + "/ssl", 0700, "etcd certificates and keys");
    const std::string data = p.etcd_data_dir.substr(0, p.etcd_data_dir.rfind('/'));
    b.dir(data, 0700, "etcd data (kept by uninstall unless --purge)", true);
  }
  if (master) {
    b.dir(p.etcd_dir, 0755, "etcd client certificates of the apiserver");
    b.dir(p.etcd_dir + "/ssl", 0700, "etcd client certificates of the apiserver");
  }
  if (master || node) {
    b.dir(p.k8s_dir, 0755, "Kubernetes layout");
    for (const char* sub : {"bin", "cfg"}) b.dir(p.k8s_dir + "/" + sub, 0755, "Kubernetes layout");
    b.dir(p.k8s_dir + "/ssl", 0700, "Kubernetes certificates and keys");
    b.dir(p.k8s_logs(), 0755, "component logs (kept by uninstall unless --purge)", true);
  }
  if (master) {
    b.dir(p.k8s_dir + "/addons", 0755, "cluster add-on manifests");
    const std::string kube_dir = p.admin_kubeconfig.substr(0, p.admin_kubeconfig.rfind('/'));
    b.dir(kube_dir, 0700, "kubectl's admin kubeconfig");
    // kubectl keeps its discovery and HTTP cache beside the kubeconfig (the checks fill it too).
    b.dir(kube_dir + "/cache", 0750, "kubectl's discovery and HTTP cache (kept by uninstall unless --purge)", true);
  }
  if (node) {
    b.dir(p.cni_bin_dir, 0755, "CNI plugins");
    // Folders the node's pods fill (flannel's conflist, host-local's leases, dockershim's
    // checkpoints): data, so `uninstall --purge` leaves none of what the cluster wrote there.
    b.dir(p.cni_conf_dir, 0755, "CNI configuration: flannel writes its conflist (kept by uninstall unless --purge)",
          true);
    b.dir(p.cni_state_dir, 0755, "CNI state: pod address leases (kept by uninstall unless --purge)", true);
    b.dir(p.kubelet_dir, 0700, "kubelet state and certificates (kept by uninstall unless --purge)", true);
    if (inventory.container_runtime == ContainerRuntime::docker && !in.versions.kubernetes.at_least(1, 24)) {
      b.dir(p.dockershim_dir, 0755, "dockershim's pod sandbox checkpoints (kept by uninstall unless --purge)", true);
    }
  }

  // Operating system (manifests/SOURCES.md, "The procedure", step 1).
  b.rendered(r::render_sysctl(in), "bridge netfilter and IP forwarding for pod traffic");
  b.rendered(r::render_modules_load(in), node && r::kube_proxy_ipvs(in.versions.kubernetes)
                                             ? "br_netfilter, overlay and IPVS modules at boot"
                                             : "br_netfilter and overlay at boot");
  b.hosts_block(p.hosts_file, r::hosts_block(inventory), "every cluster host by name");
  std::vector<std::string> modprobe = {"modprobe", "-a"};
  for (const auto& module : r::required_modules(host, in.versions.kubernetes)) modprobe.push_back(module);
  b.command("command modprobe", {modprobe}, "load the kernel modules now", {p.modules_file});
  b.command("command sysctl", {{"sysctl", "--system"}}, "apply the sysctls now", {p.sysctl_file});

  // Binaries from the bundle.
  TRY(add_binaries(b, host, inputs));
  if (master) b.symlink("/usr/local/bin/kubectl", p.k8s_bin("kubectl"), "kubectl on the PATH");

  // PKI kit.
  for (const auto& t : kit_targets(host, p)) {
    if (no_kit) {
      b.file(t.target, "", t.mode, t.mode == 0600, std::string("pki:") + t.kit_path, t.reason, false);
      continue;
    }
    TRY_ASSIGN(const std::string content, r::kit_file(*inputs.kit, t.kit_path));
    b.file(t.target, content, t.mode, t.mode == 0600, std::string("pki:") + t.kit_path, t.reason);
  }

  // Rendered configuration.
  if (etcd) b.rendered(r::render_etcd_env(in), "etcd member and cluster settings");
  if (master) {
    b.rendered(r::render_apiserver_options(in), "kube-apiserver flags");
    if (auto policy = r::render_audit_policy(in)) b.rendered(*policy, "kube-apiserver audit policy");
    b.rendered(r::render_controller_manager_options(in), "kube-controller-manager flags");
    b.rendered(r::render_scheduler_options(in), "kube-scheduler flags");
    TRY(b.rendered_or_unknown(r::render_controller_manager_kubeconfig(in), no_kit,
                              p.k8s_cfg("kube-controller-manager.kubeconfig"), 0600, true,
                              "controller-manager's own credentials"));
    TRY(b.rendered_or_unknown(r::render_scheduler_kubeconfig(in), no_kit, p.k8s_cfg("kube-scheduler.kubeconfig"), 0600,
                              true, "scheduler's own credentials"));
    TRY(b.rendered_or_unknown(r::render_admin_kubeconfig(in), no_kit, p.admin_kubeconfig, 0600, true,
                              "cluster-admin credentials for kubectl"));
    b.rendered(r::render_rbac(in), "bootstrap RBAC and automatic approval of node client CSRs");
    TRY(b.rendered_or_unknown(r::render_flannel(in), no_images, p.k8s_addon("kube-flannel.yml"), 0644, false,
                              "pod network (flannel VXLAN)"));
    TRY(b.rendered_or_unknown(r::render_coredns(in), no_images, p.k8s_addon("coredns.yaml"), 0644, false,
                              "cluster DNS (CoreDNS)"));
  }
  if (node) {
    TRY(b.rendered_or_unknown(r::render_kubelet_options(in), no_images, p.k8s_cfg("kubelet.conf"), 0644, false,
                              "kubelet flags"));
    b.rendered(r::render_kubelet_config(in), "kubelet configuration");
    TRY(b.rendered_or_unknown(r::render_bootstrap_kubeconfig(in), no_kit, p.k8s_cfg("bootstrap.kubeconfig"), 0600, true,
                              "kubelet TLS bootstrap credentials (token)"));
    b.rendered(r::render_flannel_cni_conflist(in),
               "the pod network's CNI configuration, as flannel's init container copies it");
    b.rendered(r::render_kube_proxy_options(in), "kube-proxy flags");
    b.rendered(r::render_kube_proxy_config(in), r::kube_proxy_ipvs(in.versions.kubernetes)
                                                    ? "kube-proxy configuration (IPVS)"
                                                    : "kube-proxy configuration (iptables)");
    TRY(b.rendered_or_unknown(r::render_kube_proxy_kubeconfig(in), no_kit, p.k8s_cfg("kube-proxy.kubeconfig"), 0600,
                              true, "kube-proxy's credentials"));
  }
  // The runtime from the bundle (render/runtime.cpp, render/containerd.cpp), or containerd of the
  // host's own as the kubelet needs it offline (render/containerd.cpp).
  RuntimePlan bundle_runtime;
  if (runtime_from_bundle) {
    TRY_ASSIGN(bundle_runtime, add_bundle_runtime(b, inventory, inputs, in, no_images));
  }
  const bool containerd = node && !runtime_from_bundle && inventory.container_runtime == ContainerRuntime::containerd;
  if (containerd) {
    TRY(b.rendered_or_unknown(
        r::render_containerd_config(in), no_images, p.containerd_config, 0644, false,
        "containerd for the kubelet: the bundle's pause image, cgroupfs, CNI in " + p.cni_bin_dir));
    b.rendered(r::render_containerd_dropin(in), "containerd.service starts containerd with " + p.containerd_config);
  }

  // Units.
  std::vector<std::string> units;
  auto unit = [&](const r::RenderedFile& f, const std::string& reason) {
    b.rendered(f, reason);
    units.push_back(f.path);
  };
  if (etcd) unit(r::render_etcd_unit(in), "systemd unit");
  if (master) {
    unit(r::render_apiserver_unit(in), "systemd unit");
    unit(r::render_controller_manager_unit(in), "systemd unit");
    unit(r::render_scheduler_unit(in), "systemd unit");
  }
  if (node) {
    unit(r::render_kubelet_unit(in), "systemd unit");
    unit(r::render_kube_proxy_unit(in), "systemd unit");
  }
  if (containerd) units.push_back(p.containerd_dropin);
  units.insert(units.end(), bundle_runtime.units.begin(), bundle_runtime.units.end());
  b.command("command daemon-reload", {{"systemctl", "daemon-reload"}}, "make systemd read the units",
            units);
  // The bundle's runtime runs before images are loaded into it and before the kubelet starts.
  if (runtime_from_bundle && inventory.container_runtime == ContainerRuntime::docker) {
    // docker.socket gives its socket to group docker (moby's unit), which must exist.
    b.command("command docker-group",
              {{"sh", "-c", "getent group docker >/dev/null || groupadd --system docker"}},
              "group docker, which moby's docker.socket gives the socket to (kept by uninstall)");
    b.service(p.unit("docker.socket"), "docker's API socket (moby's unit)");
    b.service(p.unit("docker.service"), "docker from the bundle, before images are loaded into it", false,
              bundle_runtime.unnamed);
  } else if (runtime_from_bundle) {
    b.service(p.containerd_unit_dir + "/containerd.service",
              "containerd from the bundle, before images are loaded into it", false, bundle_runtime.unnamed);
  }
  if (containerd) {
    b.command(std::string(k_restart_containerd_step), {{"systemctl", "restart", "containerd.service"}},
              "containerd takes its new settings before images are loaded into it",
              {p.containerd_config, p.containerd_dropin});
  }

  // Images (nodes run the pods): one step that makes this very installer load every image of
  // the extracted bundle (images/images.json + blobs) into the runtime; images already there
  // with the pinned digest are skipped (images/images.hpp).
  if (node && !inputs.images.empty()) {
    const std::string runtime = inventory.container_runtime == ContainerRuntime::docker ? "docker" : "containerd";
    std::string digests;
    for (const auto& image : inputs.images) digests += image.ref + "\n";
    ImageStep load;
    load.commands = {{"/proc/self/exe", "images", "load", "--from", "{bundle}", "--runtime", runtime}};
    load.source = "bundle:images/images.json";
    load.sha256 = bs::sha256_hex(digests);
    b.add("images load", "load " + std::to_string(inputs.images.size()) + " pinned images into " + runtime,
          std::move(load));
  }

  // Services, in dependency order, with checks between.
  const std::string admin = p.admin_kubeconfig;
  if (etcd) {
    b.service(p.unit("etcd.service"), "etcd member; starts without blocking, the members wait for a quorum", true);
    b.check("etcd-health",
            {p.etcd_bin("etcdctl"), "--cacert=" + p.etcd_ssl("ca.pem"), "--cert=" + p.etcd_ssl("server.pem"),
             "--key=" + p.etcd_ssl("server-key.pem"),
             "--endpoints=https://" + host.address + ":" + std::to_string(r::k_etcd_client_port), "endpoint", "health"},
            30, 2000, OnFailure::warn, "etcd answers once a quorum of members runs (install the other members too)");
  }
  if (master) {
    b.service(p.unit("kube-apiserver.service"), "API server");
    // The admin kubeconfig carries a client certificate: /readyz answers only once the
    // apiserver trusts it, and only while etcd answers the apiserver.
    b.check("apiserver-ready", {p.k8s_bin("kubectl"), "--kubeconfig=" + admin, "get", "--raw=/readyz"}, 60, 2000,
            OnFailure::stop,
            "the API server answers /readyz (etcd reachable) to a client-certificate request with " + admin +
                ", before its clients start; if not, look at journalctl -u kube-apiserver and the etcd-health check");
    b.service(p.unit("kube-controller-manager.service"), "controller manager (signs kubelet certificates)");
    b.service(p.unit("kube-scheduler.service"), "scheduler");
    std::vector<Argv> apply;
    std::vector<std::string> addon_inputs;
    for (const char* name : {"rbac.yaml", "kube-flannel.yml", "coredns.yaml"}) {
      apply.push_back({p.k8s_bin("kubectl"), "--kubeconfig=" + admin, "apply", "-f", p.k8s_addon(name)});
      addon_inputs.push_back(p.k8s_addon(name));
    }
    b.command("command apply-addons", apply,
              "RBAC (bootstrap + CSR auto-approval), flannel and CoreDNS in the cluster", addon_inputs);
    // `kubectl apply` can exit 0 against a server that keeps nothing; read every object of
    // every add-on file back (kubectl get -f exits non-zero and names each missing object).
    std::vector<std::string> get = {p.k8s_bin("kubectl"), "--kubeconfig=" + admin, "get"};
    for (const std::string& file : addon_inputs) get.insert(get.end(), {"-f", file});
    get.insert(get.end(), {"-o", "name"});
    b.check("addons-present", get, 3, 2000, OnFailure::stop,
            "every object of rbac.yaml, kube-flannel.yml and coredns.yaml reads back from the API server; if one is "
            "missing, apply its file again with kubectl --kubeconfig=" +
                admin + " apply -f FILE and read the error")
        .inputs = addon_inputs;  // changed add-ons are read back again
  }
  if (node) {
    b.service(p.unit("kubelet.service"), "kubelet (TLS bootstrap; its client CSR is approved automatically)");
    b.service(p.unit("kube-proxy.service"), "kube-proxy (IPVS)");
    b.check("kubelet-active", {"systemctl", "is-active", "kubelet.service"}, 10, 1000, OnFailure::stop,
            "kubelet keeps running");
    // The node is part of the cluster only once its kubelet finished the TLS bootstrap (its CSR
    // approved and signed on a master) and registered the Node object under the inventory name
    // (--hostname-override), with the kubeconfig the bootstrap wrote.
    b.check("node-registered",
            {p.k8s_bin("kubectl"), "--kubeconfig=" + p.k8s_cfg("kubelet.kubeconfig"), "get", "node", host.name, "-o",
             "name"},
            60, 2000, OnFailure::stop,
            "the kubelet registered Node " + host.name +
                " with the API server; if not, look at journalctl -u kubelet on " + host.name +
                " and, on a master, kubectl get csr (Pending: the master's rbac.yaml is not applied yet " +
                "or kube-controller-manager is down; none: the bootstrap token is refused)");
  }

  // What preflight checks.
  plan.preflight.sysctls = r::required_sysctls();
  plan.preflight.modules = r::required_modules(host, in.versions.kubernetes);
  plan.preflight.cgroup_v2 = node && r::requires_cgroup_v2(in.versions.kubernetes);
  if (etcd) plan.preflight.ports.insert(plan.preflight.ports.end(), {r::k_etcd_client_port, r::k_etcd_peer_port});
  if (master) plan.preflight.ports.insert(plan.preflight.ports.end(), {r::k_apiserver_port, 10257, 10259});
  if (node) {
    plan.preflight.ports.insert(plan.preflight.ports.end(), {10250, 10249, 10256});
    plan.preflight.runtime = inventory.container_runtime;
    plan.preflight.runtime_source = inventory.container_runtime_source;
    plan.preflight.runtime_version = in.versions.runtime.text;
    plan.preflight.tools = {{"iptables", "kube-proxy and the CNI plugins"},
                            {"conntrack", "kube-proxy, to clear the connections of removed endpoints"},
                            {"ipset", "kube-proxy in IPVS mode"}};
    if (inventory.container_runtime == ContainerRuntime::docker) {
      plan.preflight.tools.emplace_back("socat", "kubectl port-forward through dockershim");
    }
  }
  if (inputs.kit) plan.preflight.not_before = latest_not_before(*inputs.kit, host, p);
  b.finish();
  return plan;
}

// ------------------------------------------------------------------ bundle index helpers

std::vector<BundleBinary> binaries_from_index(const bs::Index& index, const r::Paths& paths) {
  std::vector<BundleBinary> out;
  for (const auto& entry : index.entries) {
    if (entry.type != bs::EntryType::file) continue;
    std::string target;
    if (entry.path.rfind("etcd/bin/", 0) == 0) {
      target = paths.etcd_dir + "/bin/" + entry.path.substr(9);
    } else if (entry.path.rfind("kubernetes/bin/", 0) == 0) {
      target = paths.k8s_dir + "/bin/" + entry.path.substr(15);
    } else if (entry.path.rfind("cni/bin/", 0) == 0) {
      target = paths.cni_bin_dir + "/" + entry.path.substr(8);
    } else if (entry.path.rfind("runtime/containerd/bin/", 0) == 0) {
      target = paths.containerd_bin_dir + "/" + entry.path.substr(23);
    } else if (entry.path == "runtime/runc/runc") {
      target = paths.runc_path;
    } else if (entry.path == "runtime/crictl/crictl") {
      target = paths.containerd_bin_dir + "/crictl";
    } else if (entry.path.rfind("runtime/docker/bin/", 0) == 0) {
      target = paths.docker_bin_dir + "/" + entry.path.substr(19);
    } else {
      continue;
    }
    out.push_back({entry.path, target, entry.sha256, entry.size, static_cast<mode_t>(entry.mode)});
  }
  return out;
}

std::vector<BundleBinary> default_binaries(const r::Paths& paths) {
  std::vector<BundleBinary> out;
  for (const char* name : {"etcd", "etcdctl"})
    out.push_back({std::string("etcd/bin/") + name, paths.etcd_bin(name), "", 0, 0755});
  for (const char* name :
       {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kubelet", "kube-proxy"}) {
    out.push_back({std::string("kubernetes/bin/") + name, paths.k8s_bin(name), "", 0, 0755});
  }
  for (const char* name : {"bridge", "host-local", "loopback", "portmap"}) {
    out.push_back({std::string("cni/bin/") + name, paths.cni_bin_dir + "/" + name, "", 0, 0755});
  }
  for (const char* name : {"containerd", "containerd-shim-runc-v2", "ctr"}) {
    out.push_back({std::string("runtime/containerd/bin/") + name, paths.containerd_bin_dir + "/" + name, "", 0, 0755});
  }
  out.push_back({"runtime/runc/runc", paths.runc_path, "", 0, 0755});
  for (const char* name : {"dockerd", "docker", "containerd", "containerd-shim-runc-v2", "runc"}) {
    out.push_back({std::string("runtime/docker/bin/") + name, paths.docker_bin_dir + "/" + name, "", 0, 0755});
  }
  return out;
}

std::vector<BundleImage> images_from_images_index(const bs::ImagesIndex& index) {
  std::vector<BundleImage> out;
  for (const auto& record : index.images) {
    // NAME:TAG@sha256:<hex>: the tag for docker, the digest for containerd (runtime_image).
    BundleImage image;
    image.name = record.name;
    image.ref = record.reference + "@" + record.target.digest;
    image.archive = std::string(bs::k_images_index_path);
    image.sha256 = record.target.digest.substr(record.target.digest.find(':') + 1);
    image.size = record.target.size;
    out.push_back(std::move(image));
  }
  return out;
}

r::Versions versions_from_index(const bs::Index& index) {
  r::Versions versions;
  for (const auto& entry : index.entries) {
    if (!entry.origin) continue;
    const bool k8s = entry.path == "kubernetes/bin/kube-apiserver" || entry.path == "kubernetes/bin/kubelet";
    if (k8s && versions.kubernetes.text.empty()) {
      if (auto v = r::parse_version(entry.origin->version); v.ok()) versions.kubernetes = *v;
    }
    if (entry.path == "etcd/bin/etcd") {
      if (auto v = r::parse_version(entry.origin->version); v.ok()) versions.etcd = *v;
    }
    if (entry.path == "runtime/containerd/bin/containerd") {
      if (auto v = r::parse_version(entry.origin->version); v.ok()) versions.containerd = *v;
    }
    if (entry.path == "runtime/docker/bin/dockerd") {
      if (auto v = r::parse_version(entry.origin->version); v.ok()) versions.docker = *v;
    }
  }
  return versions;
}

// ------------------------------------------------------------------ output

bs::Json plan_to_json(const Plan& plan) {
  bs::Json::Object o;
  o["cluster"] = plan.cluster;
  o["host"] = plan.host;
  bs::Json::Array roles;
  for (const auto& role : plan.roles) roles.emplace_back(role);
  o["roles"] = std::move(roles);
  o["kubernetes_version"] = plan.kubernetes_version;
  o["etcd_version"] = plan.etcd_version;
  bs::Json::Object pre;
  bs::Json::Object sysctls;
  for (const auto& [key, value] : plan.preflight.sysctls) sysctls[key] = value;
  pre["sysctls"] = std::move(sysctls);
  bs::Json::Array modules, ports;
  for (const auto& m : plan.preflight.modules) modules.emplace_back(m);
  for (int port : plan.preflight.ports) ports.emplace_back(port);
  pre["modules"] = std::move(modules);
  pre["ports"] = std::move(ports);
  bs::Json::Object space;
  for (const auto& [folder, bytes] : plan.preflight.space) space[folder] = bytes;
  pre["space_bytes"] = std::move(space);
  pre["runtime"] =
      plan.preflight.runtime ? bs::Json(std::string(to_string(*plan.preflight.runtime))) : bs::Json(nullptr);
  pre["not_before"] = plan.preflight.not_before;
  bs::Json::Object tools;
  for (const auto& [tool, why] : plan.preflight.tools) tools[tool] = why;
  pre["tools"] = std::move(tools);
  o["preflight"] = std::move(pre);
  bs::Json::Array steps;
  int n = 0;
  for (const Step& s : plan.steps) {
    bs::Json j = step_to_json(s);
    j["n"] = ++n;
    j["digest"] = s.digest;
    steps.push_back(std::move(j));
  }
  o["steps"] = std::move(steps);
  return o;
}

std::string format_plan(const Plan& plan) {
  std::string roles;
  for (const auto& role : plan.roles) roles += (roles.empty() ? "" : ",") + role;
  std::string out = "plan for " + plan.host + " (" + roles + ") of cluster " + plan.cluster + ", Kubernetes " +
                    (plan.kubernetes_version.empty() ? "?" : plan.kubernetes_version) + ": " +
                    std::to_string(plan.steps.size()) + " steps\n";
  int n = 0;
  for (const Step& s : plan.steps) {
    char head[32];
    std::snprintf(head, sizeof head, "%4d %-11s ", ++n, std::string(to_string(s.kind())).c_str());
    std::string what = s.id.substr(s.id.find(' ') == std::string::npos ? 0 : s.id.find(' ') + 1);
    if (const auto* d = s.as<DirStep>()) what += " " + octal_mode(d->mode);
    if (const auto* f = s.as<FileStep>()) {
      what += " " + octal_mode(f->mode);
      if (f->sha256.empty()) what += " (content needs --pki/--bundle)";
    }
    out += head + what + "  — " + s.reason + "\n";
  }
  return out;
}

}  // namespace installer
