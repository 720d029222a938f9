#!/usr/bin/env bash
# `kubeferry-install images push` retries transient registry faults (installer/images/push_retry.hpp).
# A small fault-injecting proxy (below) stands in front of a REAL docker-registry 2.8
# (scripts/rig/registry.sh): it forwards every request with its body and headers (the Host
# header too, so the registry's upload Locations point back at the proxy) and stores nothing
# itself; rules make it answer the first K requests whose METHOD matches and whose path
# matches a regular expression with a fault instead:
#   503 / 429 (with Retry-After: 1) / 404   an answer of that status
#   reset   read half of the request body, then reset the connection (RST)
#   cut     forward the request head and half of the body to the registry, then close both
#           connections (the registry sees a truncated upload; the client a cut connection)
# Each case pushes under its own prefix (its own repository, so every blob is uploaded):
#   503 twice on a blob HEAD, then success, with the two retry lines on stderr;
#   a reset, and a cut, during the layer's upload PUT, then success: skopeo (not us) checks
#     that the tag serves the bundle's digest and `skopeo copy` pulls the image (every blob
#     complete and matching its digest), and the registry accepted the layer's PUT once;
#   429 with Retry-After: 1 is waited for (>= 1 s, with --retry-delay 0.05);
#   503 on every manifest PUT: exact error ending in "(gave up after 3 attempts)", exit 1,
#     three PUTs in the proxy's log, no tag in the registry, nothing printed with -q;
#   404 on the upload POST: not retried (one POST in the log), exact error, exit 1;
#   Ctrl-C during a retry's 20 s wait: exit 130 at once (under 5 s, allowing for a loaded machine).
# --retry-delay 0.05 keeps the test short (a documented user option, not a test hook).
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools docker-registry skopeo umoci curl python3 busybox

WORK="$(mktemp -d)"
PROXY_PID=""
cleanup() {
  if [[ -n "$PROXY_PID" ]]; then kill "$PROXY_PID" 2>/dev/null || true; fi
  registry_down "$WORK/rig"
  rm -rf "$WORK"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }

registry_up "$WORK/rig"
R="$REG_PLAIN"
INSTALL="$BIN/kubeferry-install"

# The bundle: busybox:1.0 (an OCI manifest, a config and one layer), extracted.
images_manifest "$WORK/a.yaml" push-faults "$R" "busybox=test/busybox:1.0@$DIGEST_BUSYBOX_1_0"
mkdir "$WORK/a"
"$BIN/kubeferry" -q images fetch "$WORK/a.yaml" --out "$WORK/a" --plain-http "$R" --cache "$WORK/cache" >/dev/null
field() {  # field config|layer
  python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["images"][0]["platforms"][0]; print(p["config"]["digest"] if sys.argv[2]=="config" else p["layers"][0]["digest"])' \
    "$WORK/a/images/images.json" "$1"
}
CONFIG=$(field config)
LAYER=$(field layer)
LAYER_Q="${LAYER/:/%3A}"

cat >"$WORK/proxy.py" <<'PY'
import http.client, http.server, os, re, socket, struct, sys, threading
PORT_FILE, UPSTREAM, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
RULES = []  # [action, remaining (-1: always), method, compiled regex]
for spec in sys.argv[4:]:
    action, count, method, pattern = spec.split(":", 3)
    RULES.append([action, int(count) or -1, method, re.compile(pattern)])
lock = threading.Lock()
REASONS = {"503": "Service Unavailable", "429": "Too Many Requests", "404": "Not Found"}
def log(line):
    with lock:
        with open(LOG, "a") as f:
            f.write(line + "\n")
