#!/usr/bin/env bash
# Loopback "upstream" mirror for download tests: built offline from Debian packages, served by
# a real nginx on 127.0.0.1, with a small fault-injecting proxy in front (faultproxy.py).
#
#   mirror.sh build MIRROR        build MIRROR/www (once; later calls reuse it) + MIRROR/checksums.tsv
#   mirror.sh start MIRROR RIG    start nginx (+ fault proxy) with config, logs and PIDs under RIG;
#                                 writes RIG/env (MIRROR_URL=..., PROXY_URL=...) and prints it
#   mirror.sh stop RIG            stop both by PID (nothing else is touched)
#
# MIRROR/www is laid out as <upstream host>/<upstream path>, so `--mirror https://=$MIRROR_URL/`
# serves a whole manifest. Files:
#   github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz
#       etcd-v3.4.23-linux-amd64/{etcd,etcdctl}  (Debian's /usr/bin/etcd, /usr/bin/etcdctl)
#   github.com/containernetworking/plugins/releases/download/v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz
#       ./<plugin> for every file of Debian's /usr/lib/cni, and ./flannel: a STAND-IN shell
#       script for the flannel plugin (upstream's v0.8.6 tarball carried one; Debian's has none)
#   pkg.cfssl.org/R1.2/{cfssl,cfssljson,cfssl-certinfo}_linux-amd64  (Debian's golang-cfssl)
#   The container runtime, Debian's binaries in upstream's release layouts (the bundle installs
#   them; the node tree has no runtime of its own):
#   github.com/containerd/containerd/releases/download/v1.6.20/containerd-1.6.20-linux-amd64.tar.gz
#       bin/{containerd,containerd-shim,containerd-shim-runc-v1,containerd-shim-runc-v2,ctr}
#       (Debian's containerd 1.6.20; upstream's tarball also has containerd-stress, Debian's not)
#   github.com/opencontainers/runc/releases/download/v1.1.5/runc.amd64  (Debian's /usr/sbin/runc)
#   download.docker.com/linux/static/stable/x86_64/docker-20.10.24.tgz
#       docker/{docker,dockerd,docker-proxy,docker-init,containerd,containerd-shim,
#       containerd-shim-runc-v2,ctr,runc}: Debian's docker.io 20.10.24 (/usr/bin/docker is its
#       client, not the /usr/local/bin/docker this machine has first in PATH), its tini-static as
#       docker-init, and the same containerd and runc as above, as docker's static tgz bundles them.
#   No crictl: Debian 12 has no cri-tools package, so the e2e bundles carry none.
#   dl.k8s.io/v1.20.2/kubernetes-server-linux-amd64.tar.gz
#       kubernetes/server/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,
#       kube-proxy,kubectl}: REAL Kubernetes v1.20.2, the binaries of $KF_K8S_ARCHIVE (built from
#       Debian 12's source package by scripts/rig/k8s-build.sh, as shared/k8s's are but with
#       reflect2 1.0.2; the SHA256SUMS beside the archive is checked first). Without an archive,
#       STAND-IN shell scripts instead (see standin_script below), and MIRROR/k8s-v1.20.2.kind
#       says "standin" (else "real <sha256 of the archive> <which build>"): every test that runs
#       Kubernetes reads that file and says which it ran.
#   dl.k8s.io/v1.20.11/kubernetes-server-linux-amd64.tar.gz
#       the same six names as STAND-IN scripts, always: a small tarball for the builder's
#       transport tests (download, resume, cache, mirrors), which never run what they fetch.
#   test/blob.bin (4 MiB, deterministic bytes), test/small.txt
# Every file gets FILE.sha256 and FILE.sha512 (sha256sum format) beside it, and one line
# "PATH SIZE SHA256 SHA512" in MIRROR/checksums.tsv. Tarballs are reproducible (sorted names,
# mtime SOURCE_DATE_EPOCH, uid/gid 0, gzip -n), so the checksums are stable for a given Debian
# package set.
#
# nginx locations (scripts/rig/README.md): / serves www; /slow/ the same files throttled to
# RIG_SLOW_RATE (default 64k) per connection; /r1/X -> 302 /r2/X -> 301 /X (a redirect chain).
# Access log lines: "METHOD URI STATUS BODY_BYTES \"RANGE\"" in RIG/logs/access.log.
# Fault proxy (PROXY_URL): /fault/SPEC/PATH misbehaves for the first requests of that exact URL,
# then forwards /PATH to nginx with the Range header; see faultproxy.py.
set -euo pipefail

