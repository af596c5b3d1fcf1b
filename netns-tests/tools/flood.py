#!/usr/bin/env python3
"""Flood a lab bridge with crafted VRRP frames at a paced rate (needs scapy).

usage: flood.py IFACE KIND[,KIND...] --rate PPS --duration S [options]

The frames are built once with scapy, then sent in a tight loop through one
raw AF_PACKET socket with time-based pacing (scapy's own send loop manages
a few hundred frames per second; this one tens of thousands). Several
KINDs, and several VRIDs (--vrids 1-100), are interleaved round robin.

KIND is one of:
  oversized    a 1400-byte protocol-112 datagram (--size): a VRRPv3 header
               for the VRID, then padding, checksum over the whole payload
  truncated    a VRRPv3 advert cut 2 bytes short (the checksum is the full
               advert's)
  ttl          a valid VRRPv3 advert with IP TTL 64 instead of 255
  unknownvrid  a valid VRRPv3 advert for a VRID from --other-vrids
  valid        a valid VRRPv3 advert (--prio 1 for a lower-priority flood;
               unicast when --dst is a unicast address)

Bounded: stops after --count frames or --duration seconds, whichever comes
first (both capped). Refuses to run outside a named network namespace (ip netns exec) and to
use addresses outside the documentation ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24) and 224.0.0.18.

Prints one JSON line: frames sent, send errors, the achieved rate, and the
first and last send time (CLOCK_REALTIME epoch, as tcpdump stamps frames).
"""
import argparse
import ipaddress
import json
import logging
import socket
import struct
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.arch import get_if_hwaddr  # type: ignore  # noqa: E402
from scapy.layers.inet import IP  # type: ignore  # noqa: E402
from scapy.layers.l2 import Ether  # type: ignore  # noqa: E402
from scapy.packet import Raw  # type: ignore  # noqa: E402
from labnet import csum, in_lab_netns  # noqa: E402

MAX_COUNT = 2_000_000
MAX_DURATION = 120.0
MAX_RATE = 100_000
ALLOWED = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
GROUP = ipaddress.ip_address("224.0.0.18")
GROUP_MAC = "01:00:5e:00:00:12"


