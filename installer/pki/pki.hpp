// The cluster PKI made on site (no cfssl at install time): which keys, certificates and
// tokens exist, what each host receives, how `pki init` writes them and `pki expiry` reads them.
//
// Layout of `pki init --out DIR` (paths relative to DIR; keys and tokens 0600, the rest 0644,
// folders 0700). Constants in PkiPaths name every file.
//   etcd/ca.pem, etcd/ca-key.pem                 etcd CA (CN=etcd-ca, O=kubeferry)
//   etcd/server.pem, etcd/server-key.pem         CN=etcd; serverAuth+clientAuth: etcd's server,
//                                                peer and client cert; SANs = every etcd member's
//                                                address + 127.0.0.1 + DNS localhost
//   etcd/apiserver-etcd-client{,-key}.pem        CN=kube-apiserver-etcd-client, clientAuth: what
//                                                kube-apiserver shows etcd (--etcd-certfile/keyfile)
//   kubernetes/ca.pem, kubernetes/ca-key.pem     Kubernetes CA (CN=kubernetes-ca, O=kubeferry)
//   kubernetes/apiserver{,-key}.pem              CN=kubernetes; serverAuth+clientAuth; SANs: DNS
//                                                kubernetes, kubernetes.default, ….svc, ….svc.cluster,
//                                                ….svc.<domain>; IP first service IP, 127.0.0.1,
//                                                every master's address
//   kubernetes/admin{,-key}.pem                  CN=admin, O=system:masters; clientAuth
//   kubernetes/kube-proxy{,-key}.pem             CN=system:kube-proxy; clientAuth
//   kubernetes/kube-controller-manager{,-key}.pem  CN=system:kube-controller-manager; clientAuth
//   kubernetes/kube-scheduler{,-key}.pem         CN=system:kube-scheduler; clientAuth
//   kubernetes/sa.key, kubernetes/sa.pub         service-account signing key pair (PKCS#8 / SPKI)
//   kubernetes/token.csv                         <token>,kubelet-bootstrap,10001,"system:node-bootstrapper"
//   kubernetes/bootstrap-token                   the same token alone (for bootstrap.kubeconfig)
//   hosts/<name>/...                             the host's kit: the subset kit_files() names,
//                                                at the same relative paths
// Thread-safety: functions are independent; pki_init writes only below a fresh folder.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

#include "bundlespec/result.hpp"
#include "cluster/inventory.hpp"