RIG_SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
: "${SOURCE_DATE_EPOCH:=1600000000}"
# The real Kubernetes archive: KF_K8S_ARCHIVE if set; else the reflect2-fixed rebuild
# (scripts/rig/k8s-build.sh, cached; it builds on first use); else, where it cannot be built,
# shared/k8s's archive as it is (it crashes under load, see k8s-build.sh; said in the kind file).
k_shared_k8s="$(cd "$RIG_SCRIPT_DIR/../.." && pwd)/../shared/k8s/kubernetes-v1.20.2-debian-linux-amd64.tar.zst"
: "${RIG_SLOW_RATE:=64k}"
# Debian's interpreter when present: a pyenv shim in PATH costs ~0.6 s per start.
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

die() { echo "mirror.sh: $*" >&2; exit 1; }

resolve_k8s() {  # sets KF_K8S_ARCHIVE, k_k8s_note, k_real_sha and k_build_stamp (only `build` needs them)
  k_k8s_note=""
  if [[ -z "${KF_K8S_ARCHIVE:-}" ]]; then
    if KF_K8S_ARCHIVE="$(bash "$RIG_SCRIPT_DIR/k8s-build.sh")"; then
      k_k8s_note="Debian source, reflect2 1.0.2 (scripts/rig/k8s-build.sh)"
    else
      KF_K8S_ARCHIVE="$k_shared_k8s"
      k_k8s_note="shared/k8s as shipped: reflect2 1.0.1 under Go 1.19, crashes under load"
      echo "mirror.sh: scripts/rig/k8s-build.sh failed; serving $KF_K8S_ARCHIVE, whose binaries crash under load" >&2
    fi
  fi
  k_real_sha=""
  [[ -f "$KF_K8S_ARCHIVE" ]] && k_real_sha="$(sha256sum <"$KF_K8S_ARCHIVE" | cut -d' ' -f1)"
  k_build_stamp="kubeferry-mirror-v6 k8s v1.20.2 ${k_real_sha:-standin}"
}

# Reproducible tar.gz of folder $2 (entries named as listed in $3...) into $1; gzip level
# REPRO_GZIP_LEVEL (default 6).
repro_tar() {
  local out="$1" dir="$2"
  shift 2
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
      --format=gnu --mode=u+rwX,go+rX,go-w -C "$dir" -cf - "$@" | gzip -n "-${REPRO_GZIP_LEVEL:-6}" >"$out.tmp"
  mv "$out.tmp" "$out"
}

standin_script() {
  local name="$1" version="$2"
  cat <<EOF
#!/bin/sh
# kubeferry test STAND-IN for $name $version. This is NOT the real Kubernetes binary:
# it prints that it is a stand-in, records its arguments (one per line) to
# \$KUBEFERRY_STANDIN_ARGV, else \$KUBEFERRY_STANDIN_DIR/$name.argv, else
# /var/log/kubeferry-standin/$name.argv, and stays up until SIGTERM/SIGINT
# (kubectl, a client, exits 0 after recording).
name=$name
case "\${1:-}" in
  --version|version) echo "Kubernetes $version (kubeferry stand-in for \$name)"; exit 0 ;;
esac
echo "\$name: kubeferry stand-in for tests, not the real binary" >&2
f="\${KUBEFERRY_STANDIN_ARGV:-\${KUBEFERRY_STANDIN_DIR:-/var/log/kubeferry-standin}/\$name.argv}"
mkdir -p "\$(dirname "\$f")" 2>/dev/null || true
: >"\$f" 2>/dev/null && for a in "\$@"; do printf '%s\n' "\$a" >>"\$f"; done
[ "\$name" = kubectl ] && exit 0
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait \$!; done
EOF
}

