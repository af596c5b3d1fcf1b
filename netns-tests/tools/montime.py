#!/usr/bin/env python3
"""Print epoch times of address events in an `ip -ts monitor address` log.

usage: montime.py FILE add|del ADDRESS [AFTER_EPOCH]
Prints one epoch per matching event (add = address appeared, del =
"Deleted"), oldest first, only events at or after AFTER_EPOCH.
"""
import re
import sys
from datetime import datetime

LINE = re.compile(r"^\[(\S+)\]\s+(Deleted\s+)?\d+:\s+\S+\s+inet6?\s+(\S+)")


def main() -> int:
    path, kind, addr = sys.argv[1], sys.argv[2], sys.argv[3]
    after = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            ts, deleted, cidr = m.groups()
            if cidr.split("/")[0] != addr:
                continue
            if (kind == "del") != bool(deleted):
                continue
            t = datetime.fromisoformat(ts).timestamp()
            if t >= after:
                print(f"{t:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
