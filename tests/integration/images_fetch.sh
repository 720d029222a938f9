#!/usr/bin/env bash
# `kubeferry images fetch` against real docker-registry 2.8 instances on 127.0.0.1
# (scripts/rig/registry.sh): plain HTTP, TLS with a test CA, htpasswd basic auth and the
# registry's own `auth: token` mode with a token issuer; images built by umoci from
# busybox-static and pushed by skopeo (OCI manifest, docker v2 manifest, OCI index and docker
# manifest list with amd64 + arm64, two images sharing a layer).
# Checks the bundle layout (blobs once, every blob's SHA-256 = its name, images.json), the
# cache, and the exact errors for a wrong pinned digest, a corrupted blob, a missing platform,
# missing credentials and an untrusted TLS certificate.
set -euo pipefail

BIN="${KF_BIN_DIR:?}/kubeferry"
SRC="${KF_SOURCE_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools docker-registry skopeo umoci htpasswd openssl curl python3 busybox

WORK="$(mktemp -d)"
PROXY_PID=""
cleanup() {
  [[ -z "$PROXY_PID" ]] || kill "$PROXY_PID" 2>/dev/null || true
  registry_down "$WORK/rig"
  rm -rf "$WORK"
}
trap cleanup EXIT

registry_up "$WORK/rig"

# A manifest whose images live on registry HOST (its artifact is only validated, never fetched).
write_manifest() { images_manifest "$1" images-test "${@:2}"; }  # FILE HOST [NAME=REPO:TAG@DIGEST]...
ALL=("busybox=test/busybox:1.0@$DIGEST_BUSYBOX_1_0"
     "busybox-v2=test/busybox:1.0-v2s2@$DIGEST_BUSYBOX_1_0_V2S2"
     "multi=test/busybox:multi@$DIGEST_BUSYBOX_MULTI"
     "multi-v2=test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2"
     "tools=test/tools:1.0@$DIGEST_TOOLS_1_0")

# 1. Plain HTTP, all five images.
write_manifest "$WORK/plain.yaml" "$REG_PLAIN" "${ALL[@]}"
mkdir "$WORK/out1"
"$BIN" -q images fetch "$WORK/plain.yaml" --out "$WORK/out1" --plain-http "$REG_PLAIN" --cache "$WORK/cache" \
  >"$WORK/out1.txt"
expect_eq "fetch stdout" "image busybox $REG_PLAIN/test/busybox:1.0@$DIGEST_BUSYBOX_1_0 linux/amd64
image busybox-v2 $REG_PLAIN/test/busybox:1.0-v2s2@$DIGEST_BUSYBOX_1_0_V2S2 linux/amd64
image multi $REG_PLAIN/test/busybox:multi@$DIGEST_BUSYBOX_MULTI linux/amd64
image multi-v2 $REG_PLAIN/test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2 linux/amd64
image tools $REG_PLAIN/test/tools:1.0@$DIGEST_TOOLS_1_0 linux/amd64" "$(cat "$WORK/out1.txt")"

