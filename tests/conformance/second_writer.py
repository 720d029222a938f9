#!/usr/bin/python3
"""A second bundle writer, written from bundle-spec/FORMAT.md alone (no kubeferry code).

Usage: second_writer.py DIR KEY OUT --name NAME --epoch N [--level L] [--platform P]
                        [--installer FILE | --bare]
Writes OUT, OUT.sha256 and OUT.sha256.sig as FORMAT.md sections 1-4 and 7 describe them, for
the tree in DIR with pack's normalised modes (3.3). Signing uses the openssl command (Ed25519);
compression uses python3-zstandard (Debian), which links the system libzstd.
tests/conformance/conformance.sh checks that its output equals `kubeferry pack`'s, byte for byte.
"""
import argparse
import hashlib
import json
import os
import stat
import struct
import subprocess
import sys
import tempfile

import zstandard

BLOCK = 512
MAX_OCTAL = 0o77777777777  # 4.1.3: what 11 octal digits hold
CONTEXT = b"kubeferry bundle index v1\n"  # 5, step 2


# ---------------------------------------------------------------- 3.3: entries from a folder

def scan(root):
    """Entries sorted by path bytes; pack's normalised modes (3.3)."""
    entries = []

    def walk(rel):
        full = os.path.join(root, rel) if rel else root
        for name in os.listdir(os.fsencode(full)):
            child = os.path.join(os.fsencode(rel), name) if rel else name
            path = os.path.join(os.fsencode(root), child)
            st = os.lstat(path)
            entry = {"path": child.decode("utf-8")}
            if stat.S_ISDIR(st.st_mode):
                entry.update(type="directory", mode=0o755)
                entries.append((entry, None))
                walk(child.decode("utf-8"))
            elif stat.S_ISLNK(st.st_mode):
                entry.update(type="symlink", mode=0o777, target=os.fsdecode(os.readlink(path)))
                entries.append((entry, None))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    data = f.read()
                entry.update(type="file", mode=0o755 if st.st_mode & 0o111 else 0o644, size=len(data),
                             sha256=hashlib.sha256(data).hexdigest())
                entries.append((entry, data))
            else:
                sys.exit("second_writer: only files, folders and symlinks: %r" % path)

    walk("")
    entries.sort(key=lambda e: e[0]["path"].encode("utf-8"))
    return entries


# ---------------------------------------------------------------- 4.1: tar

def octal(value, width):
    """4.1.2 octal(w): w-1 zero-padded octal digits, then a NUL."""
    return b"%0*o" % (width - 1, value) + b"\0"


def field(data, width):
    return data[:width].ljust(width, b"\0")


def ustar(name, typeflag, mode, size, mtime, link=b""):
    h = (field(name, 100) + octal(mode, 8) + octal(0, 8) + octal(0, 8) + octal(size, 12) + octal(mtime, 12) +
         b" " * 8 + typeflag + field(link, 100) + b"ustar\0" + b"00" + b"\0" * 32 + b"\0" * 32 + octal(0, 8) +
         octal(0, 8) + b"\0" * 155 + b"\0" * 12)
    assert len(h) == BLOCK
    checksum = b"%06o" % sum(h) + b"\0 "
    return h[:148] + checksum + h[156:]


def pad(n):
    return b"\0" * (-n % BLOCK)


def record(key, value):
    """4.1.3: 'LEN KEY=VALUE\\n', LEN counting the whole record."""
    rest = len(key) + len(value) + 3
    length = rest + 1
    while len(str(length)) + rest != length:
        length = len(str(length)) + rest
    return b"%d %s=%s\n" % (length, key, value)


def member(entry, data, created):
    name = entry["path"].encode("utf-8") + (b"/" if entry["type"] == "directory" else b"")
    target = entry.get("target", "").encode("utf-8")
    size = entry.get("size", 0)
    out = b""
    if len(name) > 100 or len(target) > 100 or size > MAX_OCTAL or created > MAX_OCTAL:
        records = record(b"hdrcharset", b"BINARY")
        if len(target) > 100:
            records += record(b"linkpath", target)
        if created > MAX_OCTAL:
            records += record(b"mtime", b"%d" % created)
        if len(name) > 100:
            records += record(b"path", name)
        if size > MAX_OCTAL:
            records += record(b"size", b"%d" % size)
        mtime = 0 if created > MAX_OCTAL else created
        out += ustar(b"PaxHeader", b"x", 0o644, len(records), mtime) + records + pad(len(records))
    typeflag = {"file": b"0", "symlink": b"2", "directory": b"5"}[entry["type"]]
    out += ustar(name, typeflag, entry["mode"], 0 if size > MAX_OCTAL else size,
                 0 if created > MAX_OCTAL else created, target)
    if data is not None:
        out += data + pad(len(data))
    return out


def tar(entries, created):
    return b"".join(member(e, d, created) for e, d in entries) + b"\0" * (2 * BLOCK)


# ---------------------------------------------------------------- 4.2: zstd

def compress(data, level, window_log):
    params = zstandard.ZstdCompressionParameters(compression_level=level, window_log=window_log, enable_ldm=True,
                                                 write_checksum=False, threads=1)
    cobj = zstandard.ZstdCompressor(compression_params=params).compressobj()  # streamed: size unknown
    return cobj.compress(data) + cobj.flush()


# ---------------------------------------------------------------- 3.1, 3.2: the index

def canonical(value):
    # 3.1: sorted keys, no whitespace, non-ASCII as itself; Python's escapes are the spec's.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def sign(key, message):
    with tempfile.NamedTemporaryFile() as f:
        f.write(message)
        f.flush()
        return openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", f.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("key")
    ap.add_argument("out")
    ap.add_argument("--name", required=True)
    ap.add_argument("--epoch", type=int, required=True)
    ap.add_argument("--level", type=int, default=19)
    ap.add_argument("--platform", default="linux/amd64")
    ap.add_argument("--installer")
    a = ap.parse_args()

    der = openssl("pkey", "-in", a.key, "-pubout", "-outform", "DER")
    raw_public = der[-32:]  # an Ed25519 SubjectPublicKeyInfo ends with the 32-byte key
    entries = scan(a.dir)
    installer = open(a.installer, "rb").read() if a.installer else b""
    payload = compress(tar(entries, a.epoch), a.level, 27)
    index = {"compression": {"algorithm": "zstd", "level": a.level, "window_log": 27}, "created": a.epoch,
             "entries": [e for e, _ in entries], "format_version": 1, "name": a.name,
             "payload": {"offset": len(installer), "sha256": hashlib.sha256(payload).hexdigest(),
                         "size": len(payload)},
             "platform": a.platform, "signer": "SHA256:" + hashlib.sha256(der).hexdigest()}
    if installer:
        index["installer"] = {"offset": 0, "sha256": hashlib.sha256(installer).hexdigest(), "size": len(installer)}
    index_bytes = canonical(index)
    signature = sign(a.key, CONTEXT + index_bytes)
    trailer = struct.pack("<QQQQ16sII8s", len(installer), len(payload), len(index_bytes), 96, b"\0" * 16, 1, 64,
                          b"KFBUNDLE")  # 2
    whole = installer + payload + index_bytes + raw_public + signature + trailer
    with open(a.out, "wb") as f:
        f.write(whole)
    line = ("%s  %s\n" % (hashlib.sha256(whole).hexdigest(), os.path.basename(a.out))).encode()  # 7
    with open(a.out + ".sha256", "wb") as f:
        f.write(line)
    with open(a.out + ".sha256.sig", "wb") as f:
        f.write(sign(a.key, line))


if __name__ == "__main__":
    main()
