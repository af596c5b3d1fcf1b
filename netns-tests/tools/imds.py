#!/usr/bin/env python3
"""A minimal IMDSv2 for one lab node: PUT /latest/api/token hands out a
session token, every GET needs it (401 without), as EC2's metadata service
does with `HttpTokens=required`. Serves what vrrpd's discovery reads: the
region, the instance id, the primary MAC and each MAC's interface id.

    imds.py ADDR PORT REGION INSTANCE_ID MAC ENI_ID
"""
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

addr, port, region, instance, mac, eni = sys.argv[1:7]
TOKENS = set()
PATHS = {
    "/latest/meta-data/placement/region": region,
    "/latest/meta-data/instance-id": instance,
    "/latest/meta-data/mac": mac,
    f"/latest/meta-data/network/interfaces/macs/{mac}/interface-id": eni,
    "/latest/meta-data/network/interfaces/macs/": mac + "/",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body=b"", ttl=None):
        self.send_response(code)
        if ttl:
            self.send_header("x-aws-ec2-metadata-token-ttl-seconds", ttl)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(n)
        if self.path != "/latest/api/token" or not self.headers.get(
            "x-aws-ec2-metadata-token-ttl-seconds"
        ):
            return self.reply(400)
        token = secrets.token_hex(16)
        TOKENS.add(token)
        ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
        self.reply(200, token.encode(), ttl=ttl)

    def do_GET(self):
        if self.headers.get("x-aws-ec2-metadata-token") not in TOKENS:
            return self.reply(401)
        body = PATHS.get(self.path)
        if body is None:
            return self.reply(404)
        self.reply(200, body.encode())

    def log_message(self, fmt, *args):
        sys.stderr.write("imds: " + (fmt % args) + "\n")


ThreadingHTTPServer((addr, int(port)), Handler).serve_forever()