write_sums() {
  local www="$1" tsv="$2" rel
  : >"$tsv.tmp"
  while IFS= read -r rel; do
    local f="$www/$rel" base s256 s512 size
    base="$(basename "$rel")"
    s256="$(sha256sum <"$f" | cut -d' ' -f1)"
    s512="$(sha512sum <"$f" | cut -d' ' -f1)"
    size="$(stat -c %s "$f")"
    printf '%s  %s\n' "$s256" "$base" >"$f.sha256"
    printf '%s  %s\n' "$s512" "$base" >"$f.sha512"
    printf '%s %s %s %s\n' "$rel" "$size" "$s256" "$s512" >>"$tsv.tmp"
  done < <(cd "$www" && find . -type f ! -name '*.sha256' ! -name '*.sha512' | sed 's|^\./||' | LC_ALL=C sort)
  mv "$tsv.tmp" "$tsv"
}

flannel_cni_standin() {  # the `flannel` CNI plugin upstream's CNI v0.8.6 carried; not in Debian's
  cat <<'EOF'
#!/bin/sh
# kubeferry test STAND-IN for the flannel CNI plugin (scripts/rig/mirror.sh), not flannel's
# binary: like it, it reads /run/flannel/subnet.env (written by flanneld) and delegates to the
# bridge plugin with host-local addresses from the node's subnet, a route to the whole pod
# network, and masquerading when flanneld does none (FLANNEL_IPMASQ=false). It also accepts the
# pod network in the FORWARD chain, which flanneld itself does (docker sets FORWARD's policy to
# DROP); the stand-in flanneld's image has no iptables, this runs on the host, which has.
set -e
case "$CNI_COMMAND" in
  VERSION) echo '{"cniVersion":"0.4.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0"]}'; exit 0 ;;
esac
cat >/dev/null  # the network configuration: its delegate options are the defaults below
env=/run/flannel/subnet.env
if [ ! -f "$env" ]; then
  [ "$CNI_COMMAND" = DEL ] && exit 0
  echo '{"cniVersion":"0.3.1","code":11,"msg":"/run/flannel/subnet.env is missing: is flanneld running?"}'
  exit 1
fi
. "$env"
masq=true
[ "$FLANNEL_IPMASQ" = true ] && masq=false
subnet="${FLANNEL_SUBNET%.*/*}.0/${FLANNEL_SUBNET#*/}"
if [ "$CNI_COMMAND" = ADD ]; then
  for dir in -s -d; do
    iptables -w -C FORWARD "$dir" "$FLANNEL_NETWORK" -j ACCEPT 2>/dev/null ||
      iptables -w -I FORWARD "$dir" "$FLANNEL_NETWORK" -j ACCEPT >&2
  done
fi
dir="$(dirname "$0")"
printf '{"cniVersion":"0.3.1","name":"cbr0","type":"bridge","bridge":"cni0","isGateway":true,"isDefaultGateway":true,"hairpinMode":true,"ipMasq":%s,"mtu":%s,"ipam":{"type":"host-local","subnet":"%s","routes":[{"dst":"%s"}]}}' \
  "$masq" "${FLANNEL_MTU:-1500}" "$subnet" "$FLANNEL_NETWORK" | exec "$dir/bridge"
EOF
}

standin_k8s() {  # standin_k8s WWW STAGE VERSION
  local www="$1" stage="$2" version="$3" b
  mkdir -p "$www/dl.k8s.io/$version" "$stage/kubernetes/server/bin"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    standin_script "$b" "$version" >"$stage/kubernetes/server/bin/$b"
    chmod 0755 "$stage/kubernetes/server/bin/$b"
  done
  repro_tar "$www/dl.k8s.io/$version/kubernetes-server-linux-amd64.tar.gz" "$stage" kubernetes
}

