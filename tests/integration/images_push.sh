#!/usr/bin/env bash
# `kubeferry-install images push` against real docker-registry 2.8 instances on 127.0.0.1
# (scripts/rig/registry.sh): plain HTTP, TLS with a test CA, htpasswd basic auth and the
# registry's `auth: token` mode with a token issuer. The four share one storage folder, so each
# push goes under its own prefix (a repository of its own: every blob is uploaded again).
# Checks, independently of our code, with skopeo: every tag resolves to the bundle's digest
# (the SHA-256 of `skopeo inspect --raw`), a multi-arch index included, and `skopeo copy --all`
# pulls the pushed images; a layer shared by two repositories is mounted, not uploaded twice.
# A second push says `present` for all and sends no upload (counted
# in the registry's access log). Failure paths with their exact messages: TLS without --cacert,
# a plain port without --plain-http, no credentials, a wrong password (basic and token; also
# credentials from a docker config.json, --auth-file or $DOCKER_CONFIG),
# connection refused (after retries), a read timeout, Ctrl-C, a corrupted blob (never completes an upload),
# usage errors. A fault-injecting proxy (chunked bodies, relative upload Locations, a 307 on a
# blob PUT) covers the HTTP client's other paths against the same real registry.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools docker-registry skopeo umoci htpasswd openssl curl python3 busybox

WORK="$(mktemp -d)"
PROXY_PID=""
SILENT_PID=""
cleanup() {
  for pid in $PROXY_PID $SILENT_PID; do kill "$pid" 2>/dev/null || true; done
  registry_down "$WORK/rig"
  rm -rf "$WORK"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }

registry_up "$WORK/rig"
R="$REG_PLAIN"
INSTALL="$BIN/kubeferry-install"

# 1. Two bundles from the rig: A with the default platform (linux/amd64: the two multi-arch
#    images hold one of their two platforms) as a signed .run, B with both platforms of them.
write_manifest() { images_manifest "$1" push-test "$R" "${@:2}"; }  # FILE [NAME=REPO:TAG@DIGEST]...
write_manifest "$WORK/a.yaml" "busybox=test/busybox:1.0@$DIGEST_BUSYBOX_1_0" \
  "busybox-v2=test/busybox:1.0-v2s2@$DIGEST_BUSYBOX_1_0_V2S2" "multi=test/busybox:multi@$DIGEST_BUSYBOX_MULTI" \
  "multi-v2=test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2" "tools=test/tools:1.0@$DIGEST_TOOLS_1_0"
write_manifest "$WORK/b.yaml" "multi=test/busybox:multi@$DIGEST_BUSYBOX_MULTI" \
  "multi-v2=test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2"
mkdir "$WORK/a" "$WORK/b"
"$BIN/kubeferry" -q images fetch "$WORK/a.yaml" --out "$WORK/a" --plain-http "$R" --cache "$WORK/cache" >/dev/null
"$BIN/kubeferry" -q images fetch "$WORK/b.yaml" --out "$WORK/b" --plain-http "$R" --cache "$WORK/cache" \
  --platform linux/amd64 --platform linux/arm64 >/dev/null
"$BIN/kubeferry" -q keygen --out "$WORK/key" >/dev/null 2>&1
"$BIN/kubeferry" -q pack "$WORK/a" --name push-test --key "$WORK/key" -o "$WORK/a.run" --level 3 >/dev/null
# The platform manifests of the two multi-arch images (amd64 first, as fetched).
manifest_of() {  # manifest_of DIR NAME INDEX
  python3 -c 'import json,sys; i=json.load(open(sys.argv[1]+"/images/images.json")); print([x for x in i["images"] if x["name"]==sys.argv[2]][0]["platforms"][int(sys.argv[3])]["manifest"]["digest"])' "$@"
}
MULTI_AMD64=$(manifest_of "$WORK/b" multi 0)
MULTI_V2_AMD64=$(manifest_of "$WORK/b" multi-v2 0)
expect_eq "multi amd64 manifest = busybox:1.0" "$DIGEST_BUSYBOX_1_0" "$MULTI_AMD64"