# Layout: every blob named by its SHA-256, each digest of images.json exactly once on disk, and
# busybox's layer shared by busybox and tools (stored once).
IMG="$WORK/out1/images"
for f in "$IMG"/blobs/sha256/*; do
  expect_eq "blob $f" "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
done
python3 - "$IMG" <<'EOF'
import json, os, sys
img = sys.argv[1]
index = json.load(open(f"{img}/images.json"))
assert index["version"] == 1, index
digests, layers = set(), {}
for image in index["images"]:
    digests.add(image["target"]["digest"])
    for p in image["platforms"]:
        for d in [p["manifest"], p["config"]] + p["layers"]:
            digests.add(d["digest"])
        layers[image["name"]] = [l["digest"] for l in p["layers"]]
on_disk = {"sha256:" + f for f in os.listdir(f"{img}/blobs/sha256")}
assert on_disk == digests, (sorted(on_disk ^ digests))
assert layers["tools"][0] == layers["busybox"][0] and len(layers["tools"]) == 2, layers
# the OCI index and the docker manifest list point at their amd64 manifests
by = {i["name"]: i for i in index["images"]}
assert by["multi"]["target"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
assert by["multi-v2"]["target"]["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
assert by["busybox-v2"]["target"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
assert by["multi"]["platforms"][0]["manifest"]["digest"] == by["busybox"]["target"]["digest"]
print("layout ok:", len(on_disk), "blobs")
EOF
[[ -z "$(find "$WORK/out1" -name 'images.tmp-*')" ]] || fail "temporary folder left behind"

# 2. Warm cache: nothing downloaded, same images.json.
mkdir "$WORK/out2"
"$BIN" images fetch "$WORK/plain.yaml" --out "$WORK/out2" --plain-http "$REG_PLAIN" --cache "$WORK/cache" \
  >/dev/null 2>"$WORK/out2.err"
grep -q "; 0 downloaded$" "$WORK/out2.err" || fail "warm cache downloaded: $(cat "$WORK/out2.err")"
cmp "$WORK/out1/images/images.json" "$WORK/out2/images/images.json" || fail "images.json differs on a warm cache"

# 3. Refuses an existing images folder.
set +e
"$BIN" images fetch "$WORK/plain.yaml" --out "$WORK/out1" --plain-http "$REG_PLAIN" --cache "$WORK/cache" \
  >/dev/null 2>"$WORK/err"; rc=$?
set -e
expect_eq "existing rc" 2 "$rc"
expect_eq "existing message" "kubeferry: error: $WORK/out1/images already exists; remove it or choose another output folder" "$(cat "$WORK/err")"

# 4. Both platforms of the index and of the manifest list.
write_manifest "$WORK/multi.yaml" "$REG_PLAIN" "${ALL[2]}" "${ALL[3]}"
mkdir "$WORK/out4"
"$BIN" -q images fetch "$WORK/multi.yaml" --out "$WORK/out4" --plain-http "$REG_PLAIN" --cache "$WORK/cache" \
  --platform linux/amd64 --platform linux/arm64 >"$WORK/out4.txt"
expect_eq "multi stdout" "image multi $REG_PLAIN/test/busybox:multi@$DIGEST_BUSYBOX_MULTI linux/amd64,linux/arm64
image multi-v2 $REG_PLAIN/test/busybox:multi-v2s2@$DIGEST_BUSYBOX_MULTI_V2S2 linux/amd64,linux/arm64" "$(cat "$WORK/out4.txt")"

# Error cases: exit code, exact message, and no images folder left behind.
expect_error() {  # expect_error WHAT RC MESSAGE -- ARGS...
  local what="$1" want_rc="$2" want="$3"; shift 4
  rm -rf "$WORK/err-out" && mkdir "$WORK/err-out"
  set +e
  "$BIN" -q images fetch "$@" --out "$WORK/err-out" >/dev/null 2>"$WORK/err"; local rc=$?
  set -e
  expect_eq "$what rc" "$want_rc" "$rc"
  expect_eq "$what message" "$want" "$(cat "$WORK/err")"
  [[ -z "$(ls -A "$WORK/err-out")" ]] || fail "$what left $(ls -A "$WORK/err-out")"
}

# 5. A platform the image lacks.
expect_error "missing platform (index)" 2 \
  "kubeferry: error: image 'multi' ($REG_PLAIN/test/busybox:multi): no manifest for linux/s390x in index $DIGEST_BUSYBOX_MULTI (it has linux/amd64, linux/arm64)" \
  -- "$WORK/multi.yaml" --plain-http "$REG_PLAIN" --cache "$WORK/cache" --platform linux/s390x
write_manifest "$WORK/one.yaml" "$REG_PLAIN" "${ALL[0]}"
expect_error "missing platform (manifest)" 2 \
  "kubeferry: error: image 'busybox' ($REG_PLAIN/test/busybox:1.0): the image is linux/amd64 only (manifest $DIGEST_BUSYBOX_1_0), not linux/arm64" \
  -- "$WORK/one.yaml" --plain-http "$REG_PLAIN" --cache "$WORK/cache" --platform linux/arm64

# 6. A wrong pinned digest (the tools image's digest pinned for busybox:1.0).
write_manifest "$WORK/wrong.yaml" "$REG_PLAIN" "busybox=test/busybox:1.0@$DIGEST_TOOLS_1_0"
expect_error "wrong digest" 3 \
  "kubeferry: error: image 'busybox' ($REG_PLAIN/test/busybox:1.0): the registry has no manifest $DIGEST_TOOLS_1_0 (HTTP 404); the tag 1.0 points to $DIGEST_BUSYBOX_1_0 now: check the pinned digest" \
  -- "$WORK/wrong.yaml" --plain-http "$REG_PLAIN" --cache "$WORK/cache2"

# 7. TLS with the test CA; without it the certificate is refused.
write_manifest "$WORK/tls.yaml" "$REG_TLS" "${ALL[4]}"
mkdir "$WORK/out7"
"$BIN" -q images fetch "$WORK/tls.yaml" --out "$WORK/out7" --cacert "$REG_CA" --cache "$WORK/cache-tls" >"$WORK/out7.txt"
expect_eq "tls stdout" "image tools $REG_TLS/test/tools:1.0@$DIGEST_TOOLS_1_0 linux/amd64" "$(cat "$WORK/out7.txt")"
expect_error "untrusted TLS" 1 \
  "kubeferry: error: image 'tools' ($REG_TLS/test/tools:1.0): GET https://$REG_TLS/v2/test/tools/manifests/$DIGEST_TOOLS_1_0: SSL certificate problem: unable to get local issuer certificate" \
  -- "$WORK/tls.yaml" --cache "$WORK/cache-tls2" --auth-file "$WORK/none.json"

# 8. Basic auth: refused without credentials; --creds and a docker config.json both work.
write_manifest "$WORK/basic.yaml" "$REG_BASIC" "${ALL[0]}"
expect_error "basic without creds" 1 \
  "kubeferry: error: image 'busybox' ($REG_BASIC/test/busybox:1.0): GET http://$REG_BASIC/v2/test/busybox/manifests/$DIGEST_BUSYBOX_1_0: registry $REG_BASIC wants a user name and password (Basic realm=\"rig-realm\"); pass --creds $REG_BASIC=USER:PASSWORD or add $REG_BASIC to the auths of the docker config.json" \
  -- "$WORK/basic.yaml" --plain-http "$REG_BASIC" --cache "$WORK/cache-basic" --auth-file "$WORK/none.json"
expect_error "basic wrong password" 1 \
  "kubeferry: error: image 'busybox' ($REG_BASIC/test/busybox:1.0): GET http://$REG_BASIC/v2/test/busybox/manifests/$DIGEST_BUSYBOX_1_0: HTTP 401 Unauthorized (UNAUTHORIZED: authentication required); the credentials of user 'riguser' were not accepted" \
  -- "$WORK/basic.yaml" --plain-http "$REG_BASIC" --cache "$WORK/cache-basic" --creds "$REG_BASIC=riguser:nope"
mkdir "$WORK/out8a" "$WORK/out8b"
"$BIN" -q images fetch "$WORK/basic.yaml" --out "$WORK/out8a" --plain-http "$REG_BASIC" --cache "$WORK/cache-basic" \
  --creds "$REG_BASIC=riguser:rigpass" >/dev/null
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG_BASIC" "$(printf riguser:rigpass | base64)" >"$WORK/docker.json"
"$BIN" -q images fetch "$WORK/basic.yaml" --out "$WORK/out8b" --plain-http "$REG_BASIC" --cache "$WORK/cache-basic2" \
  --auth-file "$WORK/docker.json" >/dev/null
expect_eq "basic blobs" "$(ls "$WORK/out8a/images/blobs/sha256")" "$(ls "$WORK/out8b/images/blobs/sha256")"

# 9. Token auth (the registry's `auth: token` mode): the issuer wants credentials.
write_manifest "$WORK/token.yaml" "$REG_TOKEN" "${ALL[0]}" "${ALL[4]}"
mkdir "$WORK/out9"
"$BIN" -q images fetch "$WORK/token.yaml" --out "$WORK/out9" --plain-http "$REG_TOKEN" --cache "$WORK/cache-token" \
  --creds "$REG_TOKEN=tokenuser:tokenpass" >"$WORK/out9.txt"
expect_eq "token stdout" "image busybox $REG_TOKEN/test/busybox:1.0@$DIGEST_BUSYBOX_1_0 linux/amd64
image tools $REG_TOKEN/test/tools:1.0@$DIGEST_TOOLS_1_0 linux/amd64" "$(cat "$WORK/out9.txt")"
grep -q 'GET /token?service=rig-registry&scope=repository%3Atest%2Fbusybox%3Apull' "$WORK/rig/issuer.log" \
  || fail "no token request for test/busybox: $(cat "$WORK/rig/issuer.log")"
REALM=$(sed -n "s/.*realm: '\([^']*\)'.*/\1/p" "$WORK/rig/token.yml")
expect_error "token without creds" 1 \
  "kubeferry: error: image 'busybox' ($REG_TOKEN/test/busybox:1.0): GET http://$REG_TOKEN/v2/test/busybox/manifests/$DIGEST_BUSYBOX_1_0: token server $REALM refused a token for test/busybox anonymously: HTTP 401 Unauthorized; pass --creds $REG_TOKEN=USER:PASSWORD or add $REG_TOKEN to the auths of the docker config.json" \
  -- "$WORK/token.yaml" --plain-http "$REG_TOKEN" --cache "$WORK/cache-token2" --auth-file "$WORK/none.json"

