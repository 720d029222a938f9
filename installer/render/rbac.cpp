// RBAC the bootstrap flow needs (manifests/SOURCES.md, "RBAC"): kubelet-bootstrap may create CSRs, node
// client CSRs are approved automatically (replacing the seed's manual `kubectl certificate
// approve`), nodes may renew their own client certificates, the apiserver (CN=kubernetes)
// may reach the kubelet API for logs and exec, and a node may delete its own Node object.
#include "render/components.hpp"

namespace installer::render {

namespace {

std::string binding(const std::string& name, const std::string& role, const std::string& kind,
                    const std::string& subject) {
  return "apiVersion: rbac.authorization.k8s.io/v1\n"
         "kind: ClusterRoleBinding\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "  labels:\n"
         "    app.kubernetes.io/managed-by: kubeferry\n"
         "roleRef:\n"
         "  apiGroup: rbac.authorization.k8s.io\n"
         "  kind: ClusterRole\n"
         "  name: " +
         role +
         "\n"
         "subjects:\n"
         "- apiGroup: rbac.authorization.k8s.io\n"
         "  kind: " +
         kind +
         "\n"
         "  name: " +
         subject + "\n";
}

}  // namespace

RenderedFile render_rbac(const RenderInput& in) {
  std::string out = "# RBAC for TLS bootstrapping and the apiserver's kubelet access. Written by kubeferry-install.\n";
  out += "---\n" + binding("kubelet-bootstrap", "system:node-bootstrapper", "User", "kubelet-bootstrap");
  out += "---\n" + binding("node-client-auto-approve-csr",
                           "system:certificates.k8s.io:certificatesigningrequests:nodeclient", "User",
                           "kubelet-bootstrap");
  out += "---\n" + binding("node-client-auto-renew-crt",
                           "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "Group",
                           "system:nodes");
  out +=
      "---\n"
      "apiVersion: rbac.authorization.k8s.io/v1\n"
      "kind: ClusterRole\n"
      "metadata:\n"
      "  name: system:kube-apiserver-to-kubelet\n"
      "  annotations:\n"
      "    rbac.authorization.kubernetes.io/autoupdate: \"true\"\n"
      "  labels:\n"
      "    kubernetes.io/bootstrapping: rbac-defaults\n"
      "    app.kubernetes.io/managed-by: kubeferry\n"
      "rules:\n"
      "- apiGroups: [\"\"]\n"
      "  resources: [nodes/proxy, nodes/stats, nodes/log, nodes/spec, nodes/metrics, pods/log]\n"
      "  verbs: [\"*\"]\n";
  out += "---\n" + binding("system:kube-apiserver", "system:kube-apiserver-to-kubelet", "User", "kubernetes");
  // A node's `uninstall` takes its own Node object out of the cluster with the kubelet's
  // credentials. The Node authorizer grants nodes no delete; this role does, and the
  // NodeRestriction admission plugin (always enabled by kubeferry's apiserver flags) refuses
  // a node any Node but its own.
  out +=
      "---\n"
      "apiVersion: rbac.authorization.k8s.io/v1\n"
      "kind: ClusterRole\n"
      "metadata:\n"
      "  name: kubeferry:node-self-removal\n"
      "  labels:\n"
      "    app.kubernetes.io/managed-by: kubeferry\n"
      "rules:\n"
      "- apiGroups: [\"\"]\n"
      "  resources: [nodes]\n"
      "  verbs: [delete]\n";
  out += "---\n" + binding("kubeferry:node-self-removal", "kubeferry:node-self-removal", "Group", "system:nodes");
  return {in.paths.k8s_addon("rbac.yaml"), out, 0644, false};
}

}  // namespace installer::render