namespace installer {

using bundlespec::Status;

// Relative paths of every file of the PKI (and of a kit).
struct PkiPaths {
  static constexpr const char* etcd_ca = "etcd/ca.pem";
  static constexpr const char* etcd_ca_key = "etcd/ca-key.pem";
  static constexpr const char* etcd_server = "etcd/server.pem";
  static constexpr const char* etcd_server_key = "etcd/server-key.pem";
  static constexpr const char* etcd_apiserver_client = "etcd/apiserver-etcd-client.pem";
  static constexpr const char* etcd_apiserver_client_key = "etcd/apiserver-etcd-client-key.pem";
  static constexpr const char* k8s_ca = "kubernetes/ca.pem";
  static constexpr const char* k8s_ca_key = "kubernetes/ca-key.pem";
  static constexpr const char* apiserver = "kubernetes/apiserver.pem";
  static constexpr const char* apiserver_key = "kubernetes/apiserver-key.pem";
  static constexpr const char* admin = "kubernetes/admin.pem";
  static constexpr const char* admin_key = "kubernetes/admin-key.pem";
  static constexpr const char* kube_proxy = "kubernetes/kube-proxy.pem";
  static constexpr const char* kube_proxy_key = "kubernetes/kube-proxy-key.pem";
  static constexpr const char* controller_manager = "kubernetes/kube-controller-manager.pem";
  static constexpr const char* controller_manager_key = "kubernetes/kube-controller-manager-key.pem";
  static constexpr const char* scheduler = "kubernetes/kube-scheduler.pem";
  static constexpr const char* scheduler_key = "kubernetes/kube-scheduler-key.pem";
  static constexpr const char* sa_key = "kubernetes/sa.key";
  static constexpr const char* sa_pub = "kubernetes/sa.pub";
  static constexpr const char* token_csv = "kubernetes/token.csv";
  static constexpr const char* bootstrap_token = "kubernetes/bootstrap-token";
  static constexpr const char* hosts_dir = "hosts";  // hosts/<name>/<one of the above>
};

// One file of the PKI, in memory.
struct PkiFile {
  std::string path;     // relative, one of PkiPaths
  std::string content;  // PEM or text; secret when mode is 0600
  mode_t mode = 0644;
};

// Makes every key, certificate and token for `inventory` (validated), valid from `now` - 5 min
// (tolerates clocks a little behind) to `now` + inventory.pki.validity. Files in PkiPaths order.
// Fails only if OpenSSL does (message names the certificate and OpenSSL's error).
Result<std::vector<PkiFile>> generate_pki(const Inventory& inventory, std::time_t now);

// The relative paths a host's kit holds, sorted, by its roles:
//   etcd:   etcd/ca.pem, etcd/server.pem, etcd/server-key.pem
//   master: etcd/ca.pem + the apiserver's etcd client pair; kubernetes/ CA cert AND CA key (the
//           controller-manager signs kubelet certificates), apiserver, sa.key/sa.pub, token.csv,
//           admin, kube-controller-manager and kube-scheduler pairs
//   node:   kubernetes/ca.pem, kube-proxy pair, bootstrap-token
// No kit ever holds etcd/ca-key.pem; a host without the master role never holds a CA key.
std::vector<std::string> kit_files(const Host& host);

// Writes `files` and a kit per host below `out_dir`, which must not exist or be an empty folder.
// Everything is first written (each file through AtomicFile) into a temporary folder beside
// `out_dir` and renamed into place at the end, so a failure leaves no partial PKI.
// Fails (ErrorCode::usage) if out_dir already holds a PKI or any other file: keys are never
// replaced; to start over, move the old folder away. Stops with ErrorCode::interrupted when
// bundlespec::interrupt_requested() (generate_pki too), removing the temporary folder.
Status write_pki(const Inventory& inventory, const std::vector<PkiFile>& files, const std::string& out_dir);

// generate_pki + write_pki.
Status pki_init(const Inventory& inventory, const std::string& out_dir, std::time_t now);

// Every file of a PKI that pki init wrote (not a kit: the CA keys must be there), PkiPaths
// order. Fails (usage) naming the first missing file.
Result<std::vector<PkiFile>> read_pki(const std::string& dir);
// Certificate renewal for long-lived clusters: new keys and certificates for every leaf (etcd
// server and client, apiserver, admin, kube-proxy, controller-manager, scheduler), signed by the
// SAME CAs, valid from `now` - 5 min for inventory.pki.validity but never past their CA; the
// SANs follow the inventory as it is now (a master added since gets into the apiserver's).
// CAs, service-account keys and the bootstrap token stay byte for byte, so hosts keep trusting
// each other and tokens stay valid while the hosts are reinstalled one by one. Fails (usage) if
// a CA has expired: that needs a new PKI.
Result<std::vector<PkiFile>> renew_pki(const Inventory& inventory, const std::vector<PkiFile>& old, std::time_t now);
// read_pki(from_dir) + renew_pki + write_pki(out_dir): the old folder is never changed.
Status pki_renew(const Inventory& inventory, const std::string& from_dir, const std::string& out_dir, std::time_t now);

struct CertificateExpiry {
  std::string path;     // relative to the scanned folder
  std::string subject;  // RFC 2253, e.g. "CN=admin,O=system:masters"
  std::time_t not_after = 0;
  long days_left = 0;  // whole days from `now` (rounded down; negative once expired)
};

// Every certificate in *.pem / *.crt files below `dir` (keys and other files are skipped),
// sorted by notAfter, soonest first, then by path. Fails if `dir` cannot be read, a file that
// holds "BEGIN CERTIFICATE" cannot be parsed, or there is no certificate at all.
Result<std::vector<CertificateExpiry>> scan_expiry(const std::string& dir, std::time_t now);

// A table (header + one line per certificate) and a JSON array of
// {"path","subject","not_after" (RFC 3339 UTC),"days_left"} objects; both end with "\n".
std::string format_expiry_table(const std::vector<CertificateExpiry>& entries);
std::string format_expiry_json(const std::vector<CertificateExpiry>& entries);

// For monitoring an isolated cluster (cron, a node exporter's textfile): fails (failure) when a
// certificate of `entries` (sorted as scan_expiry sorts them) has fewer than `days` days left:
//   "2 of 3 certificates expire within 30 days; the soonest: b/soon.crt (CN=soon) on
//    2027-01-17, 2 days left; make new ones with `pki renew`"
// ("expired on DATE" for one already expired). OK otherwise.
Status check_expiry_within(const std::vector<CertificateExpiry>& entries, long days);

}  // namespace installer
