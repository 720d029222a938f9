#include "pki/pki.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>

#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "pki/x509.hpp"

namespace installer {

using bundlespec::Error;

namespace {

constexpr mode_t k_public = 0644;
constexpr mode_t k_secret = 0600;
constexpr std::time_t k_backdate_seconds = 300;

// Adds a certificate and its key as two files.
Status add_pair(std::vector<PkiFile>& files, const Credential& cred, const char* cert_path, const char* key_path) {
  // Key generation is the slow part: Ctrl-C stops between certificates.
  if (bundlespec::interrupt_requested()) return bundlespec::interrupted_error();
  TRY_ASSIGN(std::string cert, cred.cert_pem());
  TRY_ASSIGN(std::string key, cred.key_pem());
  files.push_back({cert_path, std::move(cert), k_public});
  files.push_back({key_path, std::move(key), k_secret});
  return bundlespec::ok_status();
}

CertRequest etcd_server_request(const Inventory& inv) {
  CertRequest request{"etcd", {}, {"localhost"}, {}, CertKind::server};
  for (const Host* member : etcd_members(inv)) request.ip_addresses.push_back(member->address);
  request.ip_addresses.push_back("127.0.0.1");
  return request;
}

CertRequest apiserver_request(const Inventory& inv) {
  CertRequest request{"kubernetes", {}, {}, {}, CertKind::server};
  request.dns_names = {"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster",
                       "kubernetes.default.svc." + inv.domain};
  // "kubernetes.default.svc.cluster" and ".svc.<domain>" coincide when domain is "cluster".
  request.dns_names.erase(std::unique(request.dns_names.begin(), request.dns_names.end()), request.dns_names.end());
  request.ip_addresses = {first_service_ip(inv), "127.0.0.1"};
  for (const Host* master : masters(inv)) request.ip_addresses.push_back(master->address);
  return request;
}

// The etcd leaf certificates, signed by `ca`.
Status add_etcd_leaves(std::vector<PkiFile>& files, const Inventory& inv, const KeySpec& key, const Validity& validity,
                       const Credential& ca) {
  TRY_ASSIGN(const Credential server, issue_certificate(ca, etcd_server_request(inv), key, validity));
  TRY(add_pair(files, server, PkiPaths::etcd_server, PkiPaths::etcd_server_key));
  TRY_ASSIGN(const Credential client,
             issue_certificate(ca, {"kube-apiserver-etcd-client", {}, {}, {}, CertKind::client}, key, validity));
  return add_pair(files, client, PkiPaths::etcd_apiserver_client, PkiPaths::etcd_apiserver_client_key);
}

// The Kubernetes leaf certificates, signed by `ca`.
Status add_kubernetes_leaves(std::vector<PkiFile>& files, const Inventory& inv, const KeySpec& key,
                             const Validity& validity, const Credential& ca) {
  TRY_ASSIGN(const Credential apiserver, issue_certificate(ca, apiserver_request(inv), key, validity));
  TRY(add_pair(files, apiserver, PkiPaths::apiserver, PkiPaths::apiserver_key));
  // Client certificates: the CN is the Kubernetes user, O the group (RBAC).
  const std::vector<std::tuple<CertRequest, const char*, const char*>> clients = {
      {{"admin", {"system:masters"}, {}, {}, CertKind::client}, PkiPaths::admin, PkiPaths::admin_key},
      {{"system:kube-proxy", {}, {}, {}, CertKind::client}, PkiPaths::kube_proxy, PkiPaths::kube_proxy_key},
      {{"system:kube-controller-manager", {}, {}, {}, CertKind::client},
       PkiPaths::controller_manager,
       PkiPaths::controller_manager_key},
      {{"system:kube-scheduler", {}, {}, {}, CertKind::client}, PkiPaths::scheduler, PkiPaths::scheduler_key},
  };
  for (const auto& [request, cert_path, key_path] : clients) {
    TRY_ASSIGN(const Credential client, issue_certificate(ca, request, key, validity));
    TRY(add_pair(files, client, cert_path, key_path));
  }
  return bundlespec::ok_status();
}

Status add_etcd(std::vector<PkiFile>& files, const Inventory& inv, const KeySpec& key, const Validity& validity) {
  TRY_ASSIGN(const Credential ca, make_ca({"etcd-ca", {"kubeferry"}, {}, {}, CertKind::ca}, key, validity));
  TRY(add_pair(files, ca, PkiPaths::etcd_ca, PkiPaths::etcd_ca_key));
  return add_etcd_leaves(files, inv, key, validity, ca);
}

Status add_kubernetes(std::vector<PkiFile>& files, const Inventory& inv, const KeySpec& key, const Validity& validity) {
  TRY_ASSIGN(const Credential ca, make_ca({"kubernetes-ca", {"kubeferry"}, {}, {}, CertKind::ca}, key, validity));
  TRY(add_pair(files, ca, PkiPaths::k8s_ca, PkiPaths::k8s_ca_key));
  return add_kubernetes_leaves(files, inv, key, validity, ca);
}

// The service-account key pair and the kubelet bootstrap token.
Status add_secrets(std::vector<PkiFile>& files, const KeySpec& key) {
  TRY_ASSIGN(const auto sa, generate_key(key));
  TRY_ASSIGN(std::string sa_key, private_key_pem(sa.get()));
  TRY_ASSIGN(std::string sa_pub, public_key_pem(sa.get()));
  files.push_back({PkiPaths::sa_key, std::move(sa_key), k_secret});
  files.push_back({PkiPaths::sa_pub, std::move(sa_pub), k_public});
  // As the seed's token.sh: 16 random bytes, 32 hex characters.
  TRY_ASSIGN(const std::string token, random_hex(16));
  files.push_back({PkiPaths::token_csv, token + ",kubelet-bootstrap,10001,\"system:node-bootstrapper\"\n", k_secret});
  files.push_back({PkiPaths::bootstrap_token, token + "\n", k_secret});
  return bundlespec::ok_status();
}

}  // namespace

Result<std::vector<PkiFile>> generate_pki(const Inventory& inventory, std::time_t now) {
  const KeySpec key{inventory.pki.key_type, inventory.pki.key_bits};
  const Validity validity{now - k_backdate_seconds,
                          now + std::chrono::duration_cast<std::chrono::seconds>(inventory.pki.validity).count()};
  std::vector<PkiFile> files;
  TRY_CTX(add_etcd(files, inventory, key, validity), "etcd PKI");
  TRY_CTX(add_kubernetes(files, inventory, key, validity), "Kubernetes PKI");
  TRY_CTX(add_secrets(files, key), "service-account key and bootstrap token");
  return files;
}

namespace {

// Every file of a PKI, in PkiPaths order, with its mode.
const std::vector<std::pair<const char*, mode_t>>& pki_layout() {
  static const std::vector<std::pair<const char*, mode_t>> layout = {
      {PkiPaths::etcd_ca, k_public},
      {PkiPaths::etcd_ca_key, k_secret},
      {PkiPaths::etcd_server, k_public},
      {PkiPaths::etcd_server_key, k_secret},
      {PkiPaths::etcd_apiserver_client, k_public},
      {PkiPaths::etcd_apiserver_client_key, k_secret},
      {PkiPaths::k8s_ca, k_public},
      {PkiPaths::k8s_ca_key, k_secret},
      {PkiPaths::apiserver, k_public},
      {PkiPaths::apiserver_key, k_secret},
      {PkiPaths::admin, k_public},
      {PkiPaths::admin_key, k_secret},
      {PkiPaths::kube_proxy, k_public},
      {PkiPaths::kube_proxy_key, k_secret},
      {PkiPaths::controller_manager, k_public},
      {PkiPaths::controller_manager_key, k_secret},
      {PkiPaths::scheduler, k_public},
      {PkiPaths::scheduler_key, k_secret},
      {PkiPaths::sa_key, k_secret},
      {PkiPaths::sa_pub, k_public},
      {PkiPaths::token_csv, k_secret},
      {PkiPaths::bootstrap_token, k_secret},
  };
  return layout;
}

const PkiFile* find_file(const std::vector<PkiFile>& files, const char* path) {
  const auto it = std::find_if(files.begin(), files.end(), [&](const PkiFile& f) { return f.path == path; });
  return it == files.end() ? nullptr : &*it;
}

// `t` in UTC as strftime FORMAT writes it.
std::string utc_text(std::time_t t, const char* format) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

// The CA stored at cert_path/key_path, which must still be valid at `now`.
Result<Credential> load_ca(const std::vector<PkiFile>& files, const char* cert_path, const char* key_path,
                           std::time_t now, std::time_t& not_after) {
  const PkiFile* cert = find_file(files, cert_path);
  const PkiFile* key = find_file(files, key_path);
  if (cert == nullptr || key == nullptr) return bundlespec::make_error("missing " + std::string(cert_path));
  TRY_ASSIGN_CTX(auto ca, load_credential(cert->content, key->content), cert_path);
  TRY_ASSIGN(const CertificateInfo info, read_certificate_info(cert->content));
  if (info.not_after <= now) {
    return bundlespec::usage_error(std::string(cert_path) + " expired on " + utc_text(info.not_after, "%Y-%m-%d") +
                                   ": certificates it signs would not be trusted; make a new PKI with pki init "
                                   "and install every host with it");
  }
  not_after = info.not_after;
  return ca;
}

}  // namespace

Result<std::vector<PkiFile>> read_pki(const std::string& dir) {
  std::vector<PkiFile> files;
  for (const auto& [path, mode] : pki_layout()) {
    auto content = bundlespec::read_file(dir + "/" + path, 1 << 20);
    if (!content.ok()) {
      return bundlespec::usage_error("PKI " + dir + ": missing " + path +
                                     " (pass the folder pki init wrote, not a host's kit)");
    }
    files.push_back({path, std::move(*content), mode});
  }
  return files;
}

Result<std::vector<PkiFile>> renew_pki(const Inventory& inventory, const std::vector<PkiFile>& old, std::time_t now) {
  const KeySpec key{inventory.pki.key_type, inventory.pki.key_bits};
  const std::time_t wanted = now + std::chrono::duration_cast<std::chrono::seconds>(inventory.pki.validity).count();
  std::time_t etcd_end = 0;
  std::time_t k8s_end = 0;
  TRY_ASSIGN(const Credential etcd_ca, load_ca(old, PkiPaths::etcd_ca, PkiPaths::etcd_ca_key, now, etcd_end));
  TRY_ASSIGN(const Credential k8s_ca, load_ca(old, PkiPaths::k8s_ca, PkiPaths::k8s_ca_key, now, k8s_end));
  // A certificate never outlives the CA that signed it.
  const Validity etcd_validity{now - k_backdate_seconds, std::min(wanted, etcd_end)};
  const Validity k8s_validity{now - k_backdate_seconds, std::min(wanted, k8s_end)};
  std::vector<PkiFile> leaves;
  TRY_CTX(add_etcd_leaves(leaves, inventory, key, etcd_validity, etcd_ca), "etcd PKI");
  TRY_CTX(add_kubernetes_leaves(leaves, inventory, key, k8s_validity, k8s_ca), "Kubernetes PKI");
  // The same layout as pki init: new leaves, every other file (CAs, service-account keys,
  // bootstrap token) byte for byte as it was.
  std::vector<PkiFile> files;
  for (const auto& [path, mode] : pki_layout()) {
    const PkiFile* renewed = find_file(leaves, path);
    const PkiFile* kept = find_file(old, path);
    if (renewed == nullptr && kept == nullptr) return bundlespec::make_error(std::string("missing ") + path);
    files.push_back(renewed != nullptr ? *renewed : *kept);
  }
  return files;
}

std::vector<std::string> kit_files(const Host& host) {
  std::vector<std::string> out;
  if (host.has(Role::etcd)) {
    out.insert(out.end(), {PkiPaths::etcd_ca, PkiPaths::etcd_server, PkiPaths::etcd_server_key});
  }
  if (host.has(Role::master)) {
    out.insert(out.end(), {PkiPaths::etcd_ca, PkiPaths::etcd_apiserver_client, PkiPaths::etcd_apiserver_client_key,
                           PkiPaths::k8s_ca, PkiPaths::k8s_ca_key, PkiPaths::apiserver, PkiPaths::apiserver_key,
                           PkiPaths::sa_key, PkiPaths::sa_pub, PkiPaths::token_csv, PkiPaths::admin,
                           PkiPaths::admin_key, PkiPaths::controller_manager, PkiPaths::controller_manager_key,
                           PkiPaths::scheduler, PkiPaths::scheduler_key});
  }
  if (host.has(Role::node)) {
    out.insert(out.end(),
               {PkiPaths::k8s_ca, PkiPaths::kube_proxy, PkiPaths::kube_proxy_key, PkiPaths::bootstrap_token});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// Creates every missing folder of `relative` below `root`, mode 0700.
Status make_parents(const std::string& root, const std::string& relative) {
  std::string path = root;
  size_t start = 0;
  for (size_t slash = relative.find('/'); slash != std::string::npos; slash = relative.find('/', start)) {
    path = root + "/" + relative.substr(0, slash);
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return bundlespec::errno_error("mkdir", path);
    start = slash + 1;
  }
  return bundlespec::ok_status();
}

Status write_one(const std::string& root, const std::string& relative, const PkiFile& file) {
  if (bundlespec::interrupt_requested()) return bundlespec::interrupted_error();
  TRY(make_parents(root, relative));
  return bundlespec::write_file_atomic(root + "/" + relative, file.content, file.mode, bundlespec::Overwrite::no);
}

// Refuses an out_dir that exists and is not an empty folder.
Status check_out_dir(const std::string& out_dir) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(out_dir, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) return bundlespec::ok_status();
  if (status.type() != std::filesystem::file_type::directory) {
    return bundlespec::usage_error("--out " + out_dir + ": exists and is not a folder");
  }
  for (const char* marker : {PkiPaths::k8s_ca, PkiPaths::etcd_ca}) {
    if (std::filesystem::exists(out_dir + "/" + marker, ec)) {
      return bundlespec::usage_error("--out " + out_dir + ": already holds a PKI (" + marker +
                                     "); pki init never replaces keys. Keep using it, or move it away "
                                     "to make a new one");
    }
  }
  if (!std::filesystem::is_empty(out_dir, ec) || ec) {
    return bundlespec::usage_error("--out " + out_dir +
                                   ": folder is not empty; pki init writes only "
                                   "into a new or empty folder");
  }
  return bundlespec::ok_status();
}

// Removes the staging folder unless released.
class StagingDir {
 public:
  explicit StagingDir(std::string path) : m_path(std::move(path)) {}
  ~StagingDir() {
    if (!m_path.empty()) std::ignore = bundlespec::remove_tree(m_path);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::string& path() const { return m_path; }
  void release() { m_path.clear(); }

 private:
  std::string m_path;
};

Result<std::string> make_staging_dir(const std::string& out_dir) {
  std::filesystem::path target = std::filesystem::path(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::string parent = target.parent_path().string();
  if (parent.empty()) parent = ".";
  // PARENT/.NAME.pki-<pid>-XXXXXX; first remove those a killed pki init left (private keys in
  // them), and only those.
  const std::string prefix = "." + target.filename().string() + ".pki-";
  std::ignore = bundlespec::remove_stale_work_dirs(parent, prefix);
  return bundlespec::make_work_dir(parent, prefix);
}

}  // namespace

Status write_pki(const Inventory& inventory, const std::vector<PkiFile>& files, const std::string& out_dir) {
  TRY(check_out_dir(out_dir));
  TRY_ASSIGN(const std::string staging_path, make_staging_dir(out_dir));
  StagingDir staging(staging_path);
  std::map<std::string, const PkiFile*> by_path;
  // The full set, then each host's kit.
  for (const PkiFile& file : files) {
    by_path[file.path] = &file;
    TRY(write_one(staging.path(), file.path, file));
  }
  for (const Host& host : inventory.hosts) {
    for (const std::string& relative : kit_files(host)) {
      const auto it = by_path.find(relative);
      if (it == by_path.end()) return bundlespec::make_error("kit of " + host.name + ": missing " + relative);
      TRY(write_one(staging.path(), std::string(PkiPaths::hosts_dir) + "/" + host.name + "/" + relative, *it->second));
    }
  }
  // rename(2) replaces an empty folder atomically; a non-empty one makes it fail.
  if (::rename(staging.path().c_str(), out_dir.c_str()) != 0) {
    return bundlespec::errno_error("rename " + staging.path() + " to", out_dir);
  }
  staging.release();
  return bundlespec::sync_parent_dir(out_dir);
}

Status pki_renew(const Inventory& inventory, const std::string& from_dir, const std::string& out_dir, std::time_t now) {
  TRY(check_out_dir(out_dir));
  TRY_ASSIGN(const std::vector<PkiFile> old, read_pki(from_dir));
  TRY_ASSIGN(const std::vector<PkiFile> files, renew_pki(inventory, old, now));
  return write_pki(inventory, files, out_dir);
}

Status pki_init(const Inventory& inventory, const std::string& out_dir, std::time_t now) {
  TRY(check_out_dir(out_dir));  // before spending seconds on RSA keys
  TRY_ASSIGN(const auto files, generate_pki(inventory, now));
  return write_pki(inventory, files, out_dir);
}

// ---------------------------------------------------------------- expiry

namespace {

long days_between(std::time_t now, std::time_t later) {
  const std::time_t diff = later - now;
  return static_cast<long>(diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400));
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool has_certificate_suffix(const std::string& name) {
  for (const std::string suffix : {".pem", ".crt"}) {
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::vector<CertificateExpiry>> scan_expiry(const std::string& dir, std::time_t now) {
  std::vector<CertificateExpiry> out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec);
  if (ec) return bundlespec::make_error("read folder " + dir + ": " + ec.message());
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return bundlespec::make_error("read folder " + dir + ": " + ec.message());
    const std::string path = it->path().string();
    if (!it->is_regular_file(ec) || !has_certificate_suffix(path)) continue;
    TRY_ASSIGN(const std::string pem, bundlespec::read_file(path, 1 << 20));
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) continue;
    TRY_ASSIGN_CTX(auto info, read_certificate_info(pem), path);
    const std::string relative = std::filesystem::relative(it->path(), dir, ec).string();
    out.push_back({relative, info.subject, info.not_after, days_between(now, info.not_after)});
  }
  if (ec) return bundlespec::make_error("read folder " + dir + ": " + ec.message());
  if (out.empty()) return bundlespec::make_error("no certificate (*.pem, *.crt) under " + dir);
  std::sort(out.begin(), out.end(), [](const CertificateExpiry& a, const CertificateExpiry& b) {
    return std::tie(a.not_after, a.path) < std::tie(b.not_after, b.path);
  });
  return out;
}

std::string format_expiry_table(const std::vector<CertificateExpiry>& entries) {
  size_t width = 4;
  for (const auto& e : entries) width = std::max(width, e.path.size());
  auto pad = [](std::string s, size_t n) { return s + std::string(n > s.size() ? n - s.size() : 0, ' '); };
  std::string out = pad("NOT AFTER (UTC)", 22) + pad("DAYS LEFT", 11) + pad("FILE", width + 2) + "SUBJECT\n";
  for (const auto& e : entries) {
    out += pad(utc_text(e.not_after, "%Y-%m-%d %H:%M:%S"), 22) + pad(std::to_string(e.days_left), 11) +
           pad(e.path, width + 2) + e.subject + "\n";
  }
  return out;
}

std::string format_expiry_json(const std::vector<CertificateExpiry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    out += std::string(i ? ",\n " : "\n ") + "{\"path\": " + json_string(e.path) +
           ", \"subject\": " + json_string(e.subject) +
           ", \"not_after\": " + json_string(utc_text(e.not_after, "%Y-%m-%dT%H:%M:%SZ")) +
           ", \"days_left\": " + std::to_string(e.days_left) + "}";
  }
  return out + "\n]\n";
}

Status check_expiry_within(const std::vector<CertificateExpiry>& entries, long days) {
  const auto within =
      std::count_if(entries.begin(), entries.end(), [&](const CertificateExpiry& e) { return e.days_left < days; });
  if (within == 0) return bundlespec::ok_status();
  const CertificateExpiry& soonest = entries.front();
  const std::string date = utc_text(soonest.not_after, "%Y-%m-%d");
  const std::string when = soonest.days_left < 0
                               ? "expired on " + date
                               : "on " + date + ", " + std::to_string(soonest.days_left) + " days left";
  return bundlespec::make_error(std::to_string(within) + " of " + std::to_string(entries.size()) +
                                " certificates expire within " + std::to_string(days) +
                                " days; the soonest: " + soonest.path + " (" + soonest.subject + ") " + when +
                                "; make new ones with `pki renew`");
}

}  // namespace installer