# 9b. A token that stops working during the downloads (tokens expire after minutes): a blob GET
# answered 401 gets a fresh token from the issuer and succeeds; 3 such answers in a row (beyond
# the 2 refreshes an artifact gets) fail with the registry's status. The fault proxy forwards
# those blob requests without their Authorization header, so the registry itself says 401.
run_token_proxy() {  # run_token_proxy K: a proxy in front of the token registry, stripping K blob GETs
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 "$SRC/scripts/rig/faultproxy.py" --port "$port" --upstream "$REG_TOKEN" --drop-auth "/blobs/:$1" \
    >"$WORK/proxy$1.log" 2>&1 &
  PROXY_PID=$!
  PROXY="127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://$PROXY/v2/" && break; sleep 0.05; done
}
run_token_proxy 1
write_manifest "$WORK/expiry.yaml" "$PROXY" "${ALL[4]}"
before=$(grep -c 'GET /token' "$WORK/rig/issuer.log")
mkdir "$WORK/out9b"
"$BIN" images fetch "$WORK/expiry.yaml" --out "$WORK/out9b" --plain-http "$PROXY" --cache "$WORK/cache-expiry" \
  --creds "$PROXY=tokenuser:tokenpass" -j 1 >/dev/null 2>"$WORK/out9b.err" || fail "fetch with an expiring token: $(cat "$WORK/out9b.err")"
