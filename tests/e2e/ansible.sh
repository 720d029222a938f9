#!/usr/bin/env bash
# End to end, many hosts: `kubeferry-install ansible` writes the inventory and playbooks, and
# Debian's ansible-playbook, run from the deploy side (the switch namespace), installs the REAL
# Kubernetes v1.20.2 cluster of tests/e2e/cluster.sh on three systemd-nspawn hosts that have sshd
# (host and client keys made here) and no Python.
#   master01 [master, etcd], node01 [node], node02 [node]; nodes in batches of one.
#   1. node01's sshd is down: master01 installs, node01 fails its batch (UNREACHABLE, named),
#      the run stops there (node02 untouched); 2. with sshd up again a run finishes node01 and
#      node02 and changes nothing on master01; the hosts installed in order (journal timestamps
#      in /var/lib/kubeferry); the nodes are Ready (kubectl); 3. a third run changes nothing;
#      plan.yml prints each host's plan and changes nothing; renew.yml rolls out `pki renew`
#      (new certificates on every host, nodes still Ready); uninstall.yml leaves no journal and,
#      asked to, no copy; ansible-lint passes on the generated files.
# KF_E2E_ANSIBLE_BENCH=1 then times the fan-out against the same work one host at a time:
#   copy + verify to all three hosts (forks 3 vs forks 1), and installing both nodes (one batch
#   vs batches of one, forks 1).
# Reuses tests/e2e/rig.bash (mirror, bundle, node tree, kubectl helpers). Exit 77 = skipped.
# Env: KEEP=1 keeps $T; E2E_SUMMARY=FILE gets the summary too.
set -euo pipefail
E2E_EXTRA_TOOLS="ansible-playbook ansible-lint ssh-keygen scp"
# shellcheck source=tests/e2e/rig.bash
source "$(dirname "$0")/rig.bash"
close_ssh() {  # the ssh masters Ansible keeps open (ControlPersist), by their sockets: sha1("HOST-PORT-USER")[:10]
  local h sock
  for h in master01 node01 node02; do
    sock="$T/home/.ansible/cp/$(printf '%s-22-root' "${ADDR[$h]}" | sha1sum | cut -c1-10)"
    [[ -S "$sock" ]] || continue
    "${NODES[@]}" netexec "$T/nodes" ssh -o ControlPath="$sock" -O exit "root@${ADDR[$h]}" >/dev/null 2>&1 || true
  done
}
declare -A ADDR=([master01]=10.250.1.11 [node01]=10.250.1.12 [node02]=10.250.1.13)
trap 'close_ssh; cleanup' EXIT
[[ -n "$REAL" ]] || skip "the mirror serves stand-ins for Kubernetes (scripts/rig/k8s-build.sh not built): no cluster to install"

# 2. Three nodes with sshd: each its own host key, root's authorized_keys the deploy key.
"${NODES[@]}" start "$T/nodes" master01=10.250.1.11 node01=10.250.1.12 node02=10.250.1.13 2>nodes.err ||
  fail "nodes.sh start: $(cat nodes.err)"
HOSTS=(master01 node01 node02)
say "three nodes booted"
mkdir -m 0700 ssh
ssh-keygen -q -t ed25519 -N '' -C kubeferry-e2e-deploy -f ssh/id_ed25519
: >ssh/known_hosts
for h in "${HOSTS[@]}"; do
  ssh-keygen -q -t ed25519 -N '' -C "$h" -f "ssh/host-$h"
  share="$T/nodes/$h/share"
  cp "ssh/host-$h" "$share/ssh_host_ed25519_key"
  cp "ssh/host-$h.pub" "$share/ssh_host_ed25519_key.pub"
  cp ssh/id_ed25519.pub "$share/authorized_keys"
  node "$h" sh -c 'cd /srv/kubeferry && install -m 0600 ssh_host_ed25519_key /etc/ssh/ &&
    install -m 0644 ssh_host_ed25519_key.pub /etc/ssh/ && install -d -m 0700 /root/.ssh &&
    install -m 0600 authorized_keys /root/.ssh/ && rm -f ssh_host_ed25519_key* authorized_keys &&
    printf "HostKey /etc/ssh/ssh_host_ed25519_key\n" >/etc/ssh/sshd_config.d/kubeferry-e2e.conf &&
    systemctl start ssh.service' >"ssh-$h.out" 2>&1 || fail "$h: sshd: $(cat "ssh-$h.out")"
  echo "${ADDR[$h]} $(cut -d' ' -f1,2 "ssh/host-$h.pub")" >>ssh/known_hosts
  if node "$h" sh -c 'command -v python3 || command -v python' >/dev/null; then fail "$h has a Python: the test is of hosts without"; fi
