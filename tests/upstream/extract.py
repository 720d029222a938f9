#!/usr/bin/env python3
"""Writes the upstream flag and config-key lists in tests/upstream/ from upstream's Go source.

Each list is one name per line (flags as --name, config keys as name), sorted, headed by
"# source:" lines naming repo@tag and the paths read. Flag names are the literal names of pflag
registrations (fs.XxxVar(&v, "name", ...), fs.Xxx("name", ...), fs.VarP(v, "name", "n", ...)),
deprecated ones included since they still parse; config keys are the json tags of the Go types.
The lists are data for tests/unit/installer/upstream_flags_test.cpp; this script only documents
and repeats how they were taken (run it where the checkouts below exist):

  tests/upstream/extract.py K8S_1_20_2_TREE MIRRORS_DIR

K8S_1_20_2_TREE is the upstream v1.20.2 source (the orig tarball of Debian's kubernetes
1.20.5+really1.20.2 package, sha256 b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc as
scripts/rig/k8s-build.sh checks; `apt-get source` it with that script's deb-src line); MIRRORS_DIR holds git
snapshots named owner+repo/repo (kubernetes/kubelet, kube-proxy, apiserver, component-base,
controller-manager, cloud-provider; etcd-io/etcd).
"""
import fnmatch
import os
import re
import subprocess
import sys

FLAG_CALL = re.compile(
    r'\.(?:[A-Z][A-Za-z0-9]*)?Var(?:P)?\(\s*[^,()]*(?:\([^()]*\))?[^,]*,\s*"([a-z][a-z0-9_-]*)"'
    r'|\.(?:String|Bool|Int|Int32|Int64|Uint|Uint32|Uint64|Float32|Float64|Duration|StringSlice|StringArray|IntSlice|IP|IPNet)P?\(\s*"([a-z][a-z0-9_-]*)"'
)
JSON_TAG = re.compile(r'json:"([A-Za-z0-9_.-]+)[,"]')


def flags_in(text):
    # Kubernetes' flag sets normalize '_' to '-' (klog registers log_dir; --log-dir parses).
    return {"--" + (a or b).replace("_", "-") for a, b in FLAG_CALL.findall(text)}


def keys_in(text):
    return {k for k in JSON_TAG.findall(text) if k != "-"}


def git_files(repo, ref, globs):
    names = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", ref], check=True,
                           capture_output=True, text=True).stdout.split()
    picked = [n for n in names if any(fnmatch.fnmatch(n, g) for g in globs) and not n.endswith("_test.go")]
    return {n: subprocess.run(["git", "-C", repo, "show", f"{ref}:{n}"], check=True, capture_output=True,
                              text=True).stdout for n in picked}


def tree_files(root, globs):
    out = {}
    for g in globs:
        folder, pattern = os.path.split(g)
        base = os.path.join(root, folder)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if fnmatch.fnmatch(name, pattern) and not name.endswith("_test.go"):
                out[os.path.join(folder, name)] = open(os.path.join(base, name), encoding="utf-8").read()
    return out


def write(path, header, names):
    with open(path, "w", encoding="utf-8") as f:
        for line in header:
            f.write("# " + line + "\n")
        for name in sorted(names):
            f.write(name + "\n")


