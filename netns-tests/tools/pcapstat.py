#!/usr/bin/env python3
"""What each lab node sent in a time window, from a bridge capture (stdlib only).

usage: pcapstat.py PCAP --from T0 --to T1 --interval S [--vrids 1-100]
                   [--long-gap-ms MS] [--node a=02:00:00:00:00:01 ...]

Reads a classic pcap (tcpdump -w, µs or ns timestamps, Ethernet) and prints
one JSON object:
  window            T1 - T0 (s)
  nodes.N           per node (by Ethernet source): adverts (VRRP, priority
                    > 0), prio0 (priority 0), garps (ARP with sender IP =
                    target IP), nas (ICMPv6 neighbour adverts), other,
                    frames, and the same per second (adverts_ps, ...)
  lateness          for node a's adverts, per VRID: each gap between two
                    consecutive adverts minus the interval (the advert
                    before T0 anchors the first gap; a VRID silent at T1
                    counts its open gap), pooled over VRIDs: n, p50, p99,
                    max in ms, and max_gap_ms (with --samples: every
                    gap's lateness too, so runs can be pooled; with
                    --long-gap-ms: long_gaps, [end epoch, gap ms] of
                    each gap over it, to find its cause in other logs)
  per_interval      node a's frames in intervals of S from T0: mean and max
                    of adverts, garps+nas and frames per interval
  advert_vrids      how many VRIDs node a advertised in the window
It is much faster than tshark on the hundreds of thousands of frames a
flood leaves in a capture.
"""
import argparse
import json
import math
import struct
import sys

DEFAULT_NODES = {"a": "02:00:00:00:00:01", "b": "02:00:00:00:00:02", "c": "02:00:00:00:00:03"}


