// kube-flannel.yml (manifests/SOURCES.md, "flannel"): VXLAN over the pod CIDR, images pinned by digest.
// Before 1.25 it lives in kube-system with a PodSecurityPolicy (as flannel v0.14.0 shipped it);
// from 1.25 (no PSP API) in its own namespace kube-flannel, labelled privileged for Pod Security
// Admission, as current flannel releases do.
#include "render/components.hpp"

namespace installer::render {

namespace {

// flannel v0.14.0's policy without its fields that hold the default (privileged, hostPID, hostIPC
// and readOnlyRootFilesystem false; no default-added or required-dropped capabilities): the
// apiserver does not store those, so `kubectl apply` found the object changed on every run
// (tests/integration/checks.sh applies the add-ons twice).
std::string psp() {
  return "---\n"
         "apiVersion: policy/v1beta1\n"
         "kind: PodSecurityPolicy\n"
         "metadata:\n"
         "  name: psp.flannel.unprivileged\n"
         "spec:\n"
         "  volumes: [configMap, secret, emptyDir, hostPath]\n"
         "  allowedHostPaths:\n"
         "  - pathPrefix: /etc/cni/net.d\n"
         "  - pathPrefix: /etc/kube-flannel\n"
         "  - pathPrefix: /run/flannel\n"
         "  - pathPrefix: /opt/cni/bin\n"
         "  runAsUser: {rule: RunAsAny}\n"
         "  supplementalGroups: {rule: RunAsAny}\n"
         "  fsGroup: {rule: RunAsAny}\n"
         "  allowPrivilegeEscalation: false\n"
         "  defaultAllowPrivilegeEscalation: false\n"
         "  allowedCapabilities: [NET_ADMIN, NET_RAW]\n"
         "  hostNetwork: true\n"
         "  hostPorts:\n"
         "  - {min: 0, max: 65535}\n"
         "  seLinux: {rule: RunAsAny}\n";
}

std::string rbac(const std::string& ns, bool with_psp) {
  std::string out =
      "---\n"
      "kind: ClusterRole\n"
      "apiVersion: rbac.authorization.k8s.io/v1\n"
      "metadata:\n"
      "  name: flannel\n"
      "rules:\n";
  if (with_psp) {
    out +=
        "- apiGroups: [extensions, policy]\n"
        "  resources: [podsecuritypolicies]\n"
        "  verbs: [use]\n"
        "  resourceNames: [psp.flannel.unprivileged]\n";
  }
  out +=
      "- apiGroups: [\"\"]\n"
      "  resources: [pods]\n"
      "  verbs: [get]\n"
      "- apiGroups: [\"\"]\n"
      "  resources: [nodes]\n"
      "  verbs: [get, list, watch]\n"
      "- apiGroups: [\"\"]\n"
      "  resources: [nodes/status]\n"
      "  verbs: [patch]\n"
      "---\n"
      "kind: ClusterRoleBinding\n"
      "apiVersion: rbac.authorization.k8s.io/v1\n"
      "metadata:\n"
      "  name: flannel\n"
      "roleRef:\n"
      "  apiGroup: rbac.authorization.k8s.io\n"
      "  kind: ClusterRole\n"
      "  name: flannel\n"
      "subjects:\n"
      "- kind: ServiceAccount\n"
      "  name: flannel\n"
      "  namespace: " +
      ns +
      "\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: ServiceAccount\n"
      "metadata:\n"
      "  name: flannel\n"
      "  namespace: " +
      ns + "\n";
  return out;
}

// The CNI network configuration flannel's init container copies to the node
// (kube-flannel-cfg's cni-conf.json; the install writes the same bytes, see
// render_flannel_cni_conflist).
std::string cni_conf_json() {
  return "{\n"
         "  \"name\": \"cbr0\",\n"
         "  \"cniVersion\": \"0.3.1\",\n"
         "  \"plugins\": [\n"
         "    {\n"
         "      \"type\": \"flannel\",\n"
         "      \"delegate\": {\n"
         "        \"hairpinMode\": true,\n"
         "        \"isDefaultGateway\": true\n"
         "      }\n"
         "    },\n"
         "    {\n"
         "      \"type\": \"portmap\",\n"
         "      \"capabilities\": {\n"
         "        \"portMappings\": true\n"
         "      }\n"
         "    }\n"
         "  ]\n"
         "}\n";
}

// TEXT as the body of a YAML block scalar, each line indented by INDENT.
std::string indented(const std::string& text, const std::string& indent) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += indent + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string config_map(const std::string& ns, const std::string& pod_cidr) {
  return "---\n"
         "kind: ConfigMap\n"
         "apiVersion: v1\n"
         "metadata:\n"
         "  name: kube-flannel-cfg\n"
         "  namespace: " +
         ns +
         "\n"
         "  labels:\n"
         "    tier: node\n"
         "    app: flannel\n"
         "data:\n"
         "  cni-conf.json: |\n" +
         indented(cni_conf_json(), "    ") +
         "  net-conf.json: |\n"
         "    {\n"
         "      \"Network\": \"" +
         pod_cidr +
         "\",\n"
         "      \"Backend\": {\n"
         "        \"Type\": \"vxlan\"\n"
         "      }\n"
         "    }\n";
}

}  // namespace

Result<RenderedFile> render_flannel(const RenderInput& in) {
  TRY_ASSIGN(const std::string image, runtime_image(in, "flannel"));
  std::string cni_plugin_image;
  if (in.images.count("flannel-cni-plugin") != 0) {
    TRY_ASSIGN(cni_plugin_image, runtime_image(in, "flannel-cni-plugin"));
  }
  const bool with_psp = !in.versions.kubernetes.at_least(1, 25);
  const std::string ns = with_psp ? "kube-system" : "kube-flannel";
  std::string out = "# flannel (VXLAN, Network " + in.inventory->pod_cidr + "). Written by kubeferry-install.\n";
  if (!with_psp) {
    out +=
        "---\n"
        "kind: Namespace\n"
        "apiVersion: v1\n"
        "metadata:\n"
        "  name: kube-flannel\n"
        "  labels:\n"
        "    k8s-app: flannel\n"
        "    pod-security.kubernetes.io/enforce: privileged\n";
  } else {
    out += psp();
  }
  out += rbac(ns, with_psp);
  out += config_map(ns, in.inventory->pod_cidr);
  out +=
      "---\n"
      "apiVersion: apps/v1\n"
      "kind: DaemonSet\n"
      "metadata:\n"
      "  name: kube-flannel-ds\n"
      "  namespace: " +
      ns +
      "\n"
      "  labels:\n"
      "    tier: node\n"
      "    app: flannel\n"
      "spec:\n"
      "  selector:\n"
      "    matchLabels:\n"
      "      app: flannel\n"
      "  template:\n"
      "    metadata:\n"
      "      labels:\n"
      "        tier: node\n"
      "        app: flannel\n"
      "    spec:\n"
      "      affinity:\n"
      "        nodeAffinity:\n"
      "          requiredDuringSchedulingIgnoredDuringExecution:\n"
      "            nodeSelectorTerms:\n"
      "            - matchExpressions:\n"
      "              - key: kubernetes.io/os\n"
      "                operator: In\n"
      "                values: [linux]\n"
      "      hostNetwork: true\n"
      "      priorityClassName: system-node-critical\n"
      "      tolerations:\n"
      "      - operator: Exists\n"
      "        effect: NoSchedule\n"
      "      serviceAccountName: flannel\n"
      "      initContainers:\n";
  if (!cni_plugin_image.empty()) {
    out +=
        "      - name: install-cni-plugin\n"
        "        image: " +
        cni_plugin_image +
        "\n"
        "        imagePullPolicy: IfNotPresent\n"
        "        command: [cp]\n"
        "        args: [-f, /flannel, /opt/cni/bin/flannel]\n"
        "        volumeMounts:\n"
        "        - name: cni-plugin\n"
        "          mountPath: /opt/cni/bin\n";
  }
  out +=
      "      - name: install-cni\n"
      "        image: " +
      image +
      "\n"
      "        imagePullPolicy: IfNotPresent\n"
      "        command: [cp]\n"
      "        args: [-f, /etc/kube-flannel/cni-conf.json, /etc/cni/net.d/10-flannel.conflist]\n"
      "        volumeMounts:\n"
      "        - name: cni\n"
      "          mountPath: /etc/cni/net.d\n"
      "        - name: flannel-cfg\n"
      "          mountPath: /etc/kube-flannel/\n"
      "      containers:\n"
      "      - name: kube-flannel\n"
      "        image: " +
      image +
      "\n"
      "        imagePullPolicy: IfNotPresent\n"
      "        command: [/opt/bin/flanneld]\n"
      "        args: [--ip-masq, --kube-subnet-mgr]\n"
      "        resources:\n"
      "          requests: {cpu: 100m, memory: 50Mi}\n"
      "          limits: {cpu: 100m, memory: 50Mi}\n"
      "        securityContext:\n"
      "          privileged: false\n"
      "          capabilities:\n"
      "            add: [NET_ADMIN, NET_RAW]\n"
      "        env:\n"
      "        - name: POD_NAME\n"
      "          valueFrom:\n"
      "            fieldRef: {fieldPath: metadata.name}\n"
      "        - name: POD_NAMESPACE\n"
      "          valueFrom:\n"
      "            fieldRef: {fieldPath: metadata.namespace}\n"
      "        volumeMounts:\n"
      "        - name: run\n"
      "          mountPath: /run/flannel\n"
      "        - name: flannel-cfg\n"
      "          mountPath: /etc/kube-flannel/\n"
      "        - name: xtables-lock\n"
      "          mountPath: /run/xtables.lock\n"
      "      volumes:\n"
      "      - name: run\n"
      "        hostPath: {path: /run/flannel}\n"
      "      - name: cni-plugin\n"
      "        hostPath: {path: " +
      in.paths.cni_bin_dir +
      "}\n"
      "      - name: cni\n"
      "        hostPath: {path: " +
      in.paths.cni_conf_dir +
      "}\n"
      "      - name: flannel-cfg\n"
      "        configMap: {name: kube-flannel-cfg}\n"
      "      - name: xtables-lock\n"
      "        hostPath: {path: /run/xtables.lock, type: FileOrCreate}\n";
  return RenderedFile{in.paths.k8s_addon("kube-flannel.yml"), out, 0644, false};
}

RenderedFile render_flannel_cni_conflist(const RenderInput& in) {
  return {in.paths.cni_conf_dir + "/10-flannel.conflist", cni_conf_json(), 0644, false};
}

}  // namespace installer::render