grep -q 'HTTP 401; trying again with new credentials' "$WORK/out9b.err" || fail "no token refresh: $(cat "$WORK/out9b.err")"
expect_eq "token requests (manifest, then one refresh)" 2 $(($(grep -c 'GET /token' "$WORK/rig/issuer.log") - before))
TOOLS_BLOBS=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); p=[x for x in i["images"] if x["name"]=="tools"][0]["platforms"][0]; print(2 + len(p["layers"]))' "$IMG/images.json")
expect_eq "blobs after a refreshed token (manifest, config, layers)" "$TOOLS_BLOBS" "$(find "$WORK/out9b/images/blobs/sha256" -mindepth 1 -maxdepth 1 | grep -c .)"
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
run_token_proxy 3
write_manifest "$WORK/expiry3.yaml" "$PROXY" "${ALL[4]}"
FIRST_BLOB=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print([x for x in i["images"] if x["name"]=="tools"][0]["platforms"][0]["config"]["digest"])' "$IMG/images.json")
expect_error "token refused three times" 1 \
  "kubeferry: error: artifact 'image tools blob ${FIRST_BLOB:0:19}': GET http://$PROXY/v2/test/tools/blobs/$FIRST_BLOB: HTTP 401 Unauthorized" \
  -- "$WORK/expiry3.yaml" --plain-http "$PROXY" --cache "$WORK/cache-expiry3" --creds "$PROXY=tokenuser:tokenpass" -j 1
kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true

# 10. A corrupted blob: flip one byte of the tools-only layer in the registry's storage.
LAYER=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print([x for x in i["images"] if x["name"]=="tools"][0]["platforms"][0]["layers"][1]["digest"][7:])' "$IMG/images.json")
DATA="$REG_DATA/docker/registry/v2/blobs/sha256/${LAYER:0:2}/$LAYER/data"
[[ -f "$DATA" ]] || fail "no registry blob $DATA"
flip_byte "$DATA" 100
BAD=$(sha256sum "$DATA" | cut -d' ' -f1)
write_manifest "$WORK/tools.yaml" "$REG_PLAIN" "${ALL[4]}"
expect_error "corrupted blob" 3 \
  "kubeferry: error: artifact 'image tools blob sha256:${LAYER:0:12}': checksum mismatch for http://$REG_PLAIN/v2/test/tools/blobs/sha256:$LAYER: expected sha256:$LAYER, got sha256:$BAD; the downloaded bytes were deleted" \
  -- "$WORK/tools.yaml" --plain-http "$REG_PLAIN" --cache "$WORK/cache-bad"
[[ ! -e "$WORK/cache-bad/sha256/$LAYER" && ! -e "$WORK/cache-bad/partial/sha256-$LAYER" ]] || fail "corrupted bytes kept"

echo "images_fetch: all checks passed"
