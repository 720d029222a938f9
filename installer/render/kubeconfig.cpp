// Every kubeconfig, with the CA and client certificate embedded (base64), mode 0600.
#include "bundlespec/text.hpp"
#include "pki/pki.hpp"
#include "render/components.hpp"

namespace installer::render {

std::string render_kubeconfig(const KubeconfigSpec& spec) {
  std::string out =
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- cluster:\n"
      "    certificate-authority-data: " +
      base64(spec.ca_pem) +
      "\n"
      "    server: " +
      spec.server +
      "\n"
      "  name: " +
      spec.cluster +
      "\n"
      "contexts:\n"
      "- context:\n"
      "    cluster: " +
      spec.cluster +
      "\n"
      "    user: " +
      spec.user +
      "\n"
      "  name: default\n"
      "current-context: default\n"
      "preferences: {}\n"
      "users:\n"
      "- name: " +
      spec.user +
      "\n"
      "  user:\n";
  if (!spec.token.empty()) {
    out += "    token: " + spec.token + "\n";
  } else {
    out += "    client-certificate-data: " + base64(spec.cert_pem) + "\n";
    out += "    client-key-data: " + base64(spec.key_pem) + "\n";
  }
  return out;
}

namespace {

Result<RenderedFile> cert_kubeconfig(const RenderInput& in, const std::string& path, const std::string& user,
                                     const char* cert, const char* key) {
  KubeconfigSpec spec;
  spec.cluster = in.inventory->cluster_name;
  spec.server = apiserver_url(*in.inventory);
  TRY_ASSIGN(spec.ca_pem, kit_file(in.kit, PkiPaths::k8s_ca));
  TRY_ASSIGN(spec.cert_pem, kit_file(in.kit, cert));
  TRY_ASSIGN(spec.key_pem, kit_file(in.kit, key));
  spec.user = user;
  return RenderedFile{path, render_kubeconfig(spec), 0600, true};
}

}  // namespace

Result<RenderedFile> render_admin_kubeconfig(const RenderInput& in) {
  return cert_kubeconfig(in, in.paths.admin_kubeconfig, "cluster-admin", PkiPaths::admin, PkiPaths::admin_key);
}

Result<RenderedFile> render_controller_manager_kubeconfig(const RenderInput& in) {
  return cert_kubeconfig(in, in.paths.k8s_cfg("kube-controller-manager.kubeconfig"), "kube-controller-manager",
                         PkiPaths::controller_manager, PkiPaths::controller_manager_key);
}

Result<RenderedFile> render_scheduler_kubeconfig(const RenderInput& in) {
  return cert_kubeconfig(in, in.paths.k8s_cfg("kube-scheduler.kubeconfig"), "kube-scheduler", PkiPaths::scheduler,
                         PkiPaths::scheduler_key);
}

Result<RenderedFile> render_kube_proxy_kubeconfig(const RenderInput& in) {
  return cert_kubeconfig(in, in.paths.k8s_cfg("kube-proxy.kubeconfig"), "kube-proxy", PkiPaths::kube_proxy,
                         PkiPaths::kube_proxy_key);
}

Result<RenderedFile> render_bootstrap_kubeconfig(const RenderInput& in) {
  KubeconfigSpec spec;
  spec.cluster = in.inventory->cluster_name;
  spec.server = apiserver_url(*in.inventory);
  TRY_ASSIGN(spec.ca_pem, kit_file(in.kit, PkiPaths::k8s_ca));
  TRY_ASSIGN(const std::string token, kit_file(in.kit, PkiPaths::bootstrap_token));
  spec.token = std::string(bundlespec::trim_end(token));  // the token and maybe a newline
  spec.user = "kubelet-bootstrap";
  return RenderedFile{in.paths.k8s_cfg("bootstrap.kubeconfig"), render_kubeconfig(spec), 0600, true};
}

}  // namespace installer::render