def vrid_list(spec: str):
    out = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def frames(path):
    """(epoch, bytes) for every frame of a classic pcap."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        else:
            endian = ">"
            magic = struct.unpack(">I", hdr[:4])[0]
        scale = 1e-9 if magic == 0xA1B23C4D else 1e-6
        rec = struct.Struct(endian + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _orig = rec.unpack(h)
            data = f.read(incl)
            if len(data) < incl:
                return
            yield sec + frac * scale, data


def classify(data):
    """('advert', vrid, prio) | ('garp',) | ('na',) | ('other',)."""
    if len(data) < 14:
        return ("other",)
    etype = struct.unpack("!H", data[12:14])[0]
    off = 14
    if etype == 0x8100 and len(data) >= 18:
        etype = struct.unpack("!H", data[16:18])[0]
        off = 18
    if etype == 0x0806:
        arp = data[off:off + 28]
        if len(arp) == 28 and arp[14:18] == arp[24:28]:
            return ("garp",)
        return ("other",)
    if etype == 0x0800 and len(data) >= off + 20:
        ihl = (data[off] & 0x0F) * 4
        if data[off + 9] == 112 and len(data) >= off + ihl + 3:
            v = data[off + ihl:off + ihl + 3]
            return ("advert", v[1], v[2])
        return ("other",)
    if etype == 0x86DD and len(data) >= off + 40:
        nh = data[off + 6]
        p = data[off + 40:off + 43]
        if nh == 112 and len(p) == 3:
            return ("advert", p[1], p[2])
        if nh == 58 and p[:1] == b"\x88":
            return ("na",)
    return ("other",)


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    k = max(0, math.ceil(q * len(sorted_vals)) - 1)
    return sorted_vals[k]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--from", dest="t0", type=float, required=True)
    ap.add_argument("--to", dest="t1", type=float, required=True)
    ap.add_argument("--interval", type=float, required=True)
    ap.add_argument("--vrids", default="")
    ap.add_argument("--samples", action="store_true",
                    help="also lateness.samples: every gap's lateness in ms (pooling runs)")
    ap.add_argument("--long-gap-ms", type=float, default=None,
                    help="list node a's gaps longer than this (end time, gap ms)")
    ap.add_argument("--node", action="append", default=[], help="NAME=MAC")
    a = ap.parse_args()
    nodes = dict(DEFAULT_NODES)
    for n in a.node:
        k, _, v = n.partition("=")
        nodes[k] = v
    by_mac = {bytes.fromhex(m.replace(":", "")): k for k, m in nodes.items()}
    want = vrid_list(a.vrids) if a.vrids else None
    t0, t1, iv = a.t0, a.t1, a.interval
    window = max(t1 - t0, 1e-9)

    counts = {k: {"adverts": 0, "prio0": 0, "garps": 0, "nas": 0, "other": 0, "frames": 0} for k in nodes}
    anchor = {}      # VRID -> A's last advert before T0
    times = {}       # VRID -> A's adverts in [T0, T1]
    nbins = max(1, math.ceil(window / iv))
    bins_adv = [0] * nbins
    bins_ann = [0] * nbins
    bins_all = [0] * nbins
    for ts, data in frames(a.pcap):
        if ts > t1:
            # Captures are in time order but not strictly: keep reading a little.
            if ts > t1 + 1.0:
                break
            continue
        who = by_mac.get(data[6:12])
        if who is None:
            continue
        c = classify(data)
        is_a_advert = who == "a" and c[0] == "advert" and c[2] > 0 and (want is None or c[1] in want)
        if ts < t0:
            if is_a_advert:
                anchor[c[1]] = ts
            continue
        n = counts[who]
        n["frames"] += 1
        if c[0] == "advert":
            n["adverts" if c[2] > 0 else "prio0"] += 1
        elif c[0] == "garp":
            n["garps"] += 1
        elif c[0] == "na":
            n["nas"] += 1
        else:
            n["other"] += 1
        if who == "a":
            b = min(nbins - 1, int((ts - t0) / iv))
            bins_all[b] += 1
            if c[0] == "advert":
                bins_adv[b] += 1
            elif c[0] in ("garp", "na"):
                bins_ann[b] += 1
        if is_a_advert:
            times.setdefault(c[1], []).append(ts)

    late = []
    long_gaps = []   # (end, gap) of gaps over --long-gap-ms
    vrids = set(times) | set(anchor) | (want or set())
    for v in vrids:
        ts = sorted(times.get(v, []))
        prev = anchor.get(v)
        for t in ts:
            if prev is not None:
                late.append(t - prev - iv)
                if a.long_gap_ms is not None and (t - prev) * 1000 > a.long_gap_ms:
                    long_gaps.append((t, t - prev))
            prev = t
        if prev is None:
            prev = t0
        if t1 - prev > iv:
            late.append(t1 - prev - iv)
    late.sort()
    out = {
        "window": round(window, 6),
        "nodes": {},
        "lateness": {
            "n": len(late),
            "p50": None if not late else round(pct(late, 0.50) * 1000, 2),
            "p99": None if not late else round(pct(late, 0.99) * 1000, 2),
            "max": None if not late else round(late[-1] * 1000, 2),
            "max_gap_ms": None if not late else round((late[-1] + iv) * 1000, 2),
            **({"samples": [round(x * 1000, 3) for x in late]} if a.samples else {}),
            **({"long_gaps": [[round(t, 6), round(g * 1000, 2)] for t, g in sorted(long_gaps)]}
               if a.long_gap_ms is not None else {}),
        },
        "per_interval": {
            "intervals": nbins,
            "adverts_mean": round(sum(bins_adv) / nbins, 3), "adverts_max": max(bins_adv),
            "announce_mean": round(sum(bins_ann) / nbins, 3), "announce_max": max(bins_ann),
            "frames_mean": round(sum(bins_all) / nbins, 3), "frames_max": max(bins_all),
        },
        "advert_vrids": len(times),
    }
    for k, n in counts.items():
        d = dict(n)
        for f in ("adverts", "garps", "nas", "frames"):
            d[f + "_ps"] = round(n[f] / window, 1)
        out["nodes"][k] = d
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
