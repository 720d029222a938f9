#!/usr/bin/env bash
# Test hosts with a real systemd: systemd-nspawn "nodes" booted from one debootstrapped Debian
# tree (scripts/rig/README.md, "Hosts with systemd").
#
#   nodes.sh tree                     debootstrap bookworm once into $KF_E2E_CACHE (default
#                                     /var/cache/kubeferry-e2e) and print the tree's path; later
#                                     calls reuse it (a stamp file names the package set)
#   nodes.sh start RIG NAME=ADDR...   boot one node per NAME=ADDR (ADDR an IPv4 in 10.250.1.0/24)
#   nodes.sh exec RIG NAME CMD...     run CMD inside the node (all its namespaces, clean env)
#   nodes.sh netexec RIG CMD...       run CMD in the switch namespace (a client that dials nodes)
#   nodes.sh stop RIG                 stop every node and delete every namespace made by start
#
# Network: one namespace "<prefix>-sw" holds bridge br0 (10.250.1.1/24) and one veth end per
# node; each node gets its own namespace "<prefix>-<NAME>" with eth0 = ADDR/24. The root
# namespace never gets an address: every client that dials a node runs in one of these
# namespaces (netexec, or exec inside a node).
# Nodes: `systemd-nspawn -b --volatile=overlay --register=no --keep-unit` on the SAME tree (its
# writes land in a tmpfs, the tree stays pristine), /etc/hostname bound per node, and RIG/NAME/
# share bound read-write at /srv/kubeferry (how files are copied into a node). PIDs and
# namespace names are recorded under RIG, so `stop` touches nothing else, even after a failure.
#
# How a node differs from a real host, and why (everything else is a stock Debian 12 with systemd
# as PID 1, its own network namespace and its own cgroups):
# - Kernel modules: this machine's kernel has no loadable modules (/lib/modules is absent; overlay
#   and br_netfilter are built in, IPVS is not configured). An installer on a stock Debian host
#   finds its modules with `modprobe` and in /sys/module, so the nodes see, read-only, a generated
#   /lib/modules/$(uname -r) whose modules.builtin names the modules Kubernetes asks for (so
#   `modprobe` succeeds) and a /sys/module copy holding those names (and, for the modules the
#   kernel has, their parameters' values).
# - cgroups (v1 here): each node gets its own cgroup in every v1 controller (below the cgroup the
#   rig runs in) before nspawn starts, so the node's cgroup namespace is rooted there; nspawn
#   mounts the controllers read-only, and the rig remounts them read-write inside the node's mount
#   namespace (a real host has them writable). The kubelet and runc then make kubepods/... in the
#   node's own subtree, as on a host. `stop` kills what is left in those cgroups and removes them.
# - Kernel tunables the kubelet insists on (vm.overcommit_memory=1, kernel.panic=10,
#   kernel.panic_on_oops=1) and kube-proxy's conntrack limit (net.netfilter.nf_conntrack_max,
#   max(32768 per CPU, 131072)) are global to the kernel and cannot be written from a node (a
#   read-only /proc/sys; nf_conntrack_max only from the initial network namespace), so the rig
#   sets them on this machine while nodes run (`stop` restores the old values); on a real host
#   the kubelet and kube-proxy set them themselves.
# - No CAP_SYS_RESOURCE: this machine's capability bounding set lacks it, so no process here may
#   lower an oom_score_adj below 0. Every service's PATH starts with /usr/libexec/kubeferry-rig
#   (a systemd DefaultEnvironment= in the tree), whose `runc` sets oomScoreAdj 0 where the CRI
#   asks for a negative one (-998 for sandboxes) and then execs the next runc on PATH: the one
#   the bundle installed (/usr/local/sbin/runc for containerd, /usr/bin/runc for docker). The
#   kubelet's own -999, containerd's OOMScoreAdjust=-999 and the RLIMIT_NOFILE raises fail with
#   a logged message and each carries on.
# - Storage: the root is an overlay on tmpfs (--volatile=overlay), and overlayfs cannot stack on
#   overlayfs, so /var/lib/containerd and /var/lib/docker are bound from RIG/NAME (ext4), as a
#   host's would be on its disk.
# - nspawn gives the node every capability this machine has, /dev/kmsg (the kubelet's OOM watcher
#   reads it) and the keyring and bpf system calls (runc uses both) that nspawn filters by default.
# - A default route to the switch (10.250.1.1) that leads nowhere: the kubelet and kube-proxy take
#   the node's address from the default route, as on a host; nothing leaves the switch.
# - No container runtime in the tree (a bare host): the tests install containerd, runc or docker
#   from the bundle. iptables, conntrack, ipset and socat are there, as the preflight asks.
# - openssh-server, not started at boot and without host keys (a tree's would be every node's):
#   a test writes each node's keys and starts ssh.service (tests/e2e/ansible.sh).
set -euo pipefail