def vrrp_v3(vrid: int, prio: int, vips, adv_cs: int, src: str, dst: str, pad: int = 0) -> bytes:
    """A VRRPv3 IPv4 advert (RFC 9568 §5.1), PAD zero bytes appended; the
    checksum covers the pseudo-header and everything that is sent."""
    addrs = b"".join(ipaddress.IPv4Address(v).packed for v in vips)
    body = struct.pack("!BBBBHH", 0x31, vrid, prio, len(vips), adv_cs & 0x0FFF, 0) + addrs + b"\0" * pad
    pseudo = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
              + struct.pack("!BBH", 0, 112, len(body)))
    c = csum(pseudo + body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def vrid_list(spec: str):
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    if not out or any(v < 1 or v > 255 for v in out):
        raise ValueError(f"VRIDs must be 1..255: {spec}")
    return out


def documentation_only(addr: str) -> ipaddress.IPv4Address:
    a = ipaddress.IPv4Address(addr)
    if a != GROUP and not any(a in n for n in ALLOWED):
        raise ValueError(f"{addr} is outside the documentation ranges and 224.0.0.18")
    return a


def build(a, kind: str, vrid: int, idx: int) -> bytes:
    vip_of = lambda v: a.vip.format(vrid=v)  # noqa: E731
    ttl = 255
    if kind == "oversized":
        hdr = 20 + 8 + 4
        payload = vrrp_v3(vrid, a.prio, [vip_of(vrid)], a.adv_cs, a.src, a.dst, pad=max(0, a.size - hdr))
    elif kind == "truncated":
        payload = vrrp_v3(vrid, a.prio, [vip_of(vrid)], a.adv_cs, a.src, a.dst)[:-2]
    elif kind == "ttl":
        payload = vrrp_v3(vrid, a.prio, [vip_of(vrid)], a.adv_cs, a.src, a.dst)
        ttl = 64
    elif kind == "unknownvrid":
        other = a.other_vrids[idx % len(a.other_vrids)]
        payload = vrrp_v3(other, a.prio, [vip_of(other)], a.adv_cs, a.src, a.dst)
    elif kind == "valid":
        payload = vrrp_v3(vrid, a.prio, [vip_of(vrid)], a.adv_cs, a.src, a.dst)
    else:
        raise ValueError(f"unknown kind {kind}")
    pkt = (Ether(src=a.src_mac, dst=a.dst_mac) / IP(src=a.src, dst=a.dst, ttl=ttl, tos=0xC0, proto=112)
           / Raw(payload))
    return bytes(pkt)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("iface")
    ap.add_argument("kinds", help="comma-separated: oversized,truncated,ttl,unknownvrid,valid")
    ap.add_argument("--rate", type=float, required=True, help="frames per second")
    ap.add_argument("--duration", type=float, required=True, help="seconds (at most 120)")
    ap.add_argument("--count", type=int, default=0, help="frames at most (default rate x duration)")
    ap.add_argument("--src", default="192.0.2.40")
    ap.add_argument("--dst", default=str(GROUP))
    ap.add_argument("--dst-mac", default=GROUP_MAC)
    ap.add_argument("--vrids", default="52", help="e.g. 52 or 1-100")
    ap.add_argument("--other-vrids", default="201-250", help="for unknownvrid")
    ap.add_argument("--prio", type=int, default=254)
    ap.add_argument("--vip", default="192.0.2.30", help="address in the advert; {vrid} is replaced")
    ap.add_argument("--adv-cs", type=int, default=10, help="advert interval in the advert, centiseconds")
    ap.add_argument("--size", type=int, default=1400, help="IP datagram size of an oversized frame")
    ap.add_argument("--start-at", type=float, default=0.0, help="epoch to start at (waits at most 5 s)")
    a = ap.parse_args()

    try:
        kinds = a.kinds.split(",")
        vrids = vrid_list(a.vrids)
        a.other_vrids = vrid_list(a.other_vrids)
        documentation_only(a.src)
        if documentation_only(a.dst) == GROUP and a.dst_mac.lower() != GROUP_MAC:
            raise ValueError("224.0.0.18 goes to 01:00:5e:00:00:12")
        if ipaddress.IPv4Address(a.src) == GROUP:
            raise ValueError("the source cannot be the group")
        for v in vrids:
            documentation_only(a.vip.format(vrid=v))
        if not 0 < a.rate <= MAX_RATE:
            raise ValueError(f"--rate must be in (0, {MAX_RATE}]")
        if not 0 < a.duration <= MAX_DURATION:
            raise ValueError(f"--duration must be in (0, {MAX_DURATION}]")
        if not 0 <= a.prio <= 255 or not 60 <= a.size <= 1500:
            raise ValueError("--prio 0..255, --size 60..1500")
    except ValueError as e:
        print(f"flood.py: {e}", file=sys.stderr)
        return 2
    if not in_lab_netns():
        print("flood.py: refusing to send outside a named lab namespace (ip netns exec)", file=sys.stderr)
        return 2
    count = min(a.count or int(a.rate * a.duration + 0.5), MAX_COUNT)
    a.src_mac = get_if_hwaddr(a.iface)

    frames = [build(a, k, v, i) for i, (v, k) in enumerate((v, k) for v in vrids for k in kinds)]
    n_frames = len(frames)

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.bind((a.iface, 0))
    send = sock.send

    if a.start_at:
        delay = a.start_at - time.time()
        if delay > 0:
            time.sleep(min(delay, 5.0))
    period = 1.0 / a.rate
    # Catch up at most 10 ms worth of frames after a stall: a flood that falls
    # behind is reported lower, not sent as one burst.
    max_burst = max(1, int(a.rate * 0.01))
    mono = time.monotonic
    sent = errors = skipped = 0
    t_first = time.time()
    m0 = mono()
    m_end = m0 + a.duration
    while sent + skipped < count:
        now = mono()
        if now >= m_end:
            break
        due = min(count, int((now - m0) * a.rate) + 1)
        behind = due - sent - skipped
        if behind <= 0:
            wait = m0 + (sent + skipped) * period - now
            if wait > 0.0002:
                time.sleep(wait - 0.0001)
            continue
        if behind > max_burst:
            skipped += behind - max_burst
            behind = max_burst
        for _ in range(behind):
            try:
                send(frames[(sent + errors) % n_frames])
                sent += 1
            except OSError:
                errors += 1
                skipped += 1
    elapsed = mono() - m0
    t_last = time.time()
    sock.close()
    print(json.dumps({
        "kinds": kinds, "vrids": len(vrids), "frame_bytes": sorted({len(f) for f in frames}),
        "target_pps": a.rate, "sent": sent, "errors": errors, "not_sent_behind": skipped - errors,
        "elapsed": round(elapsed, 4), "pps": round(sent / elapsed, 1) if elapsed > 0 else 0.0,
        "t_first": round(t_first, 6), "t_last": round(t_last, 6),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