def main():
    tree, mirrors = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    repo = lambda name: os.path.join(mirrors, name.replace("/", "+"), "repo")

    # Kubernetes 1.20: the whole upstream tree at v1.20.2 (no 1.20.11 tree is available here;
    # flags do not change within a minor's patches) for the flags, and the published staging
    # repositories at the exact kubernetes-1.20.11 tag for the config keys.
    klog = ["vendor/k8s.io/klog/v2/klog.go", "staging/src/k8s.io/component-base/logs/*.go",
            "staging/src/k8s.io/component-base/cli/globalflag/*.go",
            "staging/src/k8s.io/component-base/featuregate/feature_gate.go"]
    generic = ["staging/src/k8s.io/apiserver/pkg/server/options/*.go"]
    # controller-manager and scheduler serve with the delegating authn/authz of the generic server
    delegating = ["staging/src/k8s.io/apiserver/pkg/server/options/serving*.go",
                  "staging/src/k8s.io/apiserver/pkg/server/options/secure_serving*.go",
                  "staging/src/k8s.io/apiserver/pkg/server/options/deprecated_insecure_serving*.go",
                  "staging/src/k8s.io/apiserver/pkg/server/options/authentication.go",
                  "staging/src/k8s.io/apiserver/pkg/server/options/authorization.go",
                  "staging/src/k8s.io/component-base/config/options/*.go"]
    sets_120 = {
        "kube-apiserver": ["cmd/kube-apiserver/app/options/*.go", "pkg/kubeapiserver/options/*.go"] + generic + klog,
        "kube-controller-manager": ["cmd/kube-controller-manager/app/options/*.go",
                                    "cmd/controller-manager/app/options/*.go",
                                    "staging/src/k8s.io/cloud-provider/options/kubecloudshared.go"] + delegating + klog,
        "kube-scheduler": ["cmd/kube-scheduler/app/options/*.go"] + delegating + klog,
        "kubelet": ["cmd/kubelet/app/options/*.go", "pkg/kubelet/config/flags.go"] + klog,
        "kube-proxy": ["cmd/kube-proxy/app/server.go", "cmd/kube-proxy/app/server_others.go"] + klog,
    }
    for component, globs in sets_120.items():
        files = tree_files(tree, globs)
        names = set().union(*(flags_in(t) for t in files.values()))
        write(os.path.join(here, f"{component}-1.20.flags"),
              ["source: kubernetes/kubernetes@v1.20.2 (Debian's kubernetes_1.20.5+really1.20.2.orig.tar.gz)"] +
              [f"read: {p}" for p in sorted(files)], names)

    staging = {
        "kubelet-config": ("kubernetes/kubelet", ["config/v1beta1/types.go"]),
        "kube-proxy-config": ("kubernetes/kube-proxy", ["config/v1alpha1/types.go"]),
    }
    # KubeProxyConfiguration embeds component-base's ClientConnectionConfiguration (clientConnection).
    also = {"kube-proxy-config": ("kubernetes/component-base", ["config/v1alpha1/types.go"])}
    for tag, version in (("kubernetes-1.20.11", "1.20"), ("kubernetes-1.37.0-beta.0", "1.37")):
        for listname, (name, paths) in staging.items():
            files = git_files(repo(name), tag, paths)
            header = [f"source: {name}@{tag}"] + [f"read: {p}" for p in sorted(files)]
            keys = set().union(*(keys_in(t) for t in files.values()))
            if listname in also:
                other, other_paths = also[listname]
                more = git_files(repo(other), tag, other_paths)
                header += [f"source: {other}@{tag}"] + [f"read: {other} {p}" for p in sorted(more)]
                keys |= set().union(*(keys_in(t) for t in more.values()))
            write(os.path.join(here, f"{listname}-{version}.keys"), header, keys)

    # Kubernetes 1.37: only the staging repositories are available at a 1.37 tag here (the newest
    # each snapshot has); the flags that live in kubernetes/kubernetes itself are listed in
    # unverified-1.37.flags, which the test reports.
    parts_137 = {
        "apiserver": ("kubernetes/apiserver", "kubernetes-1.37.0-beta.0", ["pkg/server/options/*.go"]),
        "delegating": ("kubernetes/apiserver", "kubernetes-1.37.0-beta.0",
                       ["pkg/server/options/serving*.go", "pkg/server/options/secure_serving*.go",
                        "pkg/server/options/authentication.go",
                        "pkg/server/options/authorization.go"]),
        "component-base": ("kubernetes/component-base", "kubernetes-1.37.0-beta.0",
                           ["logs/api/v1/options.go", "cli/globalflag/*.go", "featuregate/feature_gate.go"]),
        "leader-election": ("kubernetes/component-base", "kubernetes-1.37.0-beta.0", ["config/options/*.go"]),
        "controller-manager": ("kubernetes/controller-manager", "kubernetes-1.37.0-beta.0", ["options/*.go"]),
        "cloud-provider": ("kubernetes/cloud-provider", "kubernetes-1.37.0-alpha.1", ["options/kubecloudshared.go"]),
    }
    uses_137 = {
        "kube-apiserver": ["apiserver", "component-base"],
        "kube-controller-manager": ["delegating", "component-base", "leader-election", "controller-manager",
                                    "cloud-provider"],
        "kube-scheduler": ["delegating", "component-base", "leader-election"],
        "kubelet": ["component-base"],
        "kube-proxy": ["component-base"],
    }
    found = {}
    for part, (name, tag, globs) in parts_137.items():
        files = git_files(repo(name), tag, globs)
        found[part] = ([f"source: {name}@{tag}"] + [f"read: {name} {p}" for p in sorted(files)],
                       set().union(*(flags_in(t) for t in files.values())))
    for component, parts in uses_137.items():
        header = [line for p in parts for line in found[p][0]]
        write(os.path.join(here, f"{component}-1.37.flags"), header, set().union(*(found[p][1] for p in parts)))

    # etcd at its exact release tags.
    for tag, globs in (("v3.4.9", ["etcdmain/config.go"]),
                       ("v3.6.14", ["server/etcdmain/config.go", "server/embed/config.go"])):
        files = git_files(repo("etcd-io/etcd"), tag, globs)
        write(os.path.join(here, f"etcd-{tag[1:4]}.flags"),
              [f"source: etcd-io/etcd@{tag}"] + [f"read: {p}" for p in sorted(files)],
              set().union(*(flags_in(t) for t in files.values())))


if __name__ == "__main__":
    main()
