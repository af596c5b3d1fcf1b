"""What every packet-crafting tool of the lab shares: the Internet checksum
and the guard that keeps a tool inside a lab namespace (flood.py,
hostile.py, hmacforge.py import it from their own directory)."""

import os
import struct


def csum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of `data` (odd length zero-padded)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def in_lab_netns() -> bool:
    """True inside a namespace made by `ip netns add` (lib.sh makes one per
    node), never in the namespace of PID 1 (the host's)."""
    try:
        own = os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return False
    try:
        if own == os.stat("/proc/1/ns/net").st_ino:
            return False
    except OSError:
        pass  # not readable from inside a namespace: the check below decides
    for d in ("/run/netns", "/var/run/netns"):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            try:
                if os.stat(os.path.join(d, n)).st_ino == own:
                    return True
            except OSError:
                continue
    return False