real_k8s() {  # real_k8s WWW STAGE: upstream's server tarball layout around the shared binaries
  local www="$1" stage="$2" sums
  sums="$(dirname "$KF_K8S_ARCHIVE")/SHA256SUMS"
  [[ -f "$sums" ]] || die "$sums is missing (it vouches for $KF_K8S_ARCHIVE)"
  grep -q "^$k_real_sha  $(basename "$KF_K8S_ARCHIVE")\$" "$sums" ||
    die "$KF_K8S_ARCHIVE: sha256 $k_real_sha is not the one $sums names"
  mkdir -p "$stage" "$www/dl.k8s.io/v1.20.2"
  zstd -dcq "$KF_K8S_ARCHIVE" | tar -x -C "$stage"
  (cd "$stage" && grep ' kubernetes/server/bin/' "$sums" | sha256sum -c --quiet -) ||
    die "the binaries in $KF_K8S_ARCHIVE do not match $sums"
  "$stage/kubernetes/server/bin/kubelet" --version | grep -qx 'Kubernetes v1.20.2' ||
    die "$KF_K8S_ARCHIVE: kubelet --version is not Kubernetes v1.20.2"
  # Upstream's tarball is gzip; level 1 keeps the one-time build near 10 s for 430 MB.
  REPRO_GZIP_LEVEL=1 repro_tar "$www/dl.k8s.io/v1.20.2/kubernetes-server-linux-amd64.tar.gz" "$stage" kubernetes
}

