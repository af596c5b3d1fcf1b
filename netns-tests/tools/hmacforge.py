#!/usr/bin/env python3
"""Forge, replay and inspect auth_hmac VRRPv3 adverts (standard library only).

usage:
  hmacforge.py send IFACE KIND --src IP [--vrid N --prio N --vip IP --adv-cs N
               --key HEX --key-id N --skew S --count N --gap S]
  hmacforge.py replay IFACE PCAP --src IP [--vrid N --last N --count N --gap S]
  hmacforge.py keyids PCAP --src IP [--vrid N --since EPOCH]

send KINDs (multicast to 224.0.0.18, TTL 255, from this node's MAC with
the IP source --src):
  plain     no trailer
  badhmac   a trailer with a fresh sequence and a wrong HMAC
  stale     a correctly signed trailer (--key) dated --skew (default -60) s
  signed    a correctly signed trailer (--key): the positive control

replay: resends, byte for byte but for this node's MAC as the Ethernet
source, the last --last VRRP frames from --src for --vrid in PCAP.

keyids: prints "trailerless=N" and "key<ID>=N" counts of the adverts from
--src in PCAP since --since (epoch seconds).

Bounded (at most 200 frames per call, 10 s). Refuses to run in the host's
network namespace and outside the documentation addresses.
"""
import argparse
import hashlib
import hmac
import ipaddress
import socket
import struct
import sys
import time

from labnet import csum, in_lab_netns

TRAILER = 28
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
GROUP = "224.0.0.18"
GROUP_MAC = bytes.fromhex("01005e000012")


def advert(vrid, prio, vips, adv_cs, src):
    addrs = b"".join(ipaddress.IPv4Address(v).packed for v in vips)
    body = struct.pack("!BBBBHH", 0x31, vrid, prio, len(vips), adv_cs & 0x0FFF, 0) + addrs
    pseudo = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(GROUP).packed
              + struct.pack("!BBH", 0, 112, len(body)))
    c = csum(pseudo + body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def trailer(msg, src, vrid, key, key_id, when):
    secs = int(when) & 0xFFFFFFFF
    frac = int((when - int(when)) * 65536) & 0xFFFF
    head = struct.pack("!BBHIHH", 1, key_id, 0, secs, frac, 0)
    pseudo = bytes([4, 3, vrid, 0]) + ipaddress.IPv4Address(src).packed + bytes(12)
    data = pseudo + msg[:6] + b"\0\0" + msg[8:] + head + bytes(16)
    tag = hmac.new(key, data, hashlib.sha256).digest()[:16]
    return head + tag


def ip4(src, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), ident, 0, 255, 112, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(GROUP).packed)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def my_mac(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def sender(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    return s


def guard(src):
    if not in_lab_netns():
        sys.exit("refusing to send outside a named lab namespace (ip netns exec)")
    if not any(ipaddress.ip_address(src) in n for n in DOC_NETS):
        sys.exit(f"refusing source {src}: not a documentation address")


def pcap_frames(path):
    """(epoch, frame) of an Ethernet pcap (µs or ns stamps)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian, scale = {0xA1B2C3D4: ("<", 1e-6), 0xA1B23C4D: ("<", 1e-9),
                     0xD4C3B2A1: (">", 1e-6), 0x4D3CB2A1: (">", 1e-9)}[magic]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield sec + frac * scale, data[off:off + incl]
        off += incl


def vrrp_of(frame, src, vrid):
    """The IPv4 VRRP payload of frame if it is from src for vrid, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 112:
        return None
    ihl = (frame[14] & 0x0F) * 4
    if socket.inet_ntoa(frame[26:30]) != src:
        return None
    total = struct.unpack("!H", frame[16:18])[0]
    payload = frame[14 + ihl:14 + total]
    if len(payload) < 8 or payload[1] != vrid:
        return None
    return payload


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["send", "replay", "keyids"])
    ap.add_argument("args", nargs="+")
    ap.add_argument("--src", required=True)
    ap.add_argument("--vrid", type=int, default=52)
    ap.add_argument("--prio", type=int, default=254)
    ap.add_argument("--vip", action="append", default=[])
    ap.add_argument("--adv-cs", type=int, default=10)
    ap.add_argument("--key", default="")
    ap.add_argument("--key-id", type=int, default=1)
    ap.add_argument("--skew", type=float, default=-60.0)
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--gap", type=float, default=0.02)
    ap.add_argument("--last", type=int, default=5)
    ap.add_argument("--since", type=float, default=0.0)
    a = ap.parse_args()
    count = max(1, min(a.count, 200))
    deadline = time.monotonic() + 10

    if a.cmd == "keyids":
        counts = {}
        for when, frame in pcap_frames(a.args[0]):
            p = vrrp_of(frame, a.src, a.vrid)
            if p is None or when < a.since:
                continue
            # VRRPv2 carries 8 authentication bytes after the addresses.
            msg = 8 + 4 * p[3] + (8 if p[0] >> 4 == 2 else 0)
            k = "key%d" % p[msg + 1] if len(p) == msg + TRAILER else "trailerless"
            counts[k] = counts.get(k, 0) + 1
        print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        return 0

    iface = a.args[0]
    guard(a.src)
    s = sender(iface)
    mac = my_mac(iface)
    if a.cmd == "replay":
        # Only what the real node sent: frames this node forged with the
        # same source address (its own MAC) are not replays of it.
        frames = [f for _, f in pcap_frames(a.args[1])
                  if f[6:12] != mac and vrrp_of(f, a.src, a.vrid) is not None]
        frames = frames[-a.last:] if a.last > 0 else frames
        if not frames:
            sys.exit(f"no VRRP frames from {a.src} for VRID {a.vrid} in {a.args[1]}")
        sent = 0
        while sent < count and time.monotonic() < deadline:
            f = frames[sent % len(frames)]
            s.send(f[:6] + mac + f[12:])
            sent += 1
            time.sleep(a.gap)
        print(f"replayed {sent} frames ({len(frames)} distinct)")
        return 0

    kind = a.args[1]
    vips = a.vip or ["192.0.2.30"]
    key = bytes.fromhex(a.key) if a.key else b"\x55" * 32
    for i in range(count):
        if time.monotonic() > deadline:
            break
        msg = advert(a.vrid, a.prio, vips, a.adv_cs, a.src)
        now = time.time()
        if kind == "plain":
            payload = msg
        elif kind == "badhmac":
            t = trailer(msg, a.src, a.vrid, key, a.key_id, now)
            payload = msg + t[:12] + bytes(b ^ 0xA5 for b in t[12:])
        elif kind == "stale":
            payload = msg + trailer(msg, a.src, a.vrid, key, a.key_id, now + a.skew)
        elif kind == "signed":
            payload = msg + trailer(msg, a.src, a.vrid, key, a.key_id, now)
        else:
            sys.exit(f"unknown kind {kind}")
        s.send(GROUP_MAC + mac + b"\x08\x00" + ip4(a.src, payload, i))
        time.sleep(a.gap)
    print(f"sent {count} {kind} adverts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
