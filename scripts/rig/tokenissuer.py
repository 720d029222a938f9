#!/usr/bin/env python3
"""A tiny token issuer for docker-registry's `auth: token` mode (test scaffolding only).

usage: tokenissuer.py PORT KEY.pem CERT.pem

GET /token?service=S&scope=repository:NAME:pull  with Basic tokenuser:tokenpass
  -> 200 {"token": JWT, "access_token": JWT, "expires_in": 300}
  JWT: RS256 signed with KEY (via `openssl dgst`), header x5c = [CERT], claims iss rig-issuer,
  aud = service, access = the requested scope's actions.
Wrong or missing credentials -> 401. GET /health -> 200. Each request is logged on stderr.
"""
import base64
import http.server
import json
import subprocess
import sys
import time
import urllib.parse

PORT, KEY, CERT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
USER, PASSWORD = "tokenuser", "tokenpass"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der():
    pem = open(CERT).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def make_token(service, scopes):
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) == 3:
            access.append({"type": parts[0], "name": parts[1], "actions": parts[2].split(",")})
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(cert_der()).decode()]}
    claims = {"iss": "rig-issuer", "sub": USER, "aud": service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": str(now), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY], input=signing_input.encode(),
                         capture_output=True, check=True).stdout
    return signing_input + "." + b64url(sig)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/health":
            return self.reply(200, "{}")
        if url.path != "/token":
            return self.reply(404, '{"error":"not found"}')
        want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != want:
            return self.reply(401, '{"error":"bad credentials"}',
                              [("WWW-Authenticate", 'Basic realm="rig-issuer"')])
        query = urllib.parse.parse_qs(url.query)
        token = make_token(query.get("service", [""])[0], query.get("scope", []))
        self.reply(200, json.dumps({"token": token, "access_token": token, "expires_in": 300}))

    def log_message(self, fmt, *args):
        sys.stderr.write("issuer: " + (fmt % args) + "\n")


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