build_tree() {
  local mirror="$1" www="$1/www.tmp" stage="$1/stage"
  for f in /usr/bin/etcd /usr/bin/etcdctl /usr/bin/cfssl /usr/bin/cfssljson /usr/bin/cfssl-certinfo \
      /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc /usr/sbin/dockerd /usr/bin/docker-init; do
    [[ -x "$f" ]] || die "$f is missing (install etcd-server etcd-client golang-cfssl containerd runc docker.io)"
  done
  /usr/bin/containerd --version | grep -q ' 1\.6\.20' || die "/usr/bin/containerd is not 1.6.20: $(/usr/bin/containerd --version)"
  /usr/sbin/dockerd --version | grep -q ' 20\.10\.24' || die "/usr/sbin/dockerd is not 20.10.24: $(/usr/sbin/dockerd --version)"
  /usr/sbin/runc --version | grep -q '^runc version 1\.1\.5' || die "/usr/sbin/runc is not 1.1.5: $(/usr/sbin/runc --version | head -1)"
  [[ -d /usr/lib/cni ]] || die "/usr/lib/cni is missing (install containernetworking-plugins)"
  rm -rf "$www" "$stage"
  mkdir -p "$www" "$stage"

  # etcd, laid out like upstream's release tarball.
  local etcd_dir="$www/github.com/etcd-io/etcd/releases/download/v3.4.23"
  mkdir -p "$etcd_dir" "$stage/etcd/etcd-v3.4.23-linux-amd64"
  install -m 0755 /usr/bin/etcd /usr/bin/etcdctl "$stage/etcd/etcd-v3.4.23-linux-amd64/"
  repro_tar "$etcd_dir/etcd-v3.4.23-linux-amd64.tar.gz" "$stage/etcd" etcd-v3.4.23-linux-amd64

  # CNI plugins: upstream's tgz holds ./<plugin> at the top.
  local cni_dir="$www/github.com/containernetworking/plugins/releases/download/v1.1.1"
  mkdir -p "$cni_dir" "$stage/cni"
  install -m 0755 /usr/lib/cni/* "$stage/cni/"
  flannel_cni_standin >"$stage/cni/flannel"
  chmod 0755 "$stage/cni/flannel"
  repro_tar "$cni_dir/cni-plugins-linux-amd64-v1.1.1.tgz" "$stage/cni" .

  # The container runtime: containerd's release tarball holds bin/<name>; runc is one bare
  # file; docker's static tgz holds docker/<name> (containerd and runc included).
  local ctr_dir="$www/github.com/containerd/containerd/releases/download/v1.6.20"
  mkdir -p "$ctr_dir" "$stage/containerd/bin"
  install -m 0755 /usr/bin/containerd /usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v1 \
    /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr "$stage/containerd/bin/"
  repro_tar "$ctr_dir/containerd-1.6.20-linux-amd64.tar.gz" "$stage/containerd" bin
  mkdir -p "$www/github.com/opencontainers/runc/releases/download/v1.1.5"
  install -m 0755 /usr/sbin/runc "$www/github.com/opencontainers/runc/releases/download/v1.1.5/runc.amd64"
  local docker_dir="$www/download.docker.com/linux/static/stable/x86_64"
  mkdir -p "$docker_dir" "$stage/docker/docker"
  install -m 0755 /usr/bin/docker /usr/sbin/dockerd /usr/sbin/docker-proxy /usr/bin/containerd \
    /usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr /usr/sbin/runc "$stage/docker/docker/"
  install -m 0755 "$(readlink -f /usr/bin/docker-init)" "$stage/docker/docker/docker-init"
  repro_tar "$docker_dir/docker-20.10.24.tgz" "$stage/docker" docker

  # cfssl R1.2: bare binaries.
  mkdir -p "$www/pkg.cfssl.org/R1.2"
  for b in cfssl cfssljson cfssl-certinfo; do
    install -m 0755 "/usr/bin/$b" "$www/pkg.cfssl.org/R1.2/${b}_linux-amd64"
  done

  # Kubernetes server tarballs: v1.20.11 always stand-ins (transport tests), v1.20.2 real.
  standin_k8s "$www" "$stage/k8s-standin" v1.20.11
  if [[ -n "$k_real_sha" ]]; then
    real_k8s "$www" "$stage/k8s-real"
    echo "real $k_real_sha ${k_k8s_note:-$KF_K8S_ARCHIVE}" >"$mirror/k8s-v1.20.2.kind.tmp"
  else
    echo "mirror.sh: $KF_K8S_ARCHIVE is absent: dl.k8s.io/v1.20.2 serves STAND-INS, not Kubernetes" >&2
    standin_k8s "$www" "$stage/k8s-v1.20.2" v1.20.2
    echo "standin" >"$mirror/k8s-v1.20.2.kind.tmp"
  fi

  # Test payloads: deterministic pseudo-random bytes (AES-CTR keystream of zeros).
  mkdir -p "$www/test"
  head -c 4194304 /dev/zero |
    openssl enc -aes-128-ctr -nosalt -K 6b756265666572727920746573742121 -iv 00000000000000000000000000000000 >"$www/test/blob.bin"
  printf 'kubeferry loopback mirror\n' >"$www/test/small.txt"

  write_sums "$www" "$mirror/checksums.tsv"
  rm -rf "$stage" "$mirror/www"
  mv "$www" "$mirror/www"
  mv "$mirror/k8s-v1.20.2.kind.tmp" "$mirror/k8s-v1.20.2.kind"
  echo "$k_build_stamp" >"$mirror/.built"
}

cmd_build() {
  local mirror="${1:?usage: mirror.sh build MIRROR}"
  mkdir -p "$mirror"
  mirror="$(cd "$mirror" && pwd)"
  # Several test processes may ask at once: one builds, the others wait and reuse.
  exec 9>"$mirror/.lock"
  flock 9
  resolve_k8s
  if [[ -f "$mirror/.built" && "$(cat "$mirror/.built")" == "$k_build_stamp" && -d "$mirror/www" ]]; then
    return 0
  fi
  build_tree "$mirror"
}

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() {  # alive PID: the process exists and is not a zombie
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

wait_http() {  # wait_http PID URL: up to 5 s for any HTTP answer while PID lives
  local i
  for ((i = 0; i < 100; i++)); do
    alive "$1" || return 1
    curl -s -o /dev/null --noproxy '*' "$2" && return 0
    sleep 0.05
  done
  return 1
}

write_nginx_conf() {
  local rig="$1" www="$2" port="$3" user_line=""
  if [[ "$(id -u)" == 0 ]]; then user_line="user $(id -un) $(id -gn);"; fi
  cat >"$rig/nginx.conf" <<EOF
$user_line
worker_processes 1; daemon off; pid $rig/nginx.pid; error_log $rig/logs/error.log warn;
events { worker_connections 256; }
http {
  log_format rig '\$request_method \$uri \$status \$body_bytes_sent "\$http_range"';
  access_log $rig/logs/access.log rig;
  client_body_temp_path $rig/tmp/body; proxy_temp_path $rig/tmp/proxy;
  fastcgi_temp_path $rig/tmp/fastcgi; uwsgi_temp_path $rig/tmp/uwsgi; scgi_temp_path $rig/tmp/scgi;
  default_type application/octet-stream;
  types { text/plain txt sha256 sha512; }
  server {
    listen 127.0.0.1:$port; root $www; autoindex on;
    location /slow/ { alias $www/; limit_rate $RIG_SLOW_RATE; }
    location /r1/ { rewrite ^/r1/(.*)\$ /r2/\$1 redirect; }
    location /r2/ { rewrite ^/r2/(.*)\$ /\$1 permanent; }
  }
}
EOF
}

cmd_start() {
  local mirror="${1:?usage: mirror.sh start MIRROR RIG}" rig="${2:?usage: mirror.sh start MIRROR RIG}"
  command -v nginx >/dev/null || die "nginx is missing (apt-get install nginx-light)"
  [[ -d "$mirror/www" ]] || die "$mirror/www is missing; run: mirror.sh build $mirror"
  mkdir -p "$rig/logs" "$rig/tmp"
  rig="$(cd "$rig" && pwd)"
  local www port
  www="$(cd "$mirror/www" && pwd)"
  for _ in 1 2 3 4 5; do
    port="$(free_port)"
    write_nginx_conf "$rig" "$www" "$port"
    nginx -c "$rig/nginx.conf" -p "$rig/" >"$rig/logs/nginx.out" 2>&1 &
    echo $! >"$rig/nginx.master"
    if wait_http "$(cat "$rig/nginx.master")" "http://127.0.0.1:$port/test/small.txt"; then break; fi
    kill "$(cat "$rig/nginx.master")" 2>/dev/null || true
    port=""
  done
  [[ -n "$port" ]] || die "nginx did not start: $(tail -3 "$rig/logs/error.log" "$rig/logs/nginx.out" 2>/dev/null)"
  local pport
  for _ in 1 2 3 4 5; do
    pport="$(free_port)"
    "$PYTHON" "$RIG_SCRIPT_DIR/faultproxy.py" --port "$pport" --upstream "127.0.0.1:$port" \
        >"$rig/logs/proxy.log" 2>&1 &
    echo $! >"$rig/proxy.pid"
    if wait_http "$(cat "$rig/proxy.pid")" "http://127.0.0.1:$pport/test/small.txt"; then break; fi
    kill "$(cat "$rig/proxy.pid")" 2>/dev/null || true
    pport=""
  done
  [[ -n "$pport" ]] || die "fault proxy did not start: $(tail -3 "$rig/logs/proxy.log")"
  # The readiness probes above are not part of any test: start each test with empty logs.
  : >"$rig/logs/access.log"
  printf 'MIRROR_URL=http://127.0.0.1:%s\nPROXY_URL=http://127.0.0.1:%s\nACCESS_LOG=%s\n' \
    "$port" "$pport" "$rig/logs/access.log" >"$rig/env"
  cat "$rig/env"
}

stop_pid() {  # stop_pid PIDFILE SIGNAL: signal the process, wait up to 5 s for it to go
  local file="$1" sig="$2" pid i
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  kill "-$sig" "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.02
  done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
}

cmd_stop() {
  local rig="${1:?usage: mirror.sh stop RIG}"
  stop_pid "$rig/proxy.pid" TERM
  stop_pid "$rig/nginx.master" QUIT
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: mirror.sh build MIRROR | start MIRROR RIG | stop RIG" >&2; exit 2 ;;
esac
