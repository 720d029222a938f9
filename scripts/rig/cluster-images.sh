#!/usr/bin/env bash
# The images a real cluster of the e2e runs, built offline into an OCI layout and pushed into a
# registry of the registry rig (scripts/rig/registry.sh). Nothing here reaches the internet.
#
#   cluster-images.sh build OCI        add the tags below to the OCI layout OCI (umoci)
#   cluster-images.sh push OCI PORT    copy them into the plain registry on 127.0.0.1:PORT and
#                                      print KEY=VALUE lines (references with digests, and which
#                                      image is real and which a stand-in)
#
# pause-3.4.1      REAL: Kubernetes' own pause (build/pause/linux/pause.c at v1.20.2), compiled
#                  here with upstream's flags (gcc -Os -Wall -Werror -static) from Debian 12's
#                  source package `kubernetes` (its orig tarball's sha256 is checked), the only
#                  file of an image FROM scratch, ENTRYPOINT /pause, as upstream builds it. The
#                  source and binary are cached in $KF_E2E_CACHE/pause. Without the Debian
#                  source mirror: a STAND-IN (busybox sh that waits for SIGTERM), said so in
#                  PAUSE_KIND.
# flannel-standin  STAND-IN for quay.io/coreos/flannel (no flannel in Debian): busybox with the
#                  applets the manifest's init container uses (cp), and /opt/bin/flanneld, a
#                  shell script doing what flanneld does in host-gw mode for this rig: it reads
#                  the nodes from the API server (service account token), writes
#                  /run/flannel/subnet.env for its node's podCIDR and routes every other node's
#                  podCIDR via that node's InternalIP. No VXLAN, no masquerading of its own (the
#                  CNI plugin's bridge delegate masquerades, as flannel's does when flanneld runs
#                  without --ip-masq; the stand-in CNI plugin accepts the pod network in
#                  FORWARD, as flanneld does, since this image has no iptables).
# coredns-standin  STAND-IN for coredns (no coredns in Debian): /coredns answers the manifest's
#                  liveness (:8080/health) and readiness (:8181/ready) probes with busybox
#                  httpd, and serves NO DNS.
set -euo pipefail

: "${KF_E2E_CACHE:=/var/cache/kubeferry-e2e}"
k_pause_src="kubernetes=1.20.5+really1.20.2-1.1+deb12u1"
k_pause_orig="kubernetes_1.20.5+really1.20.2.orig.tar.gz"
k_pause_orig_sha="b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc"
die() { echo "cluster-images.sh: $*" >&2; exit 1; }

