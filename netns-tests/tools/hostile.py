#!/usr/bin/env python3
"""Send crafted VRRP adverts from the hostile/client node (needs scapy).

usage: hostile.py IFACE KIND --src IP --dst IP --dst-mac MAC [options]

KIND is one of:
  valid       a well-formed advert (the positive control)
  ttl64       IP TTL 64 instead of 255
  badsum      wrong VRRP checksum
  badauth     VRRPv2 PASS with the wrong password
  wrongvrid   a VRID the routers do not run
  truncated   VRRPv2 advert without its 8-byte authentication field
  v3          a VRRPv3 advert (for a VRRPv2 instance)
Each packet is sent --count times (bounded, default 3), --gap s apart.
"""
import argparse
import ipaddress
import struct
import sys
import logging
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.arch import get_if_hwaddr  # type: ignore  # noqa: E402
from scapy.config import conf  # type: ignore  # noqa: E402
from scapy.layers.inet import IP  # type: ignore  # noqa: E402
from scapy.layers.l2 import Ether  # type: ignore  # noqa: E402
from scapy.packet import Raw  # type: ignore  # noqa: E402
from scapy.sendrecv import sendp  # type: ignore  # noqa: E402
from labnet import csum  # noqa: E402

conf.verb = 0


def vrrp_v2(vrid, prio, vips, adv, auth_type, auth):
    addrs = b"".join(ipaddress.IPv4Address(v).packed for v in vips)
    auth_field = auth.encode()[:8].ljust(8, b"\0") if auth_type else b"\0" * 8
    hdr = struct.pack("!BBBBBBH", 0x21, vrid, prio, len(vips), auth_type, adv, 0)
    body = hdr + addrs + auth_field
    c = csum(body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def vrrp_v3(vrid, prio, vips, adv_cs, src, dst):
    addrs = b"".join(ipaddress.IPv4Address(v).packed for v in vips)
    body = struct.pack("!BBBBHH", 0x31, vrid, prio, len(vips), adv_cs & 0x0FFF, 0) + addrs
    pseudo = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
              + struct.pack("!BBH", 0, 112, len(body)))
    c = csum(pseudo + body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("kind")
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--vrid", type=int, default=51)
    ap.add_argument("--prio", type=int, default=254)
    ap.add_argument("--vip", action="append", default=[])
    ap.add_argument("--adv", type=int, default=1)
    ap.add_argument("--auth", default="password")
    ap.add_argument("--no-auth", action="store_true")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--gap", type=float, default=0.2)
    a = ap.parse_args()
    vips = a.vip or ["192.0.2.30"]
    auth_type = 0 if a.no_auth else 1
    ttl = 255
    vrid = a.vrid
    if a.kind == "v3":
        payload = vrrp_v3(vrid, a.prio, vips, a.adv * 100, a.src, a.dst)
    else:
        auth = a.auth
        if a.kind == "badauth":
            auth = "wrongpwd"
        if a.kind == "wrongvrid":
            vrid = (vrid % 255) + 1
        payload = vrrp_v2(vrid, a.prio, vips, a.adv, auth_type, auth)
        if a.kind == "badsum":
            payload = payload[:6] + struct.pack("!H", (struct.unpack("!H", payload[6:8])[0] ^ 0x5A5A)) + payload[8:]
        elif a.kind == "truncated":
            payload = payload[:-8]
        elif a.kind == "ttl64":
            ttl = 64
        elif a.kind not in ("valid", "badauth", "wrongvrid"):
            print(f"unknown kind {a.kind}", file=sys.stderr)
            return 2
    if a.count < 1 or a.count > 100:
        print("--count must be 1..100", file=sys.stderr)
        return 2
    pkt = (Ether(src=get_if_hwaddr(a.iface), dst=a.dst_mac) / IP(src=a.src, dst=a.dst, ttl=ttl, tos=0xC0, proto=112)
           / Raw(payload))
    for i in range(a.count):
        sendp(pkt, iface=a.iface)
        if i + 1 < a.count:
            time.sleep(a.gap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
