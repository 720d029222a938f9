// kube-apiserver: options file and unit (manifests/SOURCES.md, "kube-apiserver"; version-aware).
#include "render/components.hpp"

namespace installer::render {

Flags apiserver_flags(const RenderInput& in) {
  const Inventory& inv = *in.inventory;
  const Paths& p = in.paths;
  const Version& k8s = in.versions.kubernetes;
  Flags f = logging_flags(in);
  f.insert(f.end(), {
                        {"--etcd-servers", etcd_client_urls(inv)},
                        {"--bind-address", in.host->address},
                        {"--secure-port", std::to_string(k_apiserver_port)},
                        {"--advertise-address", in.host->address},
                    });
  // The insecure port is off; the flag itself is gone from 1.24 (only 0 allowed since 1.22).
  if (!k8s.at_least(1, 24)) f.emplace_back("--insecure-port", "0");
  f.insert(f.end(), {
                        {"--allow-privileged", "true"},
                        {"--service-cluster-ip-range", inv.service_cidr},
                        {"--enable-admission-plugins",
                         "NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,NodeRestriction"},
                        {"--authorization-mode", "RBAC,Node"},
                        {"--enable-bootstrap-token-auth", "true"},
                        {"--token-auth-file", p.k8s_cfg("token.csv")},
                        {"--service-node-port-range", "30000-32767"},
                        {"--kubelet-client-certificate", p.k8s_ssl("apiserver.pem")},
                        {"--kubelet-client-key", p.k8s_ssl("apiserver-key.pem")},
                        {"--tls-cert-file", p.k8s_ssl("apiserver.pem")},
                        {"--tls-private-key-file", p.k8s_ssl("apiserver-key.pem")},
                        {"--client-ca-file", p.k8s_ssl("ca.pem")},
                        // Required since 1.20 (kubernetes#95896): a dedicated key pair, not the CA key.
                        {"--service-account-issuer", "https://kubernetes.default.svc." + inv.domain},
                        {"--service-account-signing-key-file", p.k8s_ssl("sa.key")},
                        {"--service-account-key-file", p.k8s_ssl("sa.pub")},
                        {"--etcd-cafile", p.etcd_ssl("ca.pem")},
                        {"--etcd-certfile", p.etcd_ssl("apiserver-etcd-client.pem")},
                        {"--etcd-keyfile", p.etcd_ssl("apiserver-etcd-client-key.pem")},
                        {"--requestheader-client-ca-file", p.k8s_ssl("ca.pem")},
                        {"--proxy-client-cert-file", p.k8s_ssl("apiserver.pem")},
                        {"--proxy-client-key-file", p.k8s_ssl("apiserver-key.pem")},
                        {"--requestheader-allowed-names", "kubernetes"},
                        {"--requestheader-extra-headers-prefix", "X-Remote-Extra-"},
                        {"--requestheader-group-headers", "X-Remote-Group"},
                        {"--requestheader-username-headers", "X-Remote-User"},
                        {"--enable-aggregator-routing", "true"},
                        {"--audit-log-maxage", "30"},
                        {"--audit-log-maxbackup", "3"},
                        {"--audit-log-maxsize", "100"},
                        {"--audit-log-path", p.k8s_logs() + "/k8s-audit.log"},
                    });
  // Without a policy the apiserver writes no audit event at all, --audit-log-path or not.
  if (apiserver_audit_policy(k8s)) f.emplace_back("--audit-policy-file", p.k8s_cfg("audit-policy.yaml"));
  return f;
}

std::optional<RenderedFile> render_audit_policy(const RenderInput& in) {
  if (!apiserver_audit_policy(in.versions.kubernetes)) return std::nullopt;
  const std::string out =
      "# kube-apiserver audit policy (--audit-policy-file). Written by kubeferry-install.\n"
      "apiVersion: audit.k8s.io/v1\n"
      "kind: Policy\n"
      "omitStages:\n"
      "- RequestReceived\n"
      "rules:\n"
      "- level: None\n"
      "  nonResourceURLs:\n"
      "  - /healthz*\n"
      "  - /livez*\n"
      "  - /readyz*\n"
      "  - /version\n"
      "- level: Metadata\n"
      "  resources:\n"
      "  - group: \"\"\n"
      "    resources:\n"
      "    - secrets\n"
      "    - configmaps\n"
      "  - group: authentication.k8s.io\n"
      "    resources:\n"
      "    - tokenreviews\n"
      "- level: Metadata\n";
  return RenderedFile{in.paths.k8s_cfg("audit-policy.yaml"), out, 0644, false};
}

RenderedFile render_apiserver_options(const RenderInput& in) {
  return component_options_file(in, "kube-apiserver", "KUBE_APISERVER_OPTS", apiserver_flags(in));
}

RenderedFile render_apiserver_unit(const RenderInput& in) {
  UnitSpec spec;
  spec.description = "Kubernetes API Server";
  spec.after = {"network.target", "etcd.service"};
  spec.environment_file = "-" + in.paths.k8s_cfg("kube-apiserver.conf");
  spec.exec_start = {in.paths.k8s_bin("kube-apiserver"), "$KUBE_APISERVER_OPTS"};
  return {in.paths.unit("kube-apiserver.service"), render_unit(spec), 0644, false};
}

}  // namespace installer::render
