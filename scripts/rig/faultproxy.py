#!/usr/bin/env python3
"""Fault-injecting HTTP proxy in front of the rig's nginx (fault injection only; nginx serves
every byte).

    faultproxy.py --port P --upstream 127.0.0.1:N

GET /fault/SPEC/PATH misbehaves for the first requests of that exact URL, counted per URL for
the proxy's lifetime, and otherwise forwards GET /PATH to nginx with the client's Range and
If-Range headers and streams nginx's answer back. Any other URL is forwarded unchanged.
SPEC is one of (an optional "-TAG" suffix is ignored, so tests can make URLs unique):
    500xK     the first K requests get "500 Internal Server Error"
    cutB      the first request gets nginx's headers and the first B body bytes, then the
              connection is closed (FIN) mid-body
    resetB    as cutB, but the connection is reset (RST)
    stall     the first request gets headers and no body; the proxy holds the connection
    norange   every request is forwarded without its Range/If-Range headers (a server that
              ignores Range and answers 200 with the whole file)

--drop-auth SUBSTRING:K forwards the first K requests whose path holds SUBSTRING without their
Authorization header, so the upstream registry itself answers 401 with its challenge, as it
does when a bearer token expired during a long download.
"""
import argparse
import http.client
import http.server
import socket
import socketserver
import struct
import sys
import threading
import time

COUNTS = {}
COUNTS_LOCK = threading.Lock()
FORWARDED = ("Range", "If-Range", "User-Agent", "Accept", "Authorization")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "server", "date"}


def parse_spec(spec):
    spec = spec.split("-", 1)[0]
    if spec.startswith("500x"):
        return ("500", int(spec[4:]))
    if spec.startswith("cut"):
        return ("cut", int(spec[3:]))
    if spec.startswith("reset"):
        return ("reset", int(spec[5:]))
    if spec == "stall":
        return ("stall", 0)
    if spec == "norange":
        return ("norange", 0)
    raise ValueError("unknown fault spec " + spec)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = ("127.0.0.1", 80)
    drop_auth = None  # (substring, how many requests)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def do_GET(self):
        path = self.path
        fault = None
        if path.startswith("/fault/"):
            _, _, spec, rest = path.split("/", 3)
            with COUNTS_LOCK:
                seen = COUNTS.get(path, 0)
                COUNTS[path] = seen + 1
            kind, arg = parse_spec(spec)
            if kind == "500" and seen < arg:
                body = b"injected fault\n"
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if kind in ("cut", "reset", "stall") and seen == 0:
                fault = (kind, arg)
            if kind == "norange":
                fault = (kind, None)
            path = "/" + rest
        self.forward(path, fault)

    def forward(self, path, fault):
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        headers = {k: self.headers[k] for k in FORWARDED if self.headers[k] is not None}
        if fault and fault[0] == "norange":
            headers.pop("Range", None)
            headers.pop("If-Range", None)
            fault = None
        if self.drop_auth and self.drop_auth[0] in path:
            with COUNTS_LOCK:
                dropped = COUNTS.get("drop-auth", 0)
                COUNTS["drop-auth"] = dropped + 1
            if dropped < self.drop_auth[1]:
                headers.pop("Authorization", None)
        headers["Host"] = self.headers.get("Host", "127.0.0.1")
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        self.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.end_headers()
        limit = fault[1] if fault else None
        sent = 0
        while True:
            if fault and fault[0] == "stall":
                time.sleep(3600)
            want = 65536 if limit is None else min(65536, limit - sent)
            if want <= 0:
                break
            chunk = resp.read(want)
            if not chunk:
                break
            self.wfile.write(chunk)
            sent += len(chunk)
        conn.close()
        if fault:
            self.wfile.flush()
            if fault[0] == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--drop-auth", help="SUBSTRING:K, see above")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    Handler.upstream = (host, int(port))
    if args.drop_auth:
        substring, count = args.drop_auth.rsplit(":", 1)
        Handler.drop_auth = (substring, int(count))
    server = Server(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