mkdir -p "$WORK/certs.d" && cp "$REG_CA" "$WORK/certs.d/ca.crt"
# raw_digest OPTS... REF: the SHA-256 of the bytes the registry serves for REF (skopeo, not us).
raw_digest() { echo "sha256:$(skopeo inspect --raw "$@" | sha256sum | cut -d' ' -f1)"; }
posts() { grep -c '"POST /v2/' "$WORK/rig/$1.log" || true; }
puts() { grep -c '"PUT /v2/' "$WORK/rig/$1.log" || true; }

# 2. Plain HTTP, from the .run (verified and extracted on the way), under prefix "plain".
t0=$(now_ms)
"$INSTALL" --bundle "$WORK/a.run" images push --registry "$R/plain" --plain-http >"$WORK/p1.txt" 2>"$WORK/p1.err" \
  || fail "plain push: $(cat "$WORK/p1.err")"
t_plain=$(($(now_ms) - t0))
expect_eq "plain push stdout" "pushed busybox $R/plain/test/busybox:1.0@$DIGEST_BUSYBOX_1_0
pushed busybox-v2 $R/plain/test/busybox:1.0-v2s2@$DIGEST_BUSYBOX_1_0_V2S2
pushed multi $R/plain/test/busybox:multi@$MULTI_AMD64
pushed multi-v2 $R/plain/test/busybox:multi-v2s2@$MULTI_V2_AMD64
pushed tools $R/plain/test/tools:1.0@$DIGEST_TOOLS_1_0" "$(cat "$WORK/p1.txt")"
# The index of a bundle holding one of its two platforms is refused by distribution; the tag
# names the bundle's platform manifest, and the warning says so.
grep -qxF "kubeferry-install: warning: image 'multi': registry $R refused index $DIGEST_BUSYBOX_MULTI because the bundle lacks some of its platforms; $R/plain/test/busybox:multi names the linux/amd64 manifest $MULTI_AMD64 instead (references by the index digest will not resolve there)" "$WORK/p1.err" \
  || fail "plain push: no fallback warning in: $(cat "$WORK/p1.err")"
P="--tls-verify=false"
for pair in 1.0=$DIGEST_BUSYBOX_1_0 1.0-v2s2=$DIGEST_BUSYBOX_1_0_V2S2 multi=$MULTI_AMD64 multi-v2s2=$MULTI_V2_AMD64; do
  expect_eq "plain tag ${pair%%=*}" "${pair#*=}" "$(raw_digest $P "docker://$R/plain/test/busybox:${pair%%=*}")"
done
expect_eq "plain tag tools" "$DIGEST_TOOLS_1_0" "$(raw_digest $P "docker://$R/plain/test/tools:1.0")"
expect_eq "plain manifest by digest" "$DIGEST_BUSYBOX_1_0" "$(raw_digest $P "docker://$R/plain/test/busybox@$DIGEST_BUSYBOX_1_0")"
skopeo copy -q $P "docker://$R/plain/test/tools:1.0" "oci:$WORK/oci-plain:tools" || fail "skopeo cannot pull the pushed tools image"
# busybox's layer, shared by tools, was mounted from plain/test/busybox, not uploaded again.
SHARED=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print([x for x in i["images"] if x["name"]=="busybox"][0]["platforms"][0]["layers"][0]["digest"])' "$WORK/a/images/images.json")
grep -qF "\"POST /v2/plain/test/tools/blobs/uploads/?mount=${SHARED/:/%3A}&from=plain%2Ftest%2Fbusybox HTTP/1.1\" 201" \
  "$WORK/rig/plain.log" || fail "the shared layer $SHARED was not mounted into plain/test/tools"
expect_eq "shared layer uploaded once" 1 "$(grep -c "\"PUT /v2/plain/test/[a-z]*/blobs/uploads/[^ ]*digest=${SHARED/:/%3A}" "$WORK/rig/plain.log")"

