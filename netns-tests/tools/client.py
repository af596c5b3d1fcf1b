#!/usr/bin/env python3
"""Poll an HTTP URL and log one line per attempt: "<epoch> <answer>".

<answer> is the body's first word (the node name), or "-" on any error
or timeout.  Bounded: stops after --duration seconds or --count attempts,
whichever comes first.  Each attempt opens a new TCP connection, so the
client follows the floating IP through ARP/ND like a real client would.
"""
import argparse
import socket
import sys
import time
import urllib.request


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--timeout", type=float, default=0.2)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--count", type=int, default=100000)
    a = ap.parse_args()
    end = time.time() + a.duration
    n = 0
    while n < a.count and time.time() < end:
        n += 1
        t0 = time.time()
        try:
            with urllib.request.urlopen(a.url, timeout=a.timeout) as r:
                ans = r.read(64).decode(errors="replace").split()[0] or "?"
        except (OSError, socket.timeout, IndexError, ValueError):
            ans = "-"
        print(f"{t0:.6f} {ans}", flush=True)
        rest = a.interval - (time.time() - t0)
        if rest > 0:
            time.sleep(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