# pause from Debian's source package of Kubernetes v1.20.2 (cached); prints the binary's path,
# or nothing when the source cannot be had.
real_pause() {
  local w="$KF_E2E_CACHE/pause" uri
  mkdir -p "$w"
  exec 7>"$w/.lock"
  flock 7
  if [[ -x "$w/pause" && "$(cat "$w/stamp" 2>/dev/null)" == "$k_pause_orig_sha" ]]; then
    echo "$w/pause"
    return 0
  fi
  uri="$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  [[ -n "$uri" ]] || uri="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  [[ -n "$uri" ]] || return 0
  mkdir -p "$w/lists/partial" "$w/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm main" >"$w/src.list"
  local o=(-o Dir::Etc::sourcelist="$w/src.list" -o Dir::Etc::sourceparts=/nonexistent
           -o Dir::State::Lists="$w/lists" -o Dir::Cache="$w/cache")
  (
    cd "$w"
    apt-get "${o[@]}" update -q >apt.log 2>&1 &&
      apt-get "${o[@]}" source --download-only "$k_pause_src" >>apt.log 2>&1 &&
      echo "$k_pause_orig_sha  $k_pause_orig" | sha256sum -c --quiet - &&
      tar -xzf "$k_pause_orig" --strip-components=4 kubernetes-1.20.2/build/pause/linux/pause.c &&
      gcc -Os -Wall -Werror -static -DVERSION=v3.4.1 -o pause.tmp pause.c &&
      mv pause.tmp pause && echo "$k_pause_orig_sha" >stamp && rm -f "$k_pause_orig" ./*.debian.tar.xz
  ) >&2 || return 0
  echo "$w/pause"
}

busybox_rootfs() {  # busybox_rootfs DIR APPLET...: /bin/busybox and the named applets
  local dir="$1" a
  shift
  mkdir -p "$dir/bin"
  cp /usr/bin/busybox "$dir/bin/busybox"
  for a in "$@"; do ln -sf busybox "$dir/bin/$a"; done
}

flanneld_script() {
  cat <<'EOF'
#!/bin/sh
# kubeferry test STAND-IN for flanneld (scripts/rig/cluster-images.sh): host-gw for the rig.
echo "flanneld: kubeferry test stand-in, not flannel (host-gw routes from the API server's nodes)"
sa=/var/run/secrets/kubernetes.io/serviceaccount
api="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
me="$(hostname)"
network="$(sed -n 's/.*"Network": *"\([^"]*\)".*/\1/p' /etc/kube-flannel/net-conf.json)"
trap 'exit 0' TERM INT
while :; do
  # One line per node: NAME PODCIDR INTERNAL_IP (the API server's pretty JSON, one field a line).
  if wget -q -O /tmp/nodes.json --header "Authorization: Bearer $(cat $sa/token)" "$api/api/v1/nodes?pretty=true" 2>/tmp/wget.err; then
    awk '/"metadata": \{/ {m = 1} m && /"name":/ {gsub(/[",]/, "", $2); name = $2; m = 0}
         /"podCIDR":/ {gsub(/[",]/, "", $2); cidr = $2}
         /"type": "InternalIP"/ {ip = 1; next}
         ip && /"address":/ {gsub(/[",]/, "", $2); addr = $2; ip = 0; if (cidr != "") print name, cidr, addr; cidr = ""}' \
      /tmp/nodes.json >/tmp/nodes.txt
    while read -r name cidr addr; do
      if [ "$name" = "$me" ]; then
        first="${cidr%.*/*}.1/${cidr#*/}"
        printf 'FLANNEL_NETWORK=%s\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n' "$network" "$first" >/run/flannel/subnet.env.tmp
        mv /run/flannel/subnet.env.tmp /run/flannel/subnet.env
      else
        ip route replace "$cidr" via "$addr" || echo "flanneld: ip route replace $cidr via $addr failed"
      fi
    done </tmp/nodes.txt
  else
    echo "flanneld: GET $api/api/v1/nodes: $(cat /tmp/wget.err)"
  fi
  sleep 5 & wait $!
done
EOF
}

coredns_script() {
  cat <<'EOF'
#!/bin/sh
# kubeferry test STAND-IN for coredns (scripts/rig/cluster-images.sh): answers the probes only.
echo "coredns: kubeferry test stand-in, not coredns: serves no DNS; args: $*"
httpd -f -p 8080 -h /www & h1=$!
httpd -f -p 8181 -h /www & h2=$!
trap 'kill $h1 $h2; exit 0' TERM INT
wait
EOF
}

build() {
  local oci="$1" w pause
  [[ -d "$oci" ]] || umoci init --layout "$oci"
  w="$(mktemp -d)"
  trap 'rm -rf "$w"' RETURN

  pause="$(real_pause)"
  umoci new --image "$oci:pause-3.4.1"
  umoci unpack --rootless --image "$oci:pause-3.4.1" "$w/pause" >/dev/null
  if [[ -n "$pause" ]]; then
    cp "$pause" "$w/pause/rootfs/pause"
    echo real >"$oci/pause.kind"
  else
    echo "cluster-images.sh: Debian's kubernetes source is out of reach: pause is a STAND-IN" >&2
    busybox_rootfs "$w/pause/rootfs" sh sleep
    printf '#!/bin/sh\ntrap "exit 0" TERM INT\nwhile :; do sleep 3600 & wait $!; done\n' >"$w/pause/rootfs/pause"
    chmod 0755 "$w/pause/rootfs/pause"
    echo standin >"$oci/pause.kind"
  fi
  umoci repack --image "$oci:pause-3.4.1" "$w/pause" >/dev/null
  umoci config --image "$oci:pause-3.4.1" --config.entrypoint /pause --architecture amd64 --os linux

  umoci new --image "$oci:flannel-standin"
  umoci unpack --rootless --image "$oci:flannel-standin" "$w/flannel" >/dev/null
  busybox_rootfs "$w/flannel/rootfs" sh cp cat sed awk wget ip hostname sleep mv printf ssl_client
  mkdir -p "$w/flannel/rootfs/opt/bin" "$w/flannel/rootfs/tmp"
  flanneld_script >"$w/flannel/rootfs/opt/bin/flanneld"
  chmod 0755 "$w/flannel/rootfs/opt/bin/flanneld"
  umoci repack --image "$oci:flannel-standin" "$w/flannel" >/dev/null
  umoci config --image "$oci:flannel-standin" --config.env PATH=/bin --architecture amd64 --os linux

  umoci new --image "$oci:coredns-standin"
  umoci unpack --rootless --image "$oci:coredns-standin" "$w/coredns" >/dev/null
  busybox_rootfs "$w/coredns/rootfs" sh httpd
  mkdir -p "$w/coredns/rootfs/www"
  echo OK >"$w/coredns/rootfs/www/health"
  echo OK >"$w/coredns/rootfs/www/ready"
  coredns_script >"$w/coredns/rootfs/coredns"
  chmod 0755 "$w/coredns/rootfs/coredns"
  umoci repack --image "$oci:coredns-standin" "$w/coredns" >/dev/null
  umoci config --image "$oci:coredns-standin" --config.entrypoint /coredns --config.env PATH=/bin \
    --architecture amd64 --os linux
}

push() {
  local oci="$1" port="$2" t digest
  for t in pause:pause-3.4.1 flannel:flannel-standin coredns:coredns-standin; do
    skopeo copy -q --dest-tls-verify=false "oci:$oci:${t#*:}" "docker://127.0.0.1:$port/test/${t%%:*}:${t#*:}"
    digest="$(curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      "http://127.0.0.1:$port/v2/test/${t%%:*}/manifests/${t#*:}" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')"
    [[ -n "$digest" ]] || die "no digest for test/${t%%:*}:${t#*:} in the registry on port $port"
    echo "IMAGE_$(echo "${t%%:*}" | tr '[:lower:]' '[:upper:]')=127.0.0.1:$port/test/${t%%:*}:${t#*:}@$digest"
  done
  echo "PAUSE_KIND=$(cat "$oci/pause.kind")"
}

case "${1:-}" in
  build) [[ $# -eq 2 ]] || die "usage: cluster-images.sh build OCI"; build "$2" ;;
  push) [[ $# -eq 3 ]] || die "usage: cluster-images.sh push OCI PORT"; push "$2" "$3" ;;
  *) die "usage: cluster-images.sh build OCI | push OCI PORT" ;;
esac