# 3. A second push: everything present, no upload started, no manifest written.
POSTS=$(posts plain); PUTS=$(puts plain)
"$INSTALL" -q images push --from "$WORK/a" --registry "$R/plain" --plain-http >"$WORK/p2.txt" 2>"$WORK/p2.err" \
  || fail "plain re-push: $(cat "$WORK/p2.err")"
expect_eq "plain re-push stdout" "present busybox $R/plain/test/busybox:1.0@$DIGEST_BUSYBOX_1_0
present busybox-v2 $R/plain/test/busybox:1.0-v2s2@$DIGEST_BUSYBOX_1_0_V2S2
present multi $R/plain/test/busybox:multi@$MULTI_AMD64
present multi-v2 $R/plain/test/busybox:multi-v2s2@$MULTI_V2_AMD64
present tools $R/plain/test/tools:1.0@$DIGEST_TOOLS_1_0" "$(cat "$WORK/p2.txt")"
# -q leaves only the warnings: the two multi-arch tags still name a platform manifest.
expect_eq "re-push stderr with -q" "kubeferry-install: warning: image 'multi': registry $R refused index $DIGEST_BUSYBOX_MULTI because the bundle lacks some of its platforms; $R/plain/test/busybox:multi names the linux/amd64 manifest $MULTI_AMD64 instead (references by the index digest will not resolve there)
kubeferry-install: warning: image 'multi-v2': registry $R refused index $DIGEST_BUSYBOX_MULTI_V2S2 because the bundle lacks some of its platforms; $R/plain/test/busybox:multi-v2s2 names the linux/amd64 manifest $MULTI_V2_AMD64 instead (references by the index digest will not resolve there)" "$(cat "$WORK/p2.err")"
[[ "$POSTS" -gt 0 ]] || fail "the registry's access log shows no POST for the first push (log format changed?)"
expect_eq "re-push: uploads started" "$POSTS" "$(posts plain)"
expect_eq "re-push: PUTs" "$PUTS" "$(puts plain)"

# 4. TLS with --cacert, bundle B: the multi-arch index and manifest list go in whole.
t0=$(now_ms)
"$INSTALL" -q images push --from "$WORK/b" --registry "$REG_TLS/tls" --cacert "$REG_CA" >"$WORK/t1.txt" 2>"$WORK/t1.err" \
  || fail "tls push: $(cat "$WORK/t1.err")"
t_tls=$(($(now_ms) - t0))
expect_eq "tls push stdout" "pushed multi $REG_TLS/tls/test/busybox:multi@$DIGEST_BUSYBOX_MULTI
pushed multi-v2 $REG_TLS/tls/test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2" "$(cat "$WORK/t1.txt")"
C=(--cert-dir "$WORK/certs.d")
expect_eq "tls index" "$DIGEST_BUSYBOX_MULTI" "$(raw_digest "${C[@]}" "docker://$REG_TLS/tls/test/busybox:multi")"
expect_eq "tls manifest list" "$DIGEST_BUSYBOX_MULTI_V2S2" "$(raw_digest "${C[@]}" "docker://$REG_TLS/tls/test/busybox:multi-v2s2")"
for i in 0 1; do
  d=$(manifest_of "$WORK/b" multi $i)
  expect_eq "tls platform manifest $i" "$d" "$(raw_digest "${C[@]}" "docker://$REG_TLS/tls/test/busybox@$d")"
done
expect_eq "tls arm64 config" "arm64" \
  "$(skopeo inspect "${C[@]}" --override-arch arm64 --format '{{.Architecture}}' "docker://$REG_TLS/tls/test/busybox:multi")"
skopeo copy -q --all --src-cert-dir "$WORK/certs.d" "docker://$REG_TLS/tls/test/busybox:multi" "oci:$WORK/oci-tls:multi" \
  || fail "skopeo copy --all of the pushed index failed"