def take_fault(method, path):
    with lock:
        for rule in RULES:
            if rule[2] == method and rule[3].search(path) and rule[1] != 0:
                rule[1] -= 1
                return rule[0]
    return None
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        fault = take_fault(self.command, self.path)
        log(f"{self.command} {self.path} {fault or 'forward'}")
        if fault in ("reset", "cut"):
            half = self.rfile.read(length // 2)
            if fault == "cut":
                up = socket.create_connection(tuple(UPSTREAM.rsplit(":", 1)), timeout=30)
                head = f"{self.command} {self.path} HTTP/1.1\r\n"
                for k, v in self.headers.items():
                    head += f"{k}: {v}\r\n"
                up.sendall(head.encode() + b"\r\n" + half)
                up.close()
                self.connection.shutdown(socket.SHUT_RDWR)
            else:  # close at once with SO_LINGER 0: an RST, with no FIN before it
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
            self.close_connection = True
            return
        body = self.rfile.read(length)
        if fault in REASONS:
            data = b'{"errors":[]}' if fault != "404" else b""
            self.send_response(int(fault), REASONS[fault])
            if fault == "429":
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        up = http.client.HTTPConnection(UPSTREAM, timeout=30)
        up.request(self.command, self.path, body=body, headers=headers)
        r = up.getresponse()
        data = r.read()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", r.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        up.close()
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
open(PORT_FILE, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 "$WORK/proxy.py" "$WORK/proxy.port" "$R" "$WORK/proxy.log" \
  "503:2:HEAD:^/v2/head/test/busybox/blobs/" \
  "reset:2:PUT:^/v2/reset/.*digest=$LAYER_Q" \
  "cut:2:PUT:^/v2/cut/.*digest=$LAYER_Q" \
  "429:1:HEAD:^/v2/slow/test/busybox/manifests/1.0$" \
  "503:0:PUT:^/v2/manifests/.*/manifests/" \
  "503:0:PUT:^/v2/quiet/.*/manifests/" \
  "404:0:POST:^/v2/notfound/" \
  "503:0:HEAD:^/v2/interrupt/" &
PROXY_PID=$!
for _ in $(seq 1 300); do [[ -s "$WORK/proxy.port" ]] && break; sleep 0.1; done
P="127.0.0.1:$(cat "$WORK/proxy.port")"
FAST=(--retries 4 --retry-delay 0.05)

raw_digest() { echo "sha256:$(skopeo inspect --raw --tls-verify=false "$1" | sha256sum | cut -d' ' -f1)"; }
in_log() { grep -c "$1" "$WORK/proxy.log" || true; }
retry_lines() { grep -F '; retrying in ' "$1" || true; }
push_ok() {  # push_ok PREFIX [ARGS...]: pushes through the proxy, checks stdout and the tag with skopeo
  local prefix="$1"; shift
  "$INSTALL" images push --from "$WORK/a" --registry "$P/$prefix" --plain-http "$@" \
    >"$WORK/$prefix.out" 2>"$WORK/$prefix.err" || fail "$prefix: push failed: $(cat "$WORK/$prefix.err")"
  expect_eq "$prefix: stdout" "pushed busybox $P/$prefix/test/busybox:1.0@$DIGEST_BUSYBOX_1_0" "$(cat "$WORK/$prefix.out")"
  expect_eq "$prefix: tag (skopeo)" "$DIGEST_BUSYBOX_1_0" "$(raw_digest "docker://$R/$prefix/test/busybox:1.0")"
  skopeo copy -q --src-tls-verify=false "docker://$R/$prefix/test/busybox:1.0" "oci:$WORK/oci-$prefix:x" \
    || fail "$prefix: skopeo cannot pull the pushed image"
}

# 1. 503 twice on the first blob HEAD (the config), then success.
push_ok head "${FAST[@]}"
expect_eq "head: retry lines" "kubeferry-install: HEAD http://$P/v2/head/test/busybox/blobs/$CONFIG: HTTP 503 Service Unavailable; retrying in 50 ms (attempt 2 of 5)
kubeferry-install: HEAD http://$P/v2/head/test/busybox/blobs/$CONFIG: HTTP 503 Service Unavailable; retrying in 100 ms (attempt 3 of 5)" \
  "$(retry_lines "$WORK/head.err")"
expect_eq "head: HEADs of the config" 3 "$(in_log "^HEAD /v2/head/test/busybox/blobs/$CONFIG ")"

# 2. The layer's upload PUT reset, then cut mid-body (half of it reaches the registry), twice
#    each: the PUT goes on the connection the POST kept alive, and the HTTP client sends a
#    request that met a dead kept-alive connection once more on a new one (http.hpp); the
#    second fault is ours to retry. The whole upload starts over (a new POST, the file from
#    its first byte) and the registry accepts the layer exactly once.
for prefix in reset cut; do
  push_ok "$prefix" "${FAST[@]}"
  lines="$(retry_lines "$WORK/$prefix.err")"
  why="Connection reset by peer|Broken pipe"
  if [[ "$prefix" == cut ]]; then why="$why|connection closed before a response"; fi
  re="^kubeferry-install: PUT http://$P/v2/$prefix/test/busybox/blobs/uploads/[0-9a-f-]+: (send to|receive from) $P: ($why); retrying in 50 ms \\(attempt 2 of 5\\)\$"
  [[ "$lines" =~ $re ]] || fail "$prefix: retry line: [$lines]"
  expect_eq "$prefix: upload POSTs (the config once, the layer twice)" 3 \
    "$(in_log "^POST /v2/$prefix/test/busybox/blobs/uploads/ ")"
  expect_eq "$prefix: layer PUTs through the proxy" 3 "$(in_log "^PUT /v2/$prefix/.*digest=$LAYER_Q")"
  expect_eq "$prefix: layer PUTs the registry accepted" 1 \
    "$(grep -c "\"PUT /v2/$prefix/test/busybox/blobs/uploads/[^ ]*digest=${LAYER_Q}[^ ]* HTTP/1.1\" 201" "$WORK/rig/plain.log" || true)"
done
# The cut upload's first half did reach the registry (and was thrown away there).
[[ "$(grep -c "\"PUT /v2/cut/test/busybox/blobs/uploads/[^ ]*digest=$LAYER_Q" "$WORK/rig/plain.log" || true)" -ge 1 ]] \
  || fail "cut: the registry never saw the cut upload"

# 3. 429 with Retry-After: 1 on the tag's HEAD is waited for, not the 50 ms backoff.
t0=$(now_ms)
push_ok slow "${FAST[@]}"
t_slow=$(($(now_ms) - t0))
expect_eq "slow: retry line" "kubeferry-install: HEAD http://$P/v2/slow/test/busybox/manifests/1.0: HTTP 429 Too Many Requests; retrying in 1000 ms (attempt 2 of 5)" \
  "$(retry_lines "$WORK/slow.err")"
[[ "$t_slow" -ge 1000 ]] || fail "slow: Retry-After not honoured ($t_slow ms)"

# 4. 503 on every manifest PUT: retries exhausted, the last failure's message, exit 1, no tag.
MSG="kubeferry-install: error: push image 'busybox' to $P/manifests/test/busybox:1.0: PUT manifest $DIGEST_BUSYBOX_1_0: registry $P, repository manifests/test/busybox answered HTTP 503 Service Unavailable (gave up after 3 attempts)"
rc=0
"$INSTALL" images push --from "$WORK/a" --registry "$P/manifests" --plain-http --retries 2 --retry-delay 0.05 \
  >"$WORK/m.out" 2>"$WORK/m.err" || rc=$?
expect_eq "manifests: exit code" 1 "$rc"
expect_eq "manifests: stdout" "" "$(cat "$WORK/m.out")"
expect_eq "manifests: retry lines" "kubeferry-install: PUT http://$P/v2/manifests/test/busybox/manifests/$DIGEST_BUSYBOX_1_0: HTTP 503 Service Unavailable; retrying in 50 ms (attempt 2 of 3)
kubeferry-install: PUT http://$P/v2/manifests/test/busybox/manifests/$DIGEST_BUSYBOX_1_0: HTTP 503 Service Unavailable; retrying in 100 ms (attempt 3 of 3)" \
  "$(retry_lines "$WORK/m.err")"
expect_eq "manifests: error" "$MSG" "$(grep 'error:' "$WORK/m.err")"
expect_eq "manifests: PUTs" 3 "$(in_log "^PUT /v2/manifests/test/busybox/manifests/")"
expect_eq "manifests: no tag in the registry" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' -I "http://$R/v2/manifests/test/busybox/manifests/1.0")"
# With -q: the error line only, no retry lines.
rc=0
"$INSTALL" -q images push --from "$WORK/a" --registry "$P/quiet" --plain-http --retries 2 --retry-delay 0.05 \
  >/dev/null 2>"$WORK/q.err" || rc=$?
expect_eq "quiet: exit code" 1 "$rc"
expect_eq "quiet: stderr" "${MSG//manifests\/test/quiet\/test}" "$(cat "$WORK/q.err")"

# 5. A 404 is not retried: one POST, exit 1, the registry's answer in the message.
rc=0
"$INSTALL" -q images push --from "$WORK/a" --registry "$P/notfound" --plain-http "${FAST[@]}" \
  >/dev/null 2>"$WORK/n.err" || rc=$?
expect_eq "404: exit code" 1 "$rc"
expect_eq "404: message" "kubeferry-install: error: push image 'busybox' to $P/notfound/test/busybox:1.0: start upload of blob $CONFIG (POST http://$P/v2/notfound/test/busybox/blobs/uploads/): registry $P, repository notfound/test/busybox answered HTTP 404 Not Found" \
  "$(cat "$WORK/n.err")"
expect_eq "404: POSTs" 1 "$(in_log "^POST /v2/notfound/")"

# 6. Ctrl-C during the wait before a retry (20 s): exit 130 at once.
"$INSTALL" images push --from "$WORK/a" --registry "$P/interrupt" --plain-http --retries 3 --retry-delay 20 \
  >"$WORK/i.out" 2>"$WORK/i.err" &
PUSH_PID=$!
for _ in $(seq 1 400); do grep -qF '; retrying in 20000 ms' "$WORK/i.err" && break; sleep 0.05; done
grep -qF '; retrying in 20000 ms (attempt 2 of 4)' "$WORK/i.err" || fail "interrupt: no retry line: $(cat "$WORK/i.err")"
t0=$(now_ms)
kill -INT "$PUSH_PID"
rc=0; wait "$PUSH_PID" || rc=$?
t_int=$(($(now_ms) - t0))
expect_eq "interrupt: exit code" 130 "$rc"
# Well under the 20 s wait; not tighter, so a loaded CI machine does not fail it.
[[ "$t_int" -lt 5000 ]] || fail "interrupt: took $t_int ms"
expect_eq "interrupt: error" "kubeferry-install: error: push image 'busybox' to $P/interrupt/test/busybox:1.0: interrupted" \
  "$(grep 'error:' "$WORK/i.err")"
expect_eq "interrupt: stdout" "" "$(cat "$WORK/i.out")"

echo "images_push_faults: Retry-After push ${t_slow} ms; Ctrl-C during a retry wait ${t_int} ms"
echo "images_push_faults: all checks passed"