: "${KF_E2E_CACHE:=/var/cache/kubeferry-e2e}"
k_packages="systemd,systemd-sysv,dbus,iproute2,kmod,procps,iptables,conntrack,ipset,socat,openssh-server"
k_stamp="kubeferry-e2e-tree-v3 bookworm minbase $k_packages"
k_modules=(br_netfilter overlay ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack)

die() { echo "nodes.sh: $*" >&2; exit 1; }

debian_mirror() {
  local uri
  uri="$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [[ -z "$uri" ]]; then
    uri="$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
  fi
  [[ -n "$uri" ]] || die "no Debian mirror found in /etc/apt/sources.list.d"
  echo "$uri"
}

cmd_tree() {
  local tree="$KF_E2E_CACHE/bookworm"
  mkdir -p "$KF_E2E_CACHE"
  exec 8>"$KF_E2E_CACHE/.lock"
  flock 8
  if [[ -f "$tree.stamp" && "$(cat "$tree.stamp")" == "$k_stamp" && -x "$tree/lib/systemd/systemd" ]]; then
    tweak_tree "$tree"
    echo "$tree"
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  rm -rf "$tree" "$tree.tmp" "$tree.stamp" "$tree.tweaks"  # a new tree needs the tweaks again
  local mirror
  mirror="$(debian_mirror)"
  echo "nodes.sh: debootstrap bookworm ($k_packages) from $mirror into $tree (once)" >&2
  debootstrap --variant=minbase --include="$k_packages" bookworm "$tree.tmp" "$mirror" >"$KF_E2E_CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed: $(tail -5 "$KF_E2E_CACHE/debootstrap.log")"
  # The nodes' own hostname comes from a bind; no node may auto-start anything else of ours.
  : >"$tree.tmp/etc/hostname"
  : >"$tree.tmp/etc/machine-id"
  rm -f "$tree.tmp"/var/cache/apt/archives/*.deb
  mv "$tree.tmp" "$tree"
  echo "$k_stamp" >"$tree.stamp"
  tweak_tree "$tree"
  echo "$tree"
}

# Container facts of the tree, applied once per version (the debootstrap itself is not redone):
# systemd's kernel.* and fs.* sysctl defaults cannot be written from a container (the host owns
# them; systemd-sysctl.service skips itself there too), so they are masked the sysctl.d way and
# `sysctl --system` inside a node applies what a node may set: net.* and the installer's file.
# /etc/hosts gets the localhost lines a Debian installation has (debootstrap writes none).
k_tweaks="kubeferry-e2e-tweaks-v4"
tweak_tree() {
  local tree="$1" f
  [[ -f "$tree.tweaks" && "$(cat "$tree.tweaks")" == "$k_tweaks" ]] && return 0
  mkdir -p "$tree/etc/sysctl.d"
  for f in "$tree"/usr/lib/sysctl.d/*.conf; do
    [[ -e "$f" ]] || continue
    grep -qE '^[[:space:]]*-?(kernel|fs|vm)\.' "$f" && ln -sfn /dev/null "$tree/etc/sysctl.d/$(basename "$f")"
  done
  # debootstrap writes no /etc/hosts; a Debian host made by the Debian installer has one.
  [[ -s "$tree/etc/hosts" ]] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
  # sshd is not started at boot: a test that wants it writes the node's own host keys (never
  # shared by nodes) and authorized_keys, then starts ssh.service.
  rm -f "$tree"/etc/ssh/ssh_host_*_key "$tree"/etc/ssh/ssh_host_*_key.pub "$tree"/etc/systemd/system/*.wants/ssh.service
  rm -f "$tree"/etc/systemd/system/sshd.service
  # runc without negative oom_score_adj (no CAP_SYS_RESOURCE on this machine; see the header),
  # first on every service's PATH; the runc it runs is the bundle's.
  mkdir -p "$tree/usr/libexec/kubeferry-rig" "$tree/etc/systemd/system.conf.d"
  printf '[Manager]\nDefaultEnvironment=PATH=/usr/libexec/kubeferry-rig:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' \
    >"$tree/etc/systemd/system.conf.d/kubeferry-rig-runc.conf"
  cat >"$tree/usr/libexec/kubeferry-rig/runc" <<'EOF'
#!/bin/sh
# kubeferry test rig (scripts/rig/nodes.sh), not runc: this machine grants no CAP_SYS_RESOURCE,
# so a negative oomScoreAdj in a container's config.json cannot be applied; it is set to 0, then
# the next runc on PATH (the one the install put there) runs with the same arguments.
b=""; prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) b="$a" ;; esac
  case "$a" in --bundle=*) b="${a#--bundle=}" ;; esac
  prev="$a"
done
if [ -n "$b" ] && [ -f "$b/config.json" ]; then
  sed -i -E 's/"oomScoreAdj": ?-[0-9]+/"oomScoreAdj":0/' "$b/config.json"
fi
IFS=:
for d in $PATH; do
  [ "$d" = /usr/libexec/kubeferry-rig ] && continue
  [ -x "$d/runc" ] && exec "$d/runc" "$@"
done
echo "kubeferry rig runc wrapper: no runc on PATH=$PATH after /usr/libexec/kubeferry-rig" >&2
exit 127
EOF
  chmod 0755 "$tree/usr/libexec/kubeferry-rig/runc"
  echo "$k_tweaks" >"$tree.tweaks"
}

prefix_of() {  # a short namespace prefix unique to RIG
  local rig="$1"
  [[ -f "$rig/prefix" ]] || echo "kf$(echo "$rig" | sha256sum | cut -c1-6)" >"$rig/prefix"
  cat "$rig/prefix"
}

alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

kernel_facts() {  # generated /lib/modules/<release> and /sys/module views (see the header)
  local dir="$1" tree="$2" rel
  rel="$(uname -r)"
  mkdir -p "$dir/base/lib/modules/$rel" "$dir/sysmodule"
  ln -sfn base/lib/modules "$dir/modules"
  : >"$dir/modules/$rel/modules.builtin"
  : >"$dir/modules/$rel/modules.builtin.modinfo"
  local m
  for m in "${k_modules[@]}"; do
    echo "kernel/kubeferry-rig/$m.ko" >>"$dir/modules/$rel/modules.builtin"
    printf '%s.description=kubeferry test rig: emulated built-in\0' "$m" >>"$dir/modules/$rel/modules.builtin.modinfo"
    mkdir -p "$dir/sysmodule/$m"
  done
  # Modules the kernel really has stay visible as they are, with their parameters' values
  # (kube-proxy reads nf_conntrack's hashsize).
  local prm
  for m in /sys/module/*; do
    mkdir -p "$dir/sysmodule/$(basename "$m")"
    [[ -d "$m/parameters" ]] || continue
    mkdir -p "$dir/sysmodule/$(basename "$m")/parameters"
    for prm in "$m"/parameters/*; do
      cat "$prm" >"$dir/sysmodule/$(basename "$m")/parameters/$(basename "$prm")" 2>/dev/null || true
    done
  done
  : >"$dir/modules/$rel/modules.order"
  # The tree's own depmod writes the binary indexes modprobe reads (modules.builtin.bin, ...),
  # run in a private mount namespace with the folder bound on the tree's empty /mnt.
  unshare -m sh -c "mount --bind '$dir/base' '$tree/mnt' && chroot '$tree' depmod -b /mnt '$rel'" ||
    die "depmod for the emulated modules failed"
}

k_controllers=(cpu cpuacct cpuset memory devices freezer blkio pids)
# kube-proxy's conntrack limit: max(32768 per CPU, 131072), its defaults; it writes the value
# unless it is already exactly that, and only the initial network namespace may write it.
k_conntrack_max=$((32768 * $(nproc) > 131072 ? 32768 * $(nproc) : 131072))
k_host_sysctls=(vm.overcommit_memory=1 kernel.panic=10 kernel.panic_on_oops=1 "net.netfilter.nf_conntrack_max=$k_conntrack_max")

node_cgroups() {  # node_cgroups RIG NAME: make the node's cgroup in every v1 controller, print them
  local rig="$1" name="$2" c base dir
  for c in "${k_controllers[@]}"; do
    [[ -d "/sys/fs/cgroup/$c" ]] || continue
    base="$(awk -F: -v c="$c" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' /proc/self/cgroup)"
    dir="/sys/fs/cgroup/$c${base%/}/kubeferry-rig-$(prefix_of "$rig")-$name"
    mkdir -p "$dir"
    if [[ "$c" == cpuset ]]; then  # a cpuset takes no task until it has CPUs and memory nodes
      cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
      cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
    fi
    echo "$dir"
  done
}

set_host_sysctls() {  # the kernel tunables the kubelet wants (see the header); old values kept once
  local rig="$1" kv key
  [[ -f "$rig/sysctl.saved" ]] || for kv in "${k_host_sysctls[@]}"; do
    key="${kv%%=*}"
    echo "$key=$(sysctl -n "$key")"
  done >"$rig/sysctl.saved"
  for kv in "${k_host_sysctls[@]}"; do sysctl -q -w "$kv" >/dev/null || die "sysctl -w $kv failed"; done
}

restore_host_sysctls() {
  local rig="$1" kv
  [[ -f "$rig/sysctl.saved" ]] || return 0
  # Another rig may still run nodes: leave the values while any kubeferry-rig cgroup has tasks.
  if find /sys/fs/cgroup/pids -name 'kubeferry-rig-*' -type d 2>/dev/null | grep -v "$(prefix_of "$rig")" |
       while read -r d; do [[ -s "$d/cgroup.procs" ]] && echo busy; done | grep -q busy; then
    rm -f "$rig/sysctl.saved"
    return 0
  fi
  while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null || true; done <"$rig/sysctl.saved"
  rm -f "$rig/sysctl.saved"
}

writable_cgroups() {  # inside the node's mount namespace, the v1 controllers read-write
  local leader="$1" c
  for c in "${k_controllers[@]}"; do
    nsenter -t "$leader" -m mount -o remount,bind,rw "/sys/fs/cgroup/$c" 2>/dev/null || true
  done
  nsenter -t "$leader" -m -C sh -c 'mkdir /sys/fs/cgroup/cpu/kubeferry-rig-probe && rmdir /sys/fs/cgroup/cpu/kubeferry-rig-probe' ||
    die "the node's cgroup controllers stay read-only"
}

kill_cgroups() {  # SIGKILL whatever still runs in the node's cgroups, then remove them
  local rig="$1" name="$2" dir pid j
  [[ -f "$rig/$name/cgroups" ]] || return 0
  for ((j = 0; j < 20; j++)); do
    local any=0
    while IFS= read -r dir; do
      [[ -d "$dir" ]] || continue
      while IFS= read -r pid; do
        kill -KILL "$pid" 2>/dev/null && any=1
      done < <(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null)
    done <"$rig/$name/cgroups"
    ((any)) || break
    sleep 0.2
  done
  while IFS= read -r dir; do
    [[ -d "$dir" ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
  done <"$rig/$name/cgroups"
  rm -f "$rig/$name/cgroups"
}

cmd_start() {
  local rig="${1:?usage: nodes.sh start RIG NAME=ADDR...}"
  shift
  (($#)) || die "usage: nodes.sh start RIG NAME=ADDR..."
  command -v systemd-nspawn >/dev/null || die "systemd-nspawn is missing (apt-get install systemd-container)"
  mkdir -p "$rig"
  rig="$(cd "$rig" && pwd)"
  local tree p sw
  tree="$(cmd_tree)"
  p="$(prefix_of "$rig")"
  sw="$p-sw"
  kernel_facts "$rig/kernel" "$tree"
  set_host_sysctls "$rig"
  echo "$sw" >>"$rig/netns.list"
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" addr add 10.250.1.1/24 dev br0
  ip -n "$sw" link set br0 up
  local spec name addr i=0 ns
  for spec in "$@"; do
    name="${spec%%=*}"
    addr="${spec#*=}"
    i=$((i + 1))
    ns="$p-$name"
    echo "$ns" >>"$rig/netns.list"
    ip netns add "$ns"
    ip link add "v$i" netns "$sw" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "v$i" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via 10.250.1.1
    mkdir -p "$rig/$name/share" "$rig/$name/containerd" "$rig/$name/docker"
    echo "$name" >"$rig/$name/hostname"
    node_cgroups "$rig" "$name" >"$rig/$name/cgroups"
    (
      # nspawn starts in the node's own cgroups: its cgroup namespace is rooted there.
      while IFS= read -r dir; do echo "$BASHPID" >"$dir/cgroup.procs"; done <"$rig/$name/cgroups"
      exec systemd-nspawn -D "$tree" -b --volatile=overlay --register=no --keep-unit \
        --private-network --network-namespace-path="/run/netns/$ns" --console=passive --machine="$ns" \
        --capability=all --system-call-filter='@keyring bpf' --bind=/dev/kmsg \
        --bind-ro="$rig/$name/hostname:/etc/hostname" \
        --bind-ro="$rig/kernel/base/lib/modules:/lib/modules" \
        --bind-ro="$rig/kernel/sysmodule:/sys/module" \
        --bind="$rig/$name/containerd:/var/lib/containerd" \
        --bind="$rig/$name/docker:/var/lib/docker" \
        --bind="$rig/$name/share:/srv/kubeferry"
    ) >"$rig/$name/nspawn.log" 2>&1 &
    echo $! >"$rig/$name/nspawn.pid"
    echo "$name" >>"$rig/nodes.list"
  done
  # Wait for each node's systemd to come up.
  local pid leader state j
  for spec in "$@"; do
    name="${spec%%=*}"
    pid="$(cat "$rig/$name/nspawn.pid")"
    leader=""
    for ((j = 0; j < 300; j++)); do
      alive "$pid" || die "node $name: systemd-nspawn exited: $(tail -5 "$rig/$name/nspawn.log")"
      leader="$(ps -o pid= --ppid "$pid" | tr -d ' ' | head -1)"
      if [[ -n "$leader" ]]; then
        state="$(nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin systemctl is-system-running 2>/dev/null || true)"
        [[ "$state" == running || "$state" == degraded ]] && break
      fi
      sleep 0.1
    done
    [[ "$state" == running || "$state" == degraded ]] || die "node $name did not boot (state '$state'): $(tail -5 "$rig/$name/nspawn.log")"
    echo "$leader" >"$rig/$name/leader"
    writable_cgroups "$leader"
  done
  echo "nodes.sh: booted $* (tree $tree; how the nodes differ from real hosts: the header of scripts/rig/nodes.sh; kernel module facts emulated: ${k_modules[*]}; host sysctls set: ${k_host_sysctls[*]})" >&2
}

leader_of() {
  local rig="$1" name="$2"
  [[ -f "$rig/$name/leader" ]] || die "no node $name under $rig"
  cat "$rig/$name/leader"
}

cmd_exec() {
  local rig="${1:?usage: nodes.sh exec RIG NAME CMD...}" name="${2:?usage: nodes.sh exec RIG NAME CMD...}"
  shift 2
  local leader
  leader="$(leader_of "$rig" "$name")"
  exec nsenter -t "$leader" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 "$@"
}

cmd_netexec() {
  local rig="${1:?usage: nodes.sh netexec RIG CMD...}"
  shift
  exec ip netns exec "$(prefix_of "$rig")-sw" "$@"
}

cmd_stop() {
  local rig="${1:?usage: nodes.sh stop RIG}" name pid j
  [[ -d "$rig" ]] || return 0
  local pids=()
  if [[ -f "$rig/nodes.list" ]]; then
    while IFS= read -r name; do
      [[ -f "$rig/$name/nspawn.pid" ]] || continue
      pid="$(cat "$rig/$name/nspawn.pid")"
      if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
      fi
    done <"$rig/nodes.list"
  fi
  for ((j = 0; j < 100; j++)); do
    local any=0
    for pid in "${pids[@]}"; do alive "$pid" && any=1; done
    ((any)) || break
    sleep 0.1
  done
  # Still up after 10 s (pods keep systemd-shutdown waiting): kill the node's PID 1 (its whole
  # PID namespace goes) and nspawn; kill_cgroups then takes whatever is left.
  if [[ -f "$rig/nodes.list" ]]; then
    while IFS= read -r name; do
      pid="$(cat "$rig/$name/nspawn.pid" 2>/dev/null || true)"
      if [[ -z "$pid" ]] || ! alive "$pid"; then continue; fi
      if [[ -f "$rig/$name/leader" ]]; then kill -KILL "$(cat "$rig/$name/leader")" 2>/dev/null || true; fi
      sleep 0.5
      kill -KILL "$pid" 2>/dev/null || true
    done <"$rig/nodes.list"
  fi
  if [[ -f "$rig/nodes.list" ]]; then
    while IFS= read -r name; do kill_cgroups "$rig" "$name"; done <"$rig/nodes.list"
  fi
  restore_host_sysctls "$rig"
  if [[ -f "$rig/netns.list" ]]; then
    while IFS= read -r name; do ip netns del "$name" 2>/dev/null || true; done <"$rig/netns.list"
    rm -f "$rig/netns.list"
  fi
  rm -f "$rig/nodes.list"
}

case "${1:-}" in
  tree) shift; cmd_tree "$@" ;;
  start) shift; cmd_start "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  netexec) shift; cmd_netexec "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: nodes.sh tree | start RIG NAME=ADDR... | exec RIG NAME CMD... | netexec RIG CMD... | stop RIG" >&2; exit 2 ;;
esac