"$INSTALL" -q images push --from "$WORK/b" --registry "$REG_TLS/tls" --cacert "$REG_CA" >"$WORK/t2.txt"
expect_eq "tls re-push" "present multi $REG_TLS/tls/test/busybox:multi@$DIGEST_BUSYBOX_MULTI
present multi-v2 $REG_TLS/tls/test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2" "$(cat "$WORK/t2.txt")"

# 5. Basic auth (password file; then the environment variable), and token auth.
printf 'rigpass\n' >"$WORK/pw"
"$INSTALL" -q images push --from "$WORK/a" --registry "$REG_BASIC/basic" --plain-http --username riguser \
  --password-file "$WORK/pw" >"$WORK/b1.txt" 2>"$WORK/b1.err" || fail "basic push: $(cat "$WORK/b1.err")"
expect_eq "basic push count" 5 "$(grep -c '^pushed ' "$WORK/b1.txt")"
expect_eq "basic tag" "$DIGEST_TOOLS_1_0" \
  "$(raw_digest $P --creds riguser:rigpass "docker://$REG_BASIC/basic/test/tools:1.0")"
KUBEFERRY_REGISTRY_PASSWORD=rigpass "$INSTALL" -q images push --from "$WORK/a" --registry "$REG_BASIC/basic" \
  --plain-http --username riguser >"$WORK/b2.txt" || fail "basic push with the environment's password"
expect_eq "basic re-push (env password)" 5 "$(grep -c '^present ' "$WORK/b2.txt")"
# The credentials `docker login` wrote (a docker config.json) when none are on the command line:
# --auth-file, else $DOCKER_CONFIG/config.json. A key may be a URL; "auth" is base64 of USER:PASS.
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG_BASIC" "$(printf riguser:rigpass | base64)" >"$WORK/auth.json"
"$INSTALL" -q images push --from "$WORK/a" --registry "$REG_BASIC/basic" --plain-http --auth-file "$WORK/auth.json" \
  >"$WORK/b3.txt" 2>"$WORK/b3.err" || fail "basic push with --auth-file: $(cat "$WORK/b3.err")"
expect_eq "basic re-push (--auth-file)" 5 "$(grep -c '^present ' "$WORK/b3.txt")"
mkdir "$WORK/dc"
printf '{"auths":{"http://%s/v2/":{"username":"riguser","password":"wrong"}}}\n' "$REG_BASIC" >"$WORK/dc/config.json"
rc=0; DOCKER_CONFIG="$WORK/dc" "$INSTALL" -q images push --from "$WORK/a" --registry "$REG_BASIC/basic" --plain-http \
  >/dev/null 2>"$WORK/b4.err" || rc=$?
expect_eq "DOCKER_CONFIG wrong password: exit code" 1 "$rc"
expect_eq "DOCKER_CONFIG wrong password: message" "kubeferry-install: error: registry $REG_BASIC: the credentials of user 'riguser' were refused (HTTP 401 Unauthorized (UNAUTHORIZED: authentication required)); check the auths entry for $REG_BASIC in $WORK/dc/config.json" \
  "$(cat "$WORK/b4.err")"
printf 'tokenpass' >"$WORK/tpw"
"$INSTALL" -q images push --from "$WORK/b" --registry "$REG_TOKEN/token" --plain-http --username tokenuser \
  --password-file "$WORK/tpw" >"$WORK/k1.txt" 2>"$WORK/k1.err" || fail "token push: $(cat "$WORK/k1.err")"
expect_eq "token push stdout" "pushed multi $REG_TOKEN/token/test/busybox:multi@$DIGEST_BUSYBOX_MULTI
pushed multi-v2 $REG_TOKEN/token/test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2" "$(cat "$WORK/k1.txt")"
expect_eq "token index" "$DIGEST_BUSYBOX_MULTI" \
  "$(raw_digest $P --creds tokenuser:tokenpass "docker://$REG_TOKEN/token/test/busybox:multi")"

