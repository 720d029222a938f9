#!/usr/bin/env bash
# Loopback OCI registries for the image tests, seeded offline (scripts/rig/README.md, "Registries").
#
#   registry.sh build RIG           build OCI images with umoci from busybox-static in RIG/oci:
#                                   busybox:1.0 (one layer), tools:1.0 (busybox's layer + one
#                                   more: the two share a layer), busybox:arm64 (same layers,
#                                   config says arm64) and busybox:multi (an OCI index of the
#                                   amd64 and arm64 manifests)
#   registry.sh start RIG           start docker-registry 2.8 four times on one storage folder,
#                                   each on its own 127.0.0.1 port: plain HTTP, TLS (test CA),
#                                   htpasswd basic auth, and `auth: token` with a small token
#                                   issuer (tokenissuer.py); seed it with skopeo (plain port):
#                                     test/busybox:1.0        OCI manifest
#                                     test/busybox:1.0-v2s2   Docker v2 schema 2 manifest
#                                     test/busybox:multi      OCI index (amd64 + arm64)
#                                     test/busybox:multi-v2s2 Docker manifest list
#                                     test/tools:1.0          OCI manifest sharing busybox's layer
#                                   then write RIG/env (ports, CA, credentials, digests) and print it
#   registry.sh stop RIG            stop every process started here, by PID
# Credentials: basic auth riguser/rigpass; the token issuer wants tokenuser/tokenpass.
set -euo pipefail

RIG_SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
die() { echo "registry.sh: $*" >&2; exit 1; }

alive() {  # alive PID: the process exists and is not a zombie
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

wait_http() {  # wait_http PID URL [curl args...]: up to 30 s (slow under load) for any HTTP answer while PID lives
  local pid="$1" url="$2"; shift 2
  for _ in $(seq 1 600); do
    alive "$pid" || return 1
    if curl -s -o /dev/null "$@" "$url"; then return 0; fi
    sleep 0.05
  done
  return 1
}

build() {
  local rig="$1"
  mkdir -p "$rig" && cd "$rig"
  rm -rf oci unpack unpack2
  umoci init --layout oci
  umoci new --image oci:busybox
  umoci unpack --rootless --image oci:busybox unpack >/dev/null
  mkdir -p unpack/rootfs/bin && cp /usr/bin/busybox unpack/rootfs/bin/busybox
  for a in sh ls cat echo sleep; do ln -s busybox "unpack/rootfs/bin/$a"; done
  umoci repack --image oci:busybox unpack
  umoci config --image oci:busybox --config.cmd /bin/sh --config.env PATH=/bin \
    --architecture amd64 --os linux
  umoci tag --image oci:busybox 1.0
  umoci config --image oci:1.0 --tag arm64 --architecture arm64 --os linux
  # tools:1.0 = busybox's layer + a layer with one more file.
  umoci unpack --rootless --image oci:1.0 unpack2 >/dev/null
  mkdir -p unpack2/rootfs/etc && echo "kubeferry test tools image" > unpack2/rootfs/etc/motd
  umoci repack --image oci:tools unpack2 >/dev/null
  umoci config --image oci:tools --tag tools-1.0 --config.cmd /bin/cat --config.cmd /etc/motd
  # The multi-arch index, added to the layout as "multi".
  "$PYTHON" - <<'EOF'
import hashlib, json, os
idx = json.load(open("oci/index.json"))
by = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
def desc(tag, arch):
    d = dict(by[tag]); d.pop("annotations", None)
    d["platform"] = {"architecture": arch, "os": "linux"}
    return d
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [desc("1.0", "amd64"), desc("arm64", "arm64")]}
raw = json.dumps(index, separators=(",", ":")).encode()
h = hashlib.sha256(raw).hexdigest()
open(f"oci/blobs/sha256/{h}", "wb").write(raw)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
    "digest": "sha256:" + h, "size": len(raw),
    "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open("oci/index.json", "w"))
EOF
  rm -rf unpack unpack2
}

