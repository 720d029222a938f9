#!/usr/bin/env python3
"""Writes a bare bundle whose signed index is large: N empty files f000000, f000001, ...

Usage: big_index_bundle.py KEY OUT N
KEY is a kubeferry keygen private key; signing uses the openssl command (Ed25519). The layout
follows bundle-spec/FORMAT.md sections 1-3 (bare payload: no installer). The payload is the zstd
command's frame of an empty tar, which FORMAT.md 4.2 refuses: verify reads and checks the whole
signed index (signature, canonical form, entry rules) and only then refuses the payload.
Used to measure peak memory on a hostile index (tests/cli/bounded_input.sh).
"""
import hashlib
import json
import struct
import subprocess
import sys
import tempfile


def main():
    key, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    signer = "SHA256:" + hashlib.sha256(der).hexdigest()
    raw_public = der[-32:]
    payload = subprocess.run(["zstd", "-q", "-c"], input=b"\0" * 1024, check=True, capture_output=True).stdout
    empty = hashlib.sha256(b"").hexdigest()
    entries = ",".join(
        '{"mode":420,"path":"f%07d","sha256":"%s","size":0,"type":"file"}' % (i, empty) for i in range(count))
    head = {"compression": {"algorithm": "zstd", "level": 19, "window_log": 27}, "created": 0,
            "format_version": 1, "name": "big", "payload": {"offset": 0, "sha256": hashlib.sha256(payload).hexdigest(),
                                                           "size": len(payload)},
            "platform": "linux/amd64", "signer": signer}
    text = json.dumps(dict(head, entries=[]), sort_keys=True, separators=(",", ":"))
    index = text.replace('"entries":[]', '"entries":[' + entries + "]").encode()
    with tempfile.NamedTemporaryFile() as message:
        message.write(b"kubeferry bundle index v1\n" + index)
        message.flush()
        signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", message.name],
                                   check=True, capture_output=True).stdout
    trailer = struct.pack("<QQQQ16sII8s", 0, len(payload), len(index), 96, b"\0" * 16, 1, 64, b"KFBUNDLE")
    with open(out, "wb") as f:
        f.write(payload + index + raw_public + signature + trailer)


if __name__ == "__main__":
    main()