# 5b. Through a fault-injecting proxy in front of the plain registry (the registry stores every
#     byte): every response body chunked (with a chunk extension), each upload Location made
#     relative to the POST's folder, and the first blob PUT redirected (307) elsewhere, so the
#     file body is sent twice. The proxy counts what it did.
cat >"$WORK/proxy.py" <<'PY'
import http.client, http.server, sys, threading, urllib.parse
PORT_FILE, UPSTREAM, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
state = {"chunked": 0, "relative": 0, "redirect": 0}
def count(key):
    with lock:
        state[key] += 1
        open(LOG, "w").write(" ".join(f"{k}={v}" for k, v in sorted(state.items())) + "\n")
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path
        if self.command == "PUT" and "/blobs/uploads/" in path and state["redirect"] == 0:
            count("redirect")
            self.send_response(307)
            self.send_header("Location", "/moved" + path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/moved/"):
            path = path[len("/moved"):]
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        up = http.client.HTTPConnection(UPSTREAM, timeout=30)
        up.request(self.command, path, body=body, headers=headers)
        r = up.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            lk = k.lower()
            if lk in ("content-length", "transfer-encoding", "connection", "date", "server"):
                continue
            if lk == "location" and self.command == "POST":
                u = urllib.parse.urlsplit(v)
                folder = urllib.parse.urlsplit(self.path).path
                if u.path.startswith(folder):
                    v = u.path[len(folder):] + ("?" + u.query if u.query else "")
                    count("relative")
            self.send_header(k, v)
        if self.command == "HEAD" or r.status in (204, 304):
            if r.getheader("Content-Length"):
                self.send_header("Content-Length", r.getheader("Content-Length"))
            self.end_headers()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(data), 1000):
            piece = data[i:i + 1000]
            self.wfile.write(b"%x;kf=1\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        if data:
            count("chunked")
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(PORT_FILE, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 "$WORK/proxy.py" "$WORK/proxy.port" "$R" "$WORK/proxy.log" &
PROXY_PID=$!
for _ in $(seq 1 300); do [[ -s "$WORK/proxy.port" ]] && break; sleep 0.1; done
PROXY="127.0.0.1:$(cat "$WORK/proxy.port")"
"$INSTALL" -q images push --from "$WORK/a" --registry "$PROXY/proxied" --plain-http >"$WORK/x1.txt" 2>"$WORK/x1.err" \
  || fail "push through the proxy: $(cat "$WORK/x1.err")"
kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true
expect_eq "proxied push" 5 "$(grep -c "^pushed .* $PROXY/proxied/" "$WORK/x1.txt")"
read -r chunked redirect relative < <(sed 's/[a-z]*=//g' "$WORK/proxy.log")
[[ "$chunked" -gt 0 && "$relative" -gt 0 && "$redirect" -eq 1 ]] || fail "proxy did not do its faults: $(cat "$WORK/proxy.log")"
expect_eq "proxied tag" "$DIGEST_TOOLS_1_0" "$(raw_digest $P "docker://$R/proxied/test/tools:1.0")"
expect_eq "proxied manifest list fallback" "$MULTI_V2_AMD64" "$(raw_digest $P "docker://$R/proxied/test/busybox:multi-v2s2")"

# 6. Failures, each with its exact message and exit code.
expect_error() {  # expect_error NAME RC MESSAGE -- ARGS...
  local name="$1" want_rc="$2" want="$3" rc=0; shift 4
  "$INSTALL" -q images push "$@" >"$WORK/err.out" 2>"$WORK/err.txt" || rc=$?
  expect_eq "$name: exit code" "$want_rc" "$rc"
  expect_eq "$name: message" "kubeferry-install: error: $want" "$(grep -v '^kubeferry-install: warning: ' "$WORK/err.txt")"
}
SYSTEM_CA=""
for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem; do
  if [[ -r "$f" ]]; then SYSTEM_CA="$f"; break; fi
done
if [[ -n "$SYSTEM_CA" ]]; then
  expect_error "tls without --cacert" 1 \
    "TLS certificate of $REG_TLS is not trusted (unable to get local issuer certificate, checked against $SYSTEM_CA); pass --cacert FILE with the CA that signed the registry's certificate" \
    -- --from "$WORK/b" --registry "$REG_TLS/x"
else
  expect_error "tls without --cacert" 2 \
    "no system CA bundle found (tried /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/ca-bundle.pem); pass --cacert FILE" \
    -- --from "$WORK/b" --registry "$REG_TLS/x"
fi
# The certificate names 127.0.0.1 only: "localhost" (resolved through /etc/hosts) is refused.
expect_error "tls with a name the certificate lacks" 1 \
  "TLS certificate of localhost:${REG_TLS#*:} is not trusted by --cacert $REG_CA: hostname mismatch" \
  -- --from "$WORK/b" --registry "localhost:${REG_TLS#*:}/x" --cacert "$REG_CA"
# A CA that did not sign the registry's certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=other CA" \
  -keyout "$WORK/other-key.pem" -out "$WORK/other.pem" 2>/dev/null
expect_error "tls with another CA" 1 \
  "TLS certificate of $REG_TLS is not trusted by --cacert $WORK/other.pem: unable to get local issuer certificate" \
  -- --from "$WORK/b" --registry "$REG_TLS/x" --cacert "$WORK/other.pem"
expect_error "plain port without --plain-http" 1 \
  "TLS handshake with $R failed: wrong version number (if the registry speaks plain HTTP, pass --plain-http)" \
  -- --from "$WORK/b" --registry "$R/x"
expect_error "basic without credentials" 1 \
  "registry $REG_BASIC wants a user name and password (Basic realm=\"rig-realm\"); pass --username USER and --password-file FILE (or set KUBEFERRY_REGISTRY_PASSWORD)" \
  -- --from "$WORK/b" --registry "$REG_BASIC/x" --plain-http
printf 'wrong\n' >"$WORK/bad-pw"
expect_error "basic with a wrong password" 1 \
  "registry $REG_BASIC: the credentials of user 'riguser' were refused (HTTP 401 Unauthorized (UNAUTHORIZED: authentication required)); check --username and the password" \
  -- --from "$WORK/b" --registry "$REG_BASIC/x" --plain-http --username riguser --password-file "$WORK/bad-pw"
ISSUER="$(sed -n 's/.*realm: .\(http[^'"'"']*\).*/\1/p' "$WORK/rig/token.yml")"
expect_error "token with a wrong password" 1 \
  "push image 'multi' to $REG_TOKEN/x/test/busybox:multi: token server $ISSUER refused a token for repository:x/test/busybox:pull,push as user 'tokenuser' (HTTP 401 Unauthorized); check --username and the password" \
  -- --from "$WORK/b" --registry "$REG_TOKEN/x" --plain-http --username tokenuser --password-file "$WORK/bad-pw"