free_port() {  # a port the kernel calls free now; launch() retries if another process takes it first
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() {  # write_config FILE PORT EXTRA_YAML
  cat >"$1" <<EOF
version: 0.1
log: {level: warn, fields: {service: registry}}
storage:
  filesystem: {rootdirectory: $RIG/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$2
  headers: {X-Content-Type-Options: [nosniff]}
$3
EOF
}

# launch NAME SCHEME [curl args...]: start server NAME (start_NAME PORT) on a free port and wait until it
# answers; a server that dies (its port was taken between free_port and its bind) is started again on
# another port, up to 5 times. Sets PORT.
launch() {
  local name="$1" scheme="$2" pid; shift 2
  for _ in 1 2 3 4 5; do
    PORT="$(free_port)"
    "start_$name" "$PORT" >"$RIG/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >>"$RIG/pids"
    local path=/v2/
    [[ "$name" == issuer ]] && path=/health
    if wait_http "$pid" "$scheme://127.0.0.1:$PORT$path" "$@"; then return 0; fi
    kill -KILL "$pid" 2>/dev/null || true
  done
  die "$name did not start on 127.0.0.1 (5 ports tried); its log: $(tail -5 "$RIG/$name.log")"
}

registry() {  # registry NAME PORT EXTRA_YAML: run docker-registry in the foreground
  write_config "$RIG/$1.yml" "$2" "$3"
  exec docker-registry serve "$RIG/$1.yml"
}
start_plain() { registry plain "$1" ""; }
start_tls() { registry tls "$1" "  tls: {certificate: $RIG/reg.pem, key: $RIG/reg-key.pem}"; }
start_basic() { registry basic "$1" "auth: {htpasswd: {realm: rig-realm, path: $RIG/htpasswd}}"; }
start_token() {
  registry token "$1" "auth:
  token: {realm: 'http://127.0.0.1:$ISSUER_PORT/token', service: rig-registry, issuer: rig-issuer,
          rootcertbundle: $RIG/issuer.pem}"
}
start_issuer() { exec "$PYTHON" "$RIG_SCRIPT_DIR/tokenissuer.py" "$1" "$RIG/issuer-key.pem" "$RIG/issuer.pem"; }

make_pki() {
  cd "$RIG"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=kubeferry test CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout reg-key.pem -out reg.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >reg.ext
  openssl x509 -req -in reg.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -extfile reg.ext -out reg.pem 2>/dev/null
  # The token issuer's signing key: a self-signed RSA cert the registry trusts.
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=kubeferry token issuer" \
    -keyout issuer-key.pem -out issuer.pem 2>/dev/null
  # shellcheck disable=SC2094  # the command htpasswd writes the file htpasswd; it reads nothing
  htpasswd -Bbn riguser rigpass >htpasswd 2>/dev/null
}

start() {
  RIG="$1"
  mkdir -p "$RIG" && : >"$RIG/pids"
  make_pki
  local plain tls basic token
  launch issuer http; ISSUER_PORT="$PORT"
  launch plain http; plain="$PORT"
  launch tls https --cacert "$RIG/ca.pem"; tls="$PORT"
  launch basic http; basic="$PORT"
  launch token http; token="$PORT"
  seed "$plain"
  {
    echo "REG_PLAIN=127.0.0.1:$plain"
    echo "REG_TLS=127.0.0.1:$tls"
    echo "REG_BASIC=127.0.0.1:$basic"
    echo "REG_TOKEN=127.0.0.1:$token"
    echo "REG_CA=$RIG/ca.pem"
    echo "REG_DATA=$RIG/data"
    for t in busybox:1.0 busybox:1.0-v2s2 busybox:multi busybox:multi-v2s2 tools:1.0; do
      local var
      var="DIGEST_$(echo "${t%%:*}_${t#*:}" | tr 'a-z.:-' 'A-Z___')"
      echo "$var=$(digest_of "$plain" "test/${t%%:*}" "${t#*:}")"
    done
  } >"$RIG/env"
  cat "$RIG/env"
}

# The registry's own Docker-Content-Digest for a tag.
digest_of() {
  curl -sfI -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$1/v2/$2/manifests/$3" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

seed() {
  local dst="docker://127.0.0.1:$1" o=(--dest-tls-verify=false -q)
  skopeo copy "${o[@]}" "oci:$RIG_OCI:1.0" "$dst/test/busybox:1.0"
  skopeo copy "${o[@]}" --format v2s2 "oci:$RIG_OCI:1.0" "$dst/test/busybox:1.0-v2s2"
  skopeo copy "${o[@]}" --all "oci:$RIG_OCI:multi" "$dst/test/busybox:multi"
  skopeo copy "${o[@]}" --all --format v2s2 "oci:$RIG_OCI:multi" "$dst/test/busybox:multi-v2s2"
  skopeo copy "${o[@]}" "oci:$RIG_OCI:tools-1.0" "$dst/test/tools:1.0"
}

stop() {
  local rig="$1" pid
  [[ -f "$rig/pids" ]] || return 0
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$rig/pids"
  while read -r pid; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done <"$rig/pids"
  rm -f "$rig/pids"
}

case "${1:-}" in
  build) [[ $# -eq 2 ]] || die "usage: registry.sh build RIG"; build "$2" ;;
  start)
    [[ $# -eq 2 ]] || die "usage: registry.sh start RIG"
    RIG_OCI="$2/oci"; [[ -d "$RIG_OCI" ]] || build "$2"
    start "$2" ;;
  stop) [[ $# -eq 2 ]] || die "usage: registry.sh stop RIG"; stop "$2" ;;
  *) die "usage: registry.sh build|start|stop RIG" ;;
esac