done
SSH=(ssh -i "$T/ssh/id_ed25519" -o UserKnownHostsFile="$T/ssh/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
# shellcheck disable=SC2016  # expanded by the remote shell on node01, not here
netexec "${SSH[@]}" root@10.250.1.12 'echo $(hostname) $(id -u)' >ssh-check.out 2>&1 || fail "ssh to node01: $(cat ssh-check.out)"
expect_eq "$(cat ssh-check.out)" "node01 0" "ssh to node01 with the test's keys (strict host key checking)"
say "sshd up on every node (host keys made here, strict known_hosts), no Python on any"

# 3. The deploy side: PKI and the generated Ansible (the .run, cluster.yaml and pki stay here).
cat >cluster.yaml <<YAML
cluster_name: e2e
kubernetes_version: v1.20.2
container_runtime: containerd
pki:
  key_type: ecdsa
hosts:
  - name: master01
    address: 10.250.1.11
    roles: [master, etcd]
  - name: node01
    address: 10.250.1.12
    roles: [node]
  - name: node02
    address: 10.250.1.13
    roles: [node]
YAML
./k8s-e2e.run -q pki init --inventory cluster.yaml --out pki >pki.out 2>&1 || fail "pki init: $(cat pki.out)"
./k8s-e2e.run ansible --inventory cluster.yaml --out ans --pki pki --pubkey key.pub --ssh-key "$T/ssh/id_ed25519" \
  >ansible-gen.out 2>ansible-gen.err || fail "ansible: $(cat ansible-gen.err)"
grep -qx "wrote the Ansible of cluster e2e to ans: inventory.yaml (etcd 1, master 1, node 2), install.yml, uninstall.yml, plan.yml, renew.yml and their roles" \
  ansible-gen.out || fail "ansible said: $(cat ansible-gen.out)"
# What a user edits: the ssh options (here the test's known_hosts, strictly checked).
sed -i "s|^    kubeferry_ssh_options: \[\]$|    kubeferry_ssh_options: [\"-o\", \"UserKnownHostsFile=$T/ssh/known_hosts\", \"-o\", \"StrictHostKeyChecking=yes\"]|" ans/inventory.yaml
grep -q "UserKnownHostsFile=$T/ssh/known_hosts" ans/inventory.yaml || fail "could not set kubeferry_ssh_options"
(cd ans && ansible-lint --offline -q install.yml uninstall.yml plan.yml renew.yml inventory.yaml roles/* >"$T/lint.out" 2>&1) || fail "ansible-lint on the generated files: $(tail -20 lint.out)"
say "generated Ansible written; ansible-lint passes"
note "ansible: $(ansible-playbook --version | sed -n 1p), $(ansible-lint --version 2>/dev/null | sed -n '1s/\x1b\[[0-9;]*m//gp')"

mkdir -p home
# play NAME PLAYBOOK ARGS...: ansible-playbook from the switch namespace; NAME.json, .err, .rc,
# .secs. NAME.json comes from tests/e2e/ansible_callback/kf_json.py (Debian's ansible-core has no
# JSON callback of its own).
play() {
  local name="$1" book="$2" s rc=0
  shift 2
  s=$(date +%s.%N)
  netexec env HOME="$T/home" ANSIBLE_CONFIG="$T/ans/ansible.cfg" ANSIBLE_STDOUT_CALLBACK=kf_json \
    ANSIBLE_CALLBACK_PLUGINS="$SRC/tests/e2e/ansible_callback" \
    ANSIBLE_LOCAL_TEMP="$T/home/tmp" ansible-playbook -i "$T/ans/inventory.yaml" "$T/ans/$book" "$@" \
    >"$name.json" 2>"$name.err" || rc=$?
  echo "$rc" >"$name.rc"
  elapsed "$s" >"$name.secs"
}
stats() {  # stats NAME: "host changed failures unreachable" per host, sorted
  python3 - "$1.json" <<'PY'
import json, sys
for host, s in sorted(json.load(open(sys.argv[1]))["stats"].items()):
    if host != "localhost":  # renew.yml's check runs there
        print(host, s["changed"], s["failures"], s["unreachable"])
PY
}
changed_of() { stats "$1" | awk -v h="$2" '$1 == h {print $2}'; }
journal_of() { node "$1" cat /var/lib/kubeferry/journal.json 2>/dev/null; }
window() {  # window HOST: "first last" applied_at of its journal's entries
  journal_of "$1" | python3 -c '
import json, sys
times = [e["applied_at"] for e in json.load(sys.stdin)["entries"]]
print(min(times), max(times))'
}

# 4. First run with node01 down (its sshd stopped), batches of one node: master01 installs,
#    node01's batch fails with the unreachable host named, and the run stops before node02.
node node01 systemctl stop ssh.service
play run1 install.yml -e kubeferry_serial=1
rc=$(cat run1.rc)
[[ "$rc" == 2 ]] || fail "first run (node01 down): ansible-playbook exited $rc, want 2 (a host failed): $(tail -5 run1.err)"
python3 - run1.json >run1.msg <<'PY'
import json, sys
for play in json.load(open(sys.argv[1]))["plays"]:
    for task in play["tasks"]:
        for host, r in task["hosts"].items():
            if r.get("unreachable") or r.get("failed"):
                print(host, "|", task["task"]["name"], "|", r.get("msg", "").strip())
PY
grep -q "^node01 | Checksum of the bundle already on the host | Failed to connect to the host via ssh: ssh: connect to host 10.250.1.12 port 22: Connection refused" run1.msg ||
  fail "first run: the failure does not name node01 and why: $(cat run1.msg)"
expect_eq "$(wc -l <run1.msg)" 1 "hosts that failed in the first run"
# node01's unreachable is ignored by its task (so any_errors_fatal can fail it: Ansible 2.14 goes
# on to the next batch after a batch of unreachable hosts it dropped), and node02 never runs.
expect_eq "$(stats run1 | cut -d' ' -f1 | tr '\n' ';')" "master01;node01;" "first run: the hosts the run reached"
[[ "$(changed_of run1 master01)" -gt 0 ]] || fail "first run: master01 reported no change"
journal_of master01 >/dev/null || fail "first run: master01 has no journal"
journal_of node01 >/dev/null && fail "first run: node01 has a journal"
node node02 test -e /var/lib/kubeferry-deploy && fail "first run: node02 was touched after node01's batch failed"
say "run 1 (node01 down): master01 installed in $(cat run1.secs) s, node01's batch failed: $(cut -d'|' -f3 run1.msg | cut -c1-160)"
note "run 1, node01's sshd stopped: exit 2; master01 installed; node01 UNREACHABLE: $(cut -d'|' -f3 run1.msg | sed 's/^ //'); node02 not touched"

# 5. node01 back: the next run finishes node01 and node02, master01 unchanged.
node node01 systemctl start ssh.service
play run2 install.yml -e kubeferry_serial=1
[[ "$(cat run2.rc)" == 0 ]] || fail "second run exited $(cat run2.rc): $(tail -5 run2.err) $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"])' run2.json 2>&1)"
expect_eq "$(stats run2 | awk '{print $1, ($2 > 0 ? "changed" : "unchanged"), $3, $4}' | tr '\n' ';')" \
  "master01 unchanged 0 0;node01 changed 0 0;node02 changed 0 0;" "second run: what changed where"
# The order, from each host's journal: master01 finished before node01 started, node01 before node02.
read -r m_first m_last < <(window master01)
read -r n1_first n1_last < <(window node01)
read -r n2_first n2_last < <(window node02)
((m_last < n1_first && n1_last < n2_first)) ||
  fail "install order from the journals: master01 $m_first..$m_last, node01 $n1_first..$n1_last, node02 $n2_first..$n2_last"
note "install order (journal applied_at, epoch s): master01 $m_first..$m_last < node01 $n1_first..$n1_last < node02 $n2_first..$n2_last"
for h in "${HOSTS[@]}"; do  # the CA keys stayed on the deploy host
  node "$h" sh -c 'find /var/lib/kubeferry-deploy -name "*ca-key.pem"' >"cakeys-$h.txt"
  if [[ "$h" == master01 ]]; then want="/var/lib/kubeferry-deploy/kit/kubernetes/ca-key.pem"; else want=""; fi
  expect_eq "$(cat "cakeys-$h.txt")" "$want" "$h: CA keys in its copies"
done
node master01 cat /root/.kube/config >admin.kubeconfig
wait_for 240 "nodes Ready" nodes_ready
kc get nodes -o wide >nodes-wide.txt
say "run 2: node01 and node02 installed in $(cat run2.secs) s, in order (journals); nodes Ready"

# 6. A third run changes nothing anywhere.
play run3 install.yml
[[ "$(cat run3.rc)" == 0 ]] || fail "third run exited $(cat run3.rc): $(tail -5 run3.err)"
expect_eq "$(stats run3 | tr '\n' ';')" "master01 0 0 0;node01 0 0 0;node02 0 0 0;" "third run: changed/failures/unreachable per host"
say "run 3: no change on any host ($(cat run3.secs) s)"
note "run 3 (converged): changed=0 on every host, $(cat run3.secs) s"

# 7. plan.yml prints each host's plan and changes nothing.
for h in "${HOSTS[@]}"; do journal_of "$h" | sha256sum >"journal-before-plan-$h.txt"; done
play plan plan.yml
[[ "$(cat plan.rc)" == 0 ]] || fail "plan.yml exited $(cat plan.rc): $(tail -5 plan.err)"
expect_eq "$(stats plan | tr '\n' ';')" "master01 0 0 0;node01 0 0 0;node02 0 0 0;" "plan.yml: changes"
python3 - plan.json >plan.heads <<'PY'
import json, sys
for play in json.load(open(sys.argv[1]))["plays"]:
    for task in play["tasks"]:
        if task["task"]["name"] == "Print the plan":
            for host, r in sorted(task["hosts"].items()):
                print(r["kubeferry_plan.stdout_lines"][0])
PY
expect_eq "$(cut -d: -f1 plan.heads | tr '\n' ';')" \
  "plan for master01 (etcd,master) of cluster e2e, Kubernetes v1.20.2;plan for node01 (node) of cluster e2e, Kubernetes v1.20.2;plan for node02 (node) of cluster e2e, Kubernetes v1.20.2;" \
  "plan.yml: the plans' first lines"
for h in "${HOSTS[@]}"; do
  expect_eq "$(journal_of "$h" | sha256sum)" "$(cat "journal-before-plan-$h.txt")" "$h: journal after plan.yml"
done
say "plan.yml: every host's plan printed, nothing changed"

# 8. renew.yml rolls out `pki renew` (made on the deploy host, CA keys never leave it).
./k8s-e2e.run -q pki renew --inventory cluster.yaml --pki pki --out pki2 >renew.out 2>&1 || fail "pki renew: $(cat renew.out)"
play renew renew.yml -e kubeferry_renewed_pki="$T/pki2" -e kubeferry_serial=1
[[ "$(cat renew.rc)" == 0 ]] || fail "renew.yml exited $(cat renew.rc): $(tail -5 renew.err)"
expect_eq "$(stats renew | awk '{print $1, ($2 > 0 ? "changed" : "unchanged"), $3, $4}' | tr '\n' ';')" \
  "master01 changed 0 0;node01 changed 0 0;node02 changed 0 0;" "renew.yml: what changed where"
expect_eq "$(node master01 sha256sum /opt/etcd/ssl/server.pem | cut -d' ' -f1)" "$(sha256sum pki2/etcd/server.pem | cut -d' ' -f1)" \
  "master01: etcd server certificate after renew.yml"
# kube-proxy's certificate lives inside its kubeconfig (client-certificate-data), not as a file.
expect_eq "$(node node01 sed -n 's/^ *client-certificate-data: //p' /opt/kubernetes/cfg/kube-proxy.kubeconfig | base64 -d | sha256sum | cut -d' ' -f1)" \
  "$(sha256sum pki2/kubernetes/kube-proxy.pem | cut -d' ' -f1)" "node01: kube-proxy certificate after renew.yml"
node master01 cat /root/.kube/config >admin.kubeconfig
wait_for 120 "the API server with the renewed admin certificate" kc get --raw=/readyz
wait_for 120 "nodes Ready after renew.yml" nodes_ready
say "renew.yml: new certificates on every host in $(cat renew.secs) s, nodes still Ready"
note "renew.yml: new certificates on every host ($(cat renew.secs) s), nodes Ready with the new admin certificate"

# 9. Optional: fan-out against one host at a time (README "Many hosts").
if [[ -n "${KF_E2E_ANSIBLE_BENCH:-}" ]]; then
  cat >ans/stage-only.yml <<'YAML'
---
- name: Copy and verify only (the test's timing of the fan-out)
  hosts: etcd:master:node
  gather_facts: false
  roles:
    - kubeferry_stage
    - kubeferry_verify
YAML
  drop_copies() { for h in "${HOSTS[@]}"; do node "$h" rm -rf /var/lib/kubeferry-deploy; done; }
  drop_copies; play stage-f1 stage-only.yml -f 1
  drop_copies; play stage-f3 stage-only.yml -f 3
  for r in stage-f1 stage-f3; do [[ "$(cat $r.rc)" == 0 ]] || fail "$r exited $(cat $r.rc)"; done
  play un-nodes1 uninstall.yml --limit node -e kubeferry_purge=true -e kubeferry_remove_copies=true
  play nodes-serial install.yml --limit node -e kubeferry_serial=1 -f 1
  play un-nodes2 uninstall.yml --limit node -e kubeferry_purge=true -e kubeferry_remove_copies=true
  play nodes-fanout install.yml --limit node -e kubeferry_serial=2 -f 2
  for r in un-nodes1 nodes-serial un-nodes2 nodes-fanout; do [[ "$(cat $r.rc)" == 0 ]] || fail "$r exited $(cat $r.rc): $(tail -3 $r.err)"; done
  wait_for 240 "nodes Ready after the timed installs" nodes_ready
  note "bench: copy + verify of the $(stat -c %s k8s-e2e.run)-byte .run to 3 hosts: forks 1 $(cat stage-f1.secs) s, forks 3 $(cat stage-f3.secs) s"
  note "bench: install node01 + node02 from nothing (copy, verify, install): one at a time $(cat nodes-serial.secs) s, one batch of 2 $(cat nodes-fanout.secs) s"
  say "bench done"
fi

# 10. uninstall.yml: nodes, then master01; with the copies removed too.
play uninstall uninstall.yml -e kubeferry_purge=true -e kubeferry_remove_copies=true
[[ "$(cat uninstall.rc)" == 0 ]] || fail "uninstall.yml exited $(cat uninstall.rc): $(tail -5 uninstall.err)"
expect_eq "$(stats uninstall | awk '{print $1, ($2 > 0 ? "changed" : "unchanged"), $3, $4}' | tr '\n' ';')" \
  "master01 changed 0 0;node01 changed 0 0;node02 changed 0 0;" "uninstall.yml: what changed where"
for h in "${HOSTS[@]}"; do
  node "$h" test -e /var/lib/kubeferry/journal.json && fail "$h: a journal is left after uninstall.yml"
  node "$h" test -e /var/lib/kubeferry-deploy && fail "$h: the copies are left after uninstall.yml"
  expect_eq "$(node "$h" systemctl is-active kubelet.service etcd.service kube-apiserver.service 2>/dev/null | sort -u | tr '\n' ' ')" \
    "inactive " "$h: kubeferry's services after uninstall.yml"
done
say "uninstall.yml: no journal, no service, no copy left ($(cat uninstall.secs) s)"

{
  echo "== ansible-playbook runs (from the switch namespace, json callback; changed/failures/unreachable) =="
  for r in run1 run2 run3 plan renew uninstall; do
    printf '%-10s exit %s  %6s s  %s\n' "$r" "$(cat $r.rc)" "$(cat $r.secs)" "$(stats $r | tr '\n' ';')"
  done
  printf '%s\n' "${SUMMARY[@]}"
  printf 'whole e2e: %s s\n' "$(elapsed "$t0")"
  echo "== kubectl get nodes -o wide (after run 2) =="
  cat nodes-wide.txt
} >summary.txt
cat summary.txt
[[ -n "${E2E_SUMMARY:-}" ]] && cp summary.txt "$E2E_SUMMARY"
echo "ansible: all checks passed"