FREE=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Refused connections are retried (images_push_faults.sh covers retries in depth).
expect_error "connection refused" 1 "cannot connect to 127.0.0.1:$FREE: Connection refused (gave up after 2 attempts)" \
  -- --from "$WORK/b" --registry "127.0.0.1:$FREE" --plain-http --retries 1 --retry-delay 0.05
expect_error "unknown host" 1 \
  "cannot resolve host 'registry.kubeferry-test.invalid': it is not an IP address and /etc/hosts does not name it (kubeferry-install does no DNS lookups: add 'registry.kubeferry-test.invalid' to /etc/hosts or use the registry's IP address)" \
  -- --from "$WORK/b" --registry registry.kubeferry-test.invalid:5000 --plain-http
expect_error "a URL as --registry" 2 \
  "--registry 'http://$R': give the registry without a scheme; pass --plain-http for http (expected HOST[:PORT][/PREFIX])" \
  -- --from "$WORK/b" --registry "http://$R"
expect_error "username without password" 2 \
  "--username needs a password: --password-file FILE or KUBEFERRY_REGISTRY_PASSWORD" \
  -- --from "$WORK/b" --registry "$R" --plain-http --username riguser
expect_error "--cacert with --plain-http" 2 "--cacert is for https; it has no use with --plain-http" \
  -- --from "$WORK/b" --registry "$R" --plain-http --cacert "$REG_CA"
rc=0; "$INSTALL" -q images push --from "$WORK/b" >/dev/null 2>"$WORK/err.txt" || rc=$?
expect_eq "--registry required: exit code" 2 "$rc"

# A corrupted layer: the images before it are pushed, its upload never completes (the last
# chunk is held back until the SHA-256 matches), and nothing names the image.
cp -r "$WORK/a" "$WORK/bad"
TOOLS_LAYER=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print([x for x in i["images"] if x["name"]=="tools"][0]["platforms"][0]["layers"][1]["digest"])' "$WORK/a/images/images.json")
BLOB="$WORK/bad/images/blobs/sha256/${TOOLS_LAYER#sha256:}"
chmod u+w "$BLOB"
flip_byte "$BLOB" 100
expect_error "corrupted blob" 3 \
  "push image 'tools' to $R/bad/test/tools:1.0: blob $TOOLS_LAYER: $BLOB is corrupted: its SHA-256 is sha256:$(sha256sum "$BLOB" | cut -d' ' -f1), expected $TOOLS_LAYER; extract the bundle again" \
  -- --from "$WORK/bad" --registry "$R/bad" --plain-http
expect_eq "corrupted: the images before it" 4 "$(grep -c '^pushed ' "$WORK/err.out")"
expect_eq "corrupted: nothing names tools" "" "$(grep tools "$WORK/err.out" || true)"
expect_eq "corrupted: the layer is not in the registry" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' -I "http://$R/v2/bad/test/tools/blobs/$TOOLS_LAYER")"
expect_eq "corrupted: no tag" 404 \
  "$(curl -s -o /dev/null -w '%{http_code}' -I "http://$R/v2/bad/test/tools/manifests/1.0")"

# Ctrl-C while the registry does not answer (a fake server that accepts and stays silent):
# exit 130 at once, nothing reported.
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(5); print(s.getsockname()[1], flush=True); c=s.accept(); time.sleep(60)' \
  >"$WORK/silent.port" &
SILENT_PID=$!
for _ in $(seq 1 300); do [[ -s "$WORK/silent.port" ]] && break; sleep 0.1; done
"$INSTALL" -q images push --from "$WORK/b" --registry "127.0.0.1:$(cat "$WORK/silent.port")" --plain-http \
  >"$WORK/int.out" 2>"$WORK/int.err" &
PUSH_PID=$!
# (meanwhile, --timeout: the silent server accepts one connection; the backlog holds the next)
expect_error "read timeout" 1 "receive from 127.0.0.1:$(cat "$WORK/silent.port"): timed out after 1 s" \
  -- --from "$WORK/b" --registry "127.0.0.1:$(cat "$WORK/silent.port")" --plain-http --timeout 1 --retries 0
kill -INT "$PUSH_PID"
rc=0; wait "$PUSH_PID" || rc=$?
kill "$SILENT_PID" 2>/dev/null || true; wait "$SILENT_PID" 2>/dev/null || true
expect_eq "interrupted: exit code" 130 "$rc"
expect_eq "interrupted: message" "kubeferry-install: error: interrupted" "$(cat "$WORK/int.err")"
expect_eq "interrupted: nothing reported" "" "$(cat "$WORK/int.out")"

# 7. Timings: our push of bundle A (from the .run) beside skopeo copying the same five images
#    registry to registry (its source is the rig, so it has no bundle to verify or extract).
t0=$(now_ms)
for ref in test/busybox:1.0 test/busybox:1.0-v2s2 test/busybox:multi test/busybox:multi-v2s2 test/tools:1.0; do
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$R/$ref" "docker://$R/skopeo/$ref"
done
t_skopeo=$(($(now_ms) - t0))
echo "images_push: timings: push of bundle A (.run, 5 images) ${t_plain} ms; skopeo copy of the same 5 images ${t_skopeo} ms; push of bundle B over TLS (2 multi-arch images) ${t_tls} ms"
echo "images_push: all checks passed"
